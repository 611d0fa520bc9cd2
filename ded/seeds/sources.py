"""From a data_source config entry (seeds.<domain> or benchmarks.<name>) to validated task rows.

Sources: the tiny world's generators (synthetic_*), or real data from the hub (pinned revision, subset, split) or
from a local JSONL of the hub's shape (local_path). Each real source accepts several shapes (the hub's, and those of
the local copies in ../shared/data); the shape is chosen from the fields of the first row, and every row must then
have that shape's fields.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ded.io import DataError
from ded.seeds import choice, code, math
from ded.seeds.schema import numbered_jsonl, validate_tasks

log = logging.getLogger("ded.seeds")

SOURCE_DOMAINS = {
    "synthetic_math": "math", "synthetic_code": "code", "synthetic_choice": "choice",
    "s1k": "math", "aime24": "math", "aime25": "math", "math500": "math",
    "gpqa_diamond": "choice", "codeforces": "code", "livecodebench": "code",
}
SYNTHETIC = ("synthetic_math", "synthetic_code", "synthetic_choice")


@dataclass(frozen=True)
class Shape:
    name: str
    fields: tuple[str, ...]
    normalise: Callable[..., dict]


def _shapes(source: str, spec: dict) -> list[Shape]:
    if source == "s1k":
        return [Shape("s1K (question, solution)", ("question", "solution"), math.s1k)]
    if source in ("aime24", "aime25"):
        return [Shape("AIME (problem, answer)", ("problem", "answer"), functools.partial(math.aime, source=source))]
    if source == "math500":
        return [Shape("MATH-500 (problem, answer)", ("problem", "answer"), math.math500)]
    if source == "gpqa_diamond":
        return [Shape("GPQA", choice.GPQA_FIELDS, functools.partial(choice.gpqa, seed=spec.get("seed") or 0))]
    if source == "codeforces":
        return [Shape("open-r1/codeforces", ("description", "input_format", "output_format", "time_limit",
                                            "memory_limit", "examples"), code.codeforces_hub),
                Shape("DeepCoder Codeforces (problem_id, problem, tests)", ("problem_id", "problem", "tests"),
                      code.codeforces_deepcoder),
                Shape("DeepCoder CodeContests (index, problem, tests)", ("index", "problem", "tests"),
                      code.code_contests_deepcoder)]
    if source == "livecodebench":
        return [Shape("code_generation_lite", ("question_id", "question_content", "contest_date", "public_test_cases",
                                               "private_test_cases"), code.livecodebench_hub),
                Shape("QwQ LiveCodeBench prompts (question_id, contest_date, prompt)",
                      ("question_id", "contest_date", "prompt"), code.livecodebench_qwq)]
    raise AssertionError(source)


def choose_shape(row: dict, source: str, spec: dict, where: str) -> Shape:
    shapes = _shapes(source, spec)
    for shape in shapes:
        if all(f in row for f in shape.fields):
            return shape
    expected = "; ".join(f"{s.name}: {', '.join(s.fields)}" for s in shapes)
    raise DataError(f"{where}: fields {', '.join(sorted(row)) or '(none)'} match no {source} shape "
                    f"(expected one of - {expected})")


# --------------------------------------------------------------------------------------------------------------
# Raw rows: (where, index, row)
# --------------------------------------------------------------------------------------------------------------
def local_rows(path: str) -> Iterator[tuple[str, int, dict]]:
    for i, (lineno, row) in enumerate(numbered_jsonl(path)):
        yield f"{path}:{lineno}", i, row


def load_hub_split(path: str, name: str | None, split: str, revision: str | None, *, key: str,
                   data_files=None, cache_dir: str | None = None):
    """datasets.load_dataset for one split; an unknown split fails naming the config key and the splits there are."""
    import datasets

    origin = f"{path}{'/' + name if name else ''}{'@' + revision if revision else ''}"
    try:
        return datasets.load_dataset(path, name, split=split, revision=revision, data_files=data_files,
                                     cache_dir=cache_dir)
    except ValueError as exc:
        if not str(exc).startswith("Unknown split"):
            raise
        m = re.search(r"Should be one of (\[.*\])", str(exc))
        available = m.group(1) if m else str(datasets.get_dataset_split_names(
            path, name, revision=revision, data_files=data_files))
        raise DataError(f"{key}.split: split {split!r} does not exist in {origin} (splits there: {available})") from exc


def hub_rows(spec: dict, key: str) -> Iterator[tuple[str, int, dict]]:
    if not spec.get("split"):
        raise ValueError(f"{key}.split: required to load {spec['hub_id']} from the hub")
    ds = load_hub_split(spec["hub_id"], spec.get("subset"), spec["split"], spec.get("revision"), key=key)
    origin = f"{spec['hub_id']}@{spec.get('revision') or 'main'}[{spec['split']}]"
    for i, row in enumerate(ds):
        yield f"{origin}[{i}]", i, row


def lcb_release_files(subset: str | None, key: str) -> list[str]:
    """The JSONL files of a code_generation_lite version tag (the mapping of LiveCodeBench's loading script):
    release_vN = test.jsonl .. testN.jsonl, vN = testN.jsonl alone, vA_vB = testA.jsonl .. testB.jsonl."""
    def name(i: int) -> str:
        return "test.jsonl" if i == 1 else f"test{i}.jsonl"

    tag = subset or "release_latest"
    latest = 6
    m = re.fullmatch(r"release_v(\d+)", tag)
    if tag == "release_latest":
        return [name(i) for i in range(1, latest + 1)]
    if m:
        return [name(i) for i in range(1, int(m.group(1)) + 1)]
    m = re.fullmatch(r"v(\d+)(?:_v(\d+))?", tag)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo <= hi:
            return [name(i) for i in range(lo, hi + 1)]
    raise ValueError(f"{key}.subset: {tag!r} is not a LiveCodeBench version tag "
                     f"(expected release_vN, release_latest, vN or vA_vB)")


def lcb_hub_rows(spec: dict, key: str) -> Iterator[tuple[str, int, dict]]:
    """code_generation_lite's rows, read from its JSONL files: its loading script cannot run under datasets >= 4."""
    from huggingface_hub import hf_hub_download

    if (spec.get("split") or "test") != "test":
        raise DataError(f"{key}.split: split {spec['split']!r} does not exist in {spec['hub_id']} (splits there: "
                        f"['test'])")
    index = 0
    for fname in lcb_release_files(spec.get("subset"), key):
        path = hf_hub_download(spec["hub_id"], fname, repo_type="dataset", revision=spec.get("revision"))
        for lineno, row in numbered_jsonl(path):
            yield f"{spec['hub_id']}@{spec.get('revision') or 'main'}/{fname}:{lineno}", index, row
            index += 1


def generated_tests_reader(spec: dict, key: str):
    """contest id -> the rows of open-r1/codeforces' generated tests of that contest (None when the repository has no
    file for it), downloaded at the pinned revision only for the contests of the drawn problems (all of them:
    ~110 GB)."""
    def read(contest_id: str) -> list[dict] | None:
        import pyarrow.parquet as pq
        from huggingface_hub import hf_hub_download
        from huggingface_hub.utils import EntryNotFoundError

        try:
            path = hf_hub_download(spec["hub_id"], code.generated_tests_file(contest_id), repo_type="dataset",
                                   revision=spec.get("revision"))
        except EntryNotFoundError:
            log.warning("%s: %s has no %s", key, spec["hub_id"], code.generated_tests_file(contest_id))
            return None
        return pq.read_table(path, columns=list(code.GENERATED_COLUMNS)).to_pylist()

    return read


def raw_rows(spec: dict, key: str) -> Iterator[tuple[str, int, dict]]:
    if spec.get("local_path"):
        return local_rows(spec["local_path"])
    if not spec.get("hub_id"):
        raise ValueError(f"{key}: set hub_id (with revision and split) or local_path for source {spec['source']!r}")
    if spec["source"] == "livecodebench":
        return lcb_hub_rows(spec, key)
    return hub_rows(spec, key)


# --------------------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------------------
def draw(rows: list, n: int | None, seed: int) -> list:
    """n rows drawn with the seed, kept in source order; all rows when n is None or not smaller."""
    if n is None or n >= len(rows):
        return list(rows)
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def synthetic_generator():
    """The tiny world's generator ded.tinyworld.tasks.generate(source, n, seed, difficulty) -> list[dict]
    (another stage's module, imported only when a synthetic source is built)."""
    from ded.tinyworld.tasks import generate

    return generate


def check_source(spec: dict, key: str, domain: str | None = None) -> str:
    """The domain of the rows this entry yields; unknown sources and domain mismatches fail naming the key."""
    source = spec.get("source")
    if source not in SOURCE_DOMAINS:
        raise ValueError(f"{key}.source: unknown source {source!r} (expected one of {', '.join(SOURCE_DOMAINS)})")
    produced = SOURCE_DOMAINS[source]
    if spec.get("domain") and spec["domain"] != produced:
        raise ValueError(f"{key}.domain: {spec['domain']!r}, but source {source!r} yields {produced!r} tasks")
    if domain is not None and domain != produced:
        raise ValueError(f"{key}.source: {source!r} yields {produced!r} tasks, expected {domain!r}")
    return produced


def build_rows(spec: dict, *, key: str, domain: str | None = None) -> list[dict]:
    """The task rows of one config entry: loaded, normalised, filtered, drawn (n, seed), validated."""
    produced = check_source(spec, key, domain)
    source = spec["source"]
    n, seed = spec.get("n"), spec.get("seed") or 0
    if source in SYNTHETIC:
        if n is None:
            raise ValueError(f"{key}.n: required for the synthetic source {source!r}")
        generated = synthetic_generator()(source=source, n=n, seed=seed, difficulty=spec.get("difficulty"))
        rows = validate_tasks(generated, f"ded.tinyworld.tasks.generate({source!r}) for {key}", produced)
        if len(rows) != n:
            raise DataError(f"ded.tinyworld.tasks.generate({source!r}) for {key}: {len(rows)} rows, expected {n}")
        return rows

    rows, shape, skipped = [], None, {}
    window = (spec.get("date_from"), spec.get("date_to"))
    for where, index, row in raw_rows(spec, key):
        if shape is None:
            shape = choose_shape(row, source, spec, where)
            log.info("%s: reading the %s shape", key, shape.name)
        missing = [f for f in shape.fields if f not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)} (expected the {shape.name} shape: "
                            f"{', '.join(shape.fields)})")
        if source == "livecodebench" and not code.in_date_window(row["contest_date"], *window):
            skipped["outside the contest-date window"] = skipped.get("outside the contest-date window", 0) + 1
            continue
        task = shape.normalise(row, index=index, where=where)
        if source == "codeforces":
            reason = code.usable_code_task(task) or code.incomplete_tests(task, can_fetch=bool(spec.get("hub_id")))
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
        rows.append(task)
    if shape is None:
        raise DataError(f"{key}: the source has no rows")
    for reason, count in skipped.items():
        log.info("%s: skipped %d problem(s): %s", key, count, reason)
    if n is not None and n > len(rows):
        log.warning("%s: n=%d but the source has %d usable rows: taking all", key, n, len(rows))
    rows = draw(rows, n, seed)
    if source == "codeforces":
        if spec.get("hub_id") and not spec.get("local_path"):
            rows = code.attach_generated_tests(rows, generated_tests_reader(spec, key), origin=spec["hub_id"])
        log.info("%s: tests per problem: %s", key, code.code_test_stats(rows))
    if source == "livecodebench":
        dates = sorted(r["meta"]["contest_date"][:10] for r in rows)
        log.info("%s: %d problems dated %s..%s (window %s..%s); %d without tests", key, len(rows),
                 dates[0] if dates else "-", dates[-1] if dates else "-", *window,
                 sum(1 for r in rows if not r["tests"]))
    log.info("%s: %d rows from %s", key, len(rows), spec.get("local_path") or spec.get("hub_id"))
    return validate_tasks(rows, key, produced)


def source_params(spec: dict) -> dict:
    """The part of a data_source entry that decides the rows (evaluation's `samples` does not)."""
    return {k: v for k, v in spec.items() if k != "samples"}
