"""Pure helpers over the validated config dict: lookups and merges that rules and scripts share.

Config keys are described in config/schema.yaml. These functions never read files, so the same answers hold in the
Snakefile (input functions) and inside jobs (scripts receive `snakemake.config`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ded.corpus.registry import VARIANTS as _CORPUS_VARIANT_REGISTRY

SELECTED = "selected"
CORPUS_VARIANTS = tuple(_CORPUS_VARIANT_REGISTRY)  # declared in ded.corpus.registry


class ConfigError(KeyError):
    """A config value that names something that does not exist; the message names the key path."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def deep_merge(base: dict, override: dict | None) -> dict:
    """Return base updated recursively by override (neither is modified)."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def model_spec(config: dict, name: str) -> dict:
    """The model entry of a teacher or a student by key."""
    for section in ("teachers", "students"):
        if name in config.get(section, {}):
            return config[section][name]
    raise ConfigError(f"'{name}' is neither a key of teachers nor of students (have: "
                      f"{', '.join(sorted([*config.get('teachers', {}), *config.get('students', {})]))})")


def sampling_params(config: dict, stage_params: dict | None, model: dict | None = None) -> dict:
    """Stage decoding parameters, overridden by the model's own `sampling` block."""
    params = {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 32768}
    params.update(stage_params or {})
    params.update((model or {}).get("sampling") or {})
    return params


def model_gpus(spec: dict) -> int:
    """GPUs a model needs where it runs (a generation spec: a teacher, a student, the judge, an evaluated model):
    its tensor parallelism under vLLM, none under transformers (the tiny world, on CPU) or behind an HTTP endpoint
    (openai)."""
    return int(spec.get("tensor_parallel_size") or 1) if spec.get("backend") == "vllm" else 0


def experiment(config: dict, name: str) -> dict:
    try:
        return config["experiments"][name]
    except KeyError:
        have = ", ".join(sorted(config["experiments"]))
        raise ConfigError(f"experiments.{name}: no such experiment (have: {have})") from None


def experiment_benchmarks(config: dict, name: str) -> list[str]:
    exp = experiment(config, name)
    return list(exp.get("benchmarks") or config["benchmarks"].keys())


def training_params(config: dict, name: str | None = None, quick: bool = False) -> dict:
    """The training section, with the selection overrides (quick) and the experiment's own overrides."""
    params = copy.deepcopy(config.get("training", {}))
    if quick:
        params = deep_merge(params, config.get("selection", {}).get("train"))
    if name is not None and name in config.get("experiments", {}):
        params = deep_merge(params, config["experiments"][name].get("training"))
    return params


def run_training_params(config: dict, model: str) -> dict:
    """The training settings of one trained model (any replicate): selection.train merged in for select_<teacher>,
    the experiment's overrides for an experiment, and the replicate's own seed."""
    parsed = parse_model_name(config, model)
    if not parsed.trained:
        raise ConfigError(f"model {model!r} is not trained (an experiment or select_<teacher>)")
    params = training_params(config, quick=True) if parsed.kind == "select" else training_params(config, parsed.key)
    return {**params, "seed": replicate_seed(params.get("seed", 42), parsed.replicate)}


SELECT_PREFIX = "select_"


def select_model_name(teacher: str) -> str:
    """Model name of teacher selection's own SFT run for a teacher (R/models/select_<teacher>)."""
    return SELECT_PREFIX + teacher


def select_model_teacher(config: dict, model: str) -> str | None:
    """The teacher of a select_<teacher> model name, or None when the name is not one."""
    teacher = model[len(SELECT_PREFIX):] if model.startswith(SELECT_PREFIX) else None
    return teacher if teacher in config.get("teachers", {}) else None


def selection_runs(config: dict) -> dict[str, str]:
    """teacher -> the trained model whose evaluation ranks that teacher in teacher selection.

    An experiment that already trains the selection student on exactly this teacher's first responses of
    selection.domain, with the training settings of selection (training + selection.train), and is evaluated on every
    selection benchmark, is the same SFT run: selection reads its evaluation instead of training a second, identical
    model. Otherwise the run is select_<teacher> (the quick SFT that selection.train describes)."""
    sel = config.get("selection", {})
    wanted_data = [{"domain": sel.get("domain", "math"), "variant": "first", "limit": None}]
    quick = training_params(config, quick=True)
    runs = {}
    for teacher in config.get("teachers", {}):
        runs[teacher] = select_model_name(teacher)
        for name, exp in config.get("experiments", {}).items():
            data = [{"limit": None, **piece} for piece in exp["data"]]
            if (exp["teacher"] == teacher and exp["student"] == sel.get("student", "student") and data == wanted_data
                    and training_params(config, name) == quick
                    and set(sel.get("benchmarks", [])) <= set(experiment_benchmarks(config, name))):
                runs[teacher] = name
                break
    return runs


def first_runs(config: dict, domain: str | None = None) -> dict[str, str]:
    """teacher -> the run that distils that teacher's first responses of `domain` into the selection student: the
    experiment that trains exactly that corpus (Table 1's runs, at the main training settings), else for
    selection.domain teacher selection's own run for it (teachers with neither are left out)."""
    sel = config.get("selection", {})
    domain = domain or sel.get("domain", "math")
    wanted = [{"domain": domain, "variant": "first", "limit": None}]
    runs = selection_runs(config) if domain == sel.get("domain", "math") else {}
    for teacher in config.get("teachers", {}):
        for name, exp in config.get("experiments", {}).items():
            if (exp["teacher"] == teacher and exp["student"] == sel.get("student", "student")
                    and [{"limit": None, **piece} for piece in exp["data"]] == wanted):
                runs[teacher] = name
                break
    return runs


def resolve_teacher(config: dict, teacher: str, selected: str | None) -> str:
    """Map 'selected' to the chosen teacher (from config or from the selection checkpoint)."""
    if teacher != SELECTED:
        return teacher
    fixed = config.get("selection", {}).get("teacher")
    if fixed:
        return fixed
    if selected is None:
        raise ConfigError("teacher 'selected' needs the selection result (selection.teacher is null)")
    return selected


BASE_PREFIX = "base_"
TEACHER_PREFIX = "teacher_"
REPLICATE_MARK = ".rep"


def base_model_name(student: str) -> str:
    """Wildcard value naming an untrained student in evaluation paths."""
    return BASE_PREFIX + student


def teacher_model_name(teacher: str) -> str:
    """Wildcard value naming a teacher evaluated as itself (its own benchmark score: claim C2, Table 5)."""
    return TEACHER_PREFIX + teacher


def replicates(config: dict) -> int:
    return int(config.get("replicates") or 1)


def replicate_name(run: str, replicate: int) -> str:
    """Replicate 0 of a run is the run itself; replicate r > 0 is `<run>.rep<r>` (its own training and evaluation
    seeds: ded.config.replicate_seed)."""
    return run if replicate == 0 else f"{run}{REPLICATE_MARK}{replicate}"


def run_of(name: str) -> str:
    """The run a (possibly replicate) name belongs to: `mixed.rep2` -> `mixed`; other names unchanged."""
    head, mark, tail = name.rpartition(REPLICATE_MARK)
    return head if mark and tail.isdigit() else name


def replicate_names(config: dict, run: str) -> list[str]:
    return [replicate_name(run, r) for r in range(replicates(config))]


def replicate_seed(seed: int, replicate: int) -> int:
    """The training or evaluation seed of a replicate (replicate 0 keeps the configured seed)."""
    return int(seed) + 1000 * int(replicate)


@dataclass(frozen=True)
class ModelName:
    """An evaluated or trained model's name, parsed: `kind` is experiment, select (teacher selection's quick SFT of
    teacher `key`), base (student `key` untrained) or teacher (teacher `key` itself); `run` is the name without the
    replicate mark."""

    kind: str
    key: str
    run: str
    replicate: int = 0

    @property
    def name(self) -> str:
        return replicate_name(self.run, self.replicate)

    @property
    def trained(self) -> bool:
        return self.kind in ("experiment", "select")


def parse_model_name(config: dict, name: str) -> ModelName:
    """The one reader of model names (R/models/<name>, R/eval/<name>); raises ConfigError naming what exists."""
    run, replicate = name, 0
    head, mark, tail = name.rpartition(REPLICATE_MARK)
    if mark and tail.isdigit() and int(tail) > 0:
        run, replicate = head, int(tail)
        if replicate >= replicates(config):
            raise ConfigError(f"model {name!r}: replicate {replicate}, but replicates is {replicates(config)}")
    if run in config.get("experiments", {}):
        return ModelName("experiment", run, run, replicate)
    teacher = select_model_teacher(config, run)
    if teacher is not None:
        return ModelName("select", teacher, run, replicate)
    for prefix, kind, section in ((BASE_PREFIX, "base", "students"), (TEACHER_PREFIX, "teacher", "teachers")):
        if run.startswith(prefix) and run[len(prefix):] in config.get(section, {}):
            return ModelName(kind, run[len(prefix):], run, replicate)
    raise ConfigError(f"model {name!r}: not an experiment, select_<teacher>, base_<student> or teacher_<teacher> "
                      f"(optionally {REPLICATE_MARK}<r>)")


def model_student(config: dict, name: str) -> str | None:
    """The student a model is (base) or starts from (experiment, select); None for a teacher."""
    parsed = parse_model_name(config, name)
    if parsed.kind == "experiment":
        return config["experiments"][parsed.key]["student"]
    if parsed.kind == "select":
        return config.get("selection", {}).get("student", "student")
    return parsed.key if parsed.kind == "base" else None


def validate_references(config: dict) -> list[str]:
    """Cross-references the JSON schema cannot check; returns human-readable problems (empty = fine)."""
    problems = []
    teachers, students = config.get("teachers", {}), config.get("students", {})
    benches = config.get("benchmarks", {})
    for name, exp in config.get("experiments", {}).items():
        if exp["student"] not in students:
            problems.append(f"experiments.{name}.student: unknown student '{exp['student']}'")
        if exp["teacher"] != SELECTED and exp["teacher"] not in teachers:
            problems.append(f"experiments.{name}.teacher: unknown teacher '{exp['teacher']}'")
        for bench in exp.get("benchmarks") or []:
            if bench not in benches:
                problems.append(f"experiments.{name}.benchmarks: unknown benchmark '{bench}'")
        for i, piece in enumerate(exp["data"]):
            if piece["domain"] not in config.get("seeds", {}):
                problems.append(f"experiments.{name}.data[{i}].domain: no seeds.{piece['domain']}")
    sel = config.get("selection", {})
    if sel.get("teacher") and sel["teacher"] not in teachers:
        problems.append(f"selection.teacher: unknown teacher '{sel['teacher']}'")
    if sel.get("student", "student") not in students:
        problems.append(f"selection.student: unknown student '{sel.get('student')}'")
    for bench in sel.get("benchmarks", []):
        if bench not in benches:
            problems.append(f"selection.benchmarks: unknown benchmark '{bench}'")
    for key in ("compression", "filtering"):
        field = "student" if key == "compression" else "tokenizer_of"
        value = config.get(key, {}).get(field)
        if value is not None and value not in students:
            problems.append(f"{key}.{field}: unknown student '{value}'")
    ent = config.get("analysis", {}).get("entropy", {})
    for t in ent.get("teachers", []):
        if t not in teachers:
            problems.append(f"analysis.entropy.teachers: unknown teacher '{t}'")
    pca = config.get("analysis", {}).get("pca", {})
    for e in pca.get("experiments", []):
        if e not in config.get("experiments", {}):
            problems.append(f"analysis.pca.experiments: unknown experiment '{e}'")
    for b in pca.get("benchmarks", []):
        if b not in benches:
            problems.append(f"analysis.pca.benchmarks: unknown benchmark '{b}'")
    for section in ("experiments", "teachers", "students"):
        for key in config.get(section, {}):
            if REPLICATE_MARK in key:
                problems.append(f"{section}.{key}: a key must not contain {REPLICATE_MARK!r} (it marks replicates)")
    tiny_models = (config.get("tinyworld") or {}).get("models") or {}
    for name, spec in tiny_models.items():
        init, chain = (spec or {}).get("init"), [name]
        while init:
            if init not in tiny_models:
                problems.append(f"tinyworld.models.{name}.init: unknown tiny model '{init}'")
                break
            if init in chain:
                problems.append(f"tinyworld.models.{name}.init: a cycle ({' -> '.join([*chain, init])})")
                break
            chain.append(init)
            init = (tiny_models[init] or {}).get("init")
    if config.get("mode") == "tiny" and not config.get("tinyworld"):
        problems.append("tinyworld: required when mode is tiny")
    problems += _training_problems(config)
    from ded.reporting.claims import check_claims_config

    problems += check_claims_config(config.get("claims") or {}, config)
    return problems


def _training_problems(config: dict) -> list[str]:
    """Training and selection references, and a global batch the devices split evenly (checked per run)."""
    problems = []
    students = config.get("students", {})
    sel = config.get("selection", {})
    if sel.get("domain") and config.get("seeds") is not None and sel["domain"] not in config["seeds"]:
        problems.append(f"selection.domain: no seeds.{sel['domain']}")
    for student in (config.get("training", {}).get("templates") or {}):
        if student not in students:
            problems.append(f"training.templates.{student}: unknown student '{student}'")
    runs = [("training", training_params(config)), ("selection.train", training_params(config, quick=True))]
    runs += [(f"experiments.{name}.training", training_params(config, name))
             for name, exp in config.get("experiments", {}).items() if exp.get("training")]
    for where, params in runs:
        if not all(k in params for k in ("global_batch_size", "per_device_batch_size")):
            continue
        per_step = int(params["per_device_batch_size"]) * max(1, int(params.get("gpus_per_node", 0))) \
            * int(params.get("nodes", 1))
        if int(params["global_batch_size"]) % per_step:
            problems.append(f"{where}: global_batch_size {params['global_batch_size']} is not a multiple of "
                            f"per_device_batch_size x gpus_per_node x nodes = {per_step}")
    return problems
