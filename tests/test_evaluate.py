"""Stage 6: pass@1 summaries and bootstrap intervals, the evaluation job (fake and real backends), the OOD suite."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest
import yaml

from ded import evaluate as ev
from ded import ood
from ded.generation import Generation
from ded.io import DataError, read_csv, write_jsonl
from ded.seeds.schema import make_task

ROOT = Path(__file__).resolve().parent.parent


def math_task(i: int, difficulty: str | None = None, answer: str | None = None) -> dict:
    return make_task(id=f"m-{i}", domain="math", question=f"What is {i} + 1?", source="synthetic_math",
                     source_index=i, answer=str(i + 1) if answer is None else answer, difficulty=difficulty)


def samples(table: dict[str, list[int]], subsets: dict[str, str] | None = None, tokens: int = 10) -> list[dict]:
    return [{"problem_id": pid, "subset": (subsets or {}).get(pid, "all"), "sample": j, "correct": c,
             "response_tokens": tokens + j, "finish_reason": "stop"}
            for pid, marks in table.items() for j, c in enumerate(marks)]


# ---------------------------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------------------------
def test_pass1_averages_samples_then_problems():
    rows = samples({"a": [1, 1, 1, 1], "b": [1, 0, 0, 0], "c": [0, 0, 0, 0]})
    (s,) = ev.summarize(rows, model="m", benchmark="aime24", n_boot=200, seed=0)
    assert s["pass1"] == pytest.approx((1 + 0.25 + 0) / 3)
    assert (s["n_problems"], s["samples"], s["subset"]) == (3, 4, "all")
    assert s["mean_tokens"] == pytest.approx(11.5)
    assert 0 <= s["ci_low"] <= s["pass1"] <= s["ci_high"] <= 1
    assert list(s) == ev.SUMMARY_COLUMNS


def test_difficulty_subsets_in_order():
    table = {f"p{i}": [i % 2] for i in range(9)}
    diff = {f"p{i}": ("hard", "easy", "medium")[i % 3] for i in range(9)}
    out = ev.summarize(samples(table, diff), model="m", benchmark="livecodebench", n_boot=100, seed=1)
    assert [r["subset"] for r in out] == ["all", "easy", "medium", "hard"]
    by = {r["subset"]: r for r in out}
    assert by["all"]["n_problems"] == 9 and by["easy"]["n_problems"] == 3
    # easy = p1, p4, p7 -> correct 1, 0, 1
    assert by["easy"]["pass1"] == pytest.approx(2 / 3)
    assert by["all"]["pass1"] == pytest.approx(4 / 9)


def test_bootstrap_interval_matches_the_normal_approximation():
    rng = random.Random(3)
    scores = [float(rng.random() < 0.3) for _ in range(400)]
    lo, hi = ev.bootstrap_ci(scores, n_boot=4000, seed=7)
    p = sum(scores) / len(scores)
    half = 1.96 * math.sqrt(p * (1 - p) / len(scores))
    assert lo == pytest.approx(p - half, abs=0.012) and hi == pytest.approx(p + half, abs=0.012)
    assert ev.bootstrap_ci(scores, n_boot=4000, seed=7) == (lo, hi)  # seeded
    assert ev.bootstrap_ci([0.5] * 10, n_boot=100, seed=0) == (0.5, 0.5)  # no spread, no interval
    # fewer problems, wider interval
    lo_small, hi_small = ev.bootstrap_ci(scores[:40], n_boot=4000, seed=7)
    assert hi_small - lo_small > hi - lo


# ---------------------------------------------------------------------------------------------------------------
# The evaluation job with a fake backend
# ---------------------------------------------------------------------------------------------------------------
class FakeBackend:
    """Answers '\\boxed{<answer>}' correctly for even problems; records the calls."""
    name = "fake"
    preferred_batch_size = 4

    def __init__(self, error_on: str | None = None):
        self.calls, self.closed, self.error_on = [], False, error_on

    def generate(self, prompts, params, n, seeds):
        self.calls.append((prompts, params, n, list(seeds)))
        out = []
        for p in prompts:
            q = p[-1]["content"]
            i = int(q.split("What is ")[1].split(" ")[0])
            text = f"<think>\nadd\n</think>\n\n\\boxed{{{i + 1 if i % 2 == 0 else 0}}}"
            reason = "error" if self.error_on and self.error_on in q else "stop"
            out.append([Generation(text, 7 + j, reason) for j in range(n)])
        return out

    def close(self):
        self.closed = True


def judge(task, response):
    return {"ok": response.rstrip().endswith(f"\\boxed{{{task['answer']}}}")}


def one(bench, n):
    return {bench.stem: {"path": str(bench), "samples": n}}


def test_run_evaluation_writes_both_csvs(tmp_path):
    bench = tmp_path / "aime24.jsonl"
    write_jsonl(bench, [math_task(i) for i in range(6)])
    backend = FakeBackend(error_on="What is 4 ")
    summary = ev.run_evaluation(
        spec={"model": "unused"}, benchmarks=one(bench, 3), model="exp1",
        params={"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 64}, filtering={}, n_boot=100, seed=0,
        samples_csv=str(tmp_path / "s.csv"), summary_csv=str(tmp_path / "sum.csv"), backend=backend, judge=judge)
    assert backend.closed
    # 6 problems, 3 samples each, prompts chunked by preferred_batch_size // n = 1
    assert len(backend.calls) == 6 and all(c[2] == 3 and len(c[3]) == 3 for c in backend.calls)
    assert backend.calls[0][1].max_new_tokens == 64
    # same problem, same seeds whatever the model: common random numbers across models
    assert backend.calls[0][3] == ev.sample_seeds(0, "aime24", "m-0", 3)
    with open(tmp_path / "s.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ev.SAMPLE_COLUMNS and len(rows) == 18 and {r["benchmark"] for r in rows} == {"aime24"}
    correct = {r["problem_id"] for r in rows if r["correct"] == "1"}
    assert correct == {"m-0", "m-2"}  # m-4 answered right but its generation errored
    assert {r["finish_reason"] for r in rows if r["problem_id"] == "m-4"} == {"error"}
    got = ev.read_summary(tmp_path / "sum.csv")
    assert [r["subset"] for r in got] == ["all"]
    assert got[0]["pass1"] == pytest.approx(2 / 6) == summary[0]["pass1"]
    assert (got[0]["model"], got[0]["benchmark"], got[0]["samples"]) == ("exp1", "aime24", 3)
    assert got[0]["mean_tokens"] == pytest.approx(8.0)
    assert not (tmp_path / ".exp1.partial").exists()  # the resume files go once the outputs are written


def two_benchmarks(tmp_path):
    write_jsonl(tmp_path / "aime24.jsonl", [math_task(i) for i in range(4)])
    write_jsonl(tmp_path / "math500.jsonl", [math_task(i, difficulty="hard") for i in range(10, 13)])
    return {"aime24": {"path": str(tmp_path / "aime24.jsonl"), "samples": 2},
            "math500": {"path": str(tmp_path / "math500.jsonl"), "samples": 1}}


def test_one_job_evaluates_every_benchmark_of_the_model(tmp_path):
    backend = FakeBackend()
    summary = ev.run_evaluation(spec={"model": "unused"}, benchmarks=two_benchmarks(tmp_path), model="exp1", params={},
                                filtering={}, n_boot=50, seed=0, samples_csv=str(tmp_path / "s.csv"),
                                summary_csv=str(tmp_path / "sum.csv"), backend=backend, judge=judge)
    assert [(r["benchmark"], r["subset"]) for r in summary] == [("aime24", "all"), ("math500", "all"),
                                                                ("math500", "hard")]
    assert [r["pass1"] for r in summary] == pytest.approx([0.5, 2 / 3, 2 / 3])  # even problems are right
    rows = read_csv(tmp_path / "s.csv", ev.SAMPLE_COLUMNS)
    assert [r["benchmark"] for r in rows] == ["aime24"] * 8 + ["math500"] * 3
    assert [r["benchmark"] for r in ev.read_summary(tmp_path / "sum.csv")] == ["aime24", "math500", "math500"]


def test_the_summary_parser_and_the_reporting_view_share_its_checks(tmp_path):
    from ded.io import write_csv
    from ded.reporting import readers

    path = tmp_path / "m" / "summary.csv"
    for reader in (ev.read_summary, lambda p: readers.read_summary(p, "aime24")):
        with pytest.raises(DataError, match=r"m/summary\.csv: evaluation summary is missing"):
            reader(path)
    row = {"model": "m", "benchmark": "aime24", "subset": "all", "n_problems": 4, "samples": 2, "pass1": 0.5,
           "ci_low": 0.25, "ci_high": 0.75, "mean_tokens": 12.5}
    write_csv(path, [row, {**row, "benchmark": "math500", "subset": "hard", "pass1": None}], ev.SUMMARY_COLUMNS)
    rows = ev.read_summary(path)
    assert (rows[0]["pass1"], rows[0]["samples"], math.isnan(rows[1]["pass1"])) == (0.5, 2, True)
    assert readers.read_summary(path, "aime24") == {"all": {"pass1": 0.5, "mean_tokens": 12.5}}
    with pytest.raises(DataError, match="no rows for benchmark 'gpqa_diamond'"):
        readers.read_summary(path, "gpqa_diamond")
    for bad, message in [({"pass1": 50.0}, r"summary\.csv:3: pass1 must be a fraction in \[0, 1\], got 50\.0"),
                         ({"samples": "two"}, r"summary\.csv:3: not a number")]:
        write_csv(path, [row, {**row, **bad}], ev.SUMMARY_COLUMNS)
        for reader in (ev.read_summary, lambda p: readers.read_summary(p, "aime24")):
            with pytest.raises(DataError, match=message):
                reader(path)
    write_csv(path, [row], [c for c in ev.SUMMARY_COLUMNS if c != "mean_tokens"])
    with pytest.raises(DataError, match="missing column\\(s\\) mean_tokens"):
        readers.read_summary(path, "aime24")


class DyingBackend(FakeBackend):
    """Dies on the problem that contains `die_on`, as a job killed by its time limit would."""

    def __init__(self, die_on: str):
        super().__init__()
        self.die_on = die_on

    def generate(self, prompts, params, n, seeds):
        if any(self.die_on in p[-1]["content"] for p in prompts):
            raise KeyboardInterrupt("killed")
        return super().generate(prompts, params, n, seeds)


def test_a_killed_job_resumes_with_the_benchmarks_it_finished(tmp_path):
    benches = two_benchmarks(tmp_path)
    kwargs = dict(spec={"model": "unused"}, benchmarks=benches, model="exp1", params={}, filtering={}, n_boot=50,
                  seed=0, samples_csv=str(tmp_path / "s.csv"), summary_csv=str(tmp_path / "sum.csv"), judge=judge)
    dying = DyingBackend(die_on="What is 11 ")
    with pytest.raises(KeyboardInterrupt):
        ev.run_evaluation(backend=dying, **kwargs)
    assert dying.closed and not (tmp_path / "s.csv").exists()
    assert (tmp_path / ".exp1.partial" / "aime24.json").exists()
    again = FakeBackend()
    resumed = ev.run_evaluation(backend=again, **kwargs)
    asked = {p[-1]["content"].split("What is ")[1].split(" ")[0] for c in again.calls for p in c[0]}
    assert asked == {"10", "11", "12"}  # aime24 (problems 0-3) came from the first run
    fresh = ev.run_evaluation(backend=FakeBackend(), **{**kwargs, "summary_csv": str(tmp_path / "fresh" / "u.csv")})
    assert resumed == fresh
    # a change of what the generations depend on (here the decoding) ignores what was kept
    with pytest.raises(KeyboardInterrupt):
        ev.run_evaluation(backend=DyingBackend(die_on="What is 11 "), **kwargs)
    changed = FakeBackend()
    ev.run_evaluation(backend=changed, **{**kwargs, "params": {"temperature": 0.0}})
    assert sum(len(c[0]) for c in changed.calls) == 4 + 3


def test_benchmark_row_without_gold_answer_fails_before_generation(tmp_path):
    bench = tmp_path / "math500.jsonl"
    write_jsonl(bench, [math_task(0), math_task(1, answer="")])
    backend = FakeBackend()
    with pytest.raises(DataError, match=r"math500\.jsonl: problem 2 \(id m-1\): no gold answer"):
        ev.run_evaluation(spec={"model": "x"}, benchmarks=one(bench, 1), model="m",
                          params={}, filtering={}, n_boot=10, seed=0, samples_csv=str(tmp_path / "s.csv"),
                          summary_csv=str(tmp_path / "u.csv"), backend=backend, judge=judge)
    assert backend.calls == [] and not (tmp_path / "s.csv").exists()
    code = make_task(id="c-0", domain="code", question="Echo.", source="synthetic_code", source_index=0, tests=[])
    assert ev.gold_problem(code) == "no tests for a code problem"


def test_model_folder_without_weights_fails_naming_it(tmp_path):
    bench = tmp_path / "aime24.jsonl"
    write_jsonl(bench, [math_task(0)])
    folder = tmp_path / "results" / "models" / "exp1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with pytest.raises(DataError, match=r"evaluated model .*models/exp1: no weights"):
        ev.run_evaluation(spec={"model": str(folder)}, benchmarks=one(bench, 1), model="exp1",
                          params={}, filtering={}, n_boot=10, seed=0, samples_csv=str(tmp_path / "s.csv"),
                          summary_csv=str(tmp_path / "u.csv"))


def test_eval_model_spec():
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    base = ev.eval_model_spec(config, "base_ds32b", "results")
    assert base["model"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B" and base["backend"] == "vllm"
    trained = ev.eval_model_spec(config, "ntele_r1_32b", "results")
    assert trained["model"] == "results/models/ntele_r1_32b" and trained["revision"] is None
    assert (trained["backend"], trained["tensor_parallel_size"], trained["max_model_len"]) == ("vllm", 2, 40960)
    sel = ev.eval_model_spec(config, "select_qwq_32b", "results")
    assert sel["model"] == "results/models/select_qwq_32b"
    tiny = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    spec = ev.eval_model_spec(tiny, "math_rhd", "results")
    assert spec["backend"] == "transformers" and "tensor_parallel_size" not in spec
    with pytest.raises(KeyError, match="model 'nope': not an experiment"):
        ev.eval_model_spec(tiny, "nope")


# ---------------------------------------------------------------------------------------------------------------
# Real generation and verification on a random model
# ---------------------------------------------------------------------------------------------------------------
def test_real_backend_and_verifier(random_tiny_model, tmp_path):
    bench = tmp_path / "gpqa_diamond.jsonl"
    tasks = [make_task(id=f"g-{i}", domain="choice", question=f"Pick one.\nA) {i}\nB) {i + 1}", answer="A",
                       source="synthetic_choice", source_index=i, difficulty=("easy", "hard")[i % 2])
             for i in range(4)]
    write_jsonl(bench, tasks)
    summary = ev.run_evaluation(
        spec={"model": str(random_tiny_model), "backend": "transformers"}, benchmarks=one(bench, 2),
        model="base_student",
        params={"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 12}, filtering={}, n_boot=50, seed=0,
        samples_csv=str(tmp_path / "s.csv"), summary_csv=str(tmp_path / "u.csv"))
    assert [r["subset"] for r in summary] == ["all", "easy", "hard"]
    rows = read_csv(tmp_path / "s.csv", ev.SAMPLE_COLUMNS)
    assert len(rows) == 8
    assert all(1 <= int(r["response_tokens"]) <= 12 for r in rows)
    assert {r["finish_reason"] for r in rows} <= {"stop", "length"}
    # a random model does not write a boxed letter
    assert summary[0]["pass1"] == 0.0


# ---------------------------------------------------------------------------------------------------------------
# OOD suite
# ---------------------------------------------------------------------------------------------------------------
def test_ood_items_become_multiple_choice(tmp_path):
    path = tmp_path / "tiny_arith.jsonl"
    assert ood.write_task_data("tiny_arith", path, n=20, seed=3) == 20
    items = [json.loads(line) for line in path.read_text().splitlines()]
    for item in items:
        assert len(item["choices"]) == 4 and len(set(item["choices"])) == 4
        q = item["question"].removeprefix("What is ").rstrip("?")
        assert item["choices"][item["label"]] == str(eval(q))
    assert ood.write_task_data("tiny_arith", tmp_path / "again.jsonl", n=20, seed=3) == 20
    assert (tmp_path / "again.jsonl").read_text() == path.read_text()
    with pytest.raises(DataError, match="data of local OOD task 'tiny_arith' is empty"):
        (tmp_path / "empty.jsonl").write_text("")
        ood.local_task_config("tiny_arith", tmp_path / "empty.jsonl")


def test_ood_result_rows_from_harness_output():
    results = {
        "results": {"gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match":
                              0.1, "exact_match,flexible-extract": 0.6, "exact_match_stderr,flexible-extract": 0.1},
                    "mmlu": {"alias": "mmlu", "acc,none": 0.7, "acc_stderr,none": 0.01},
                    "bbh_a": {"exact_match,get-answer": 0.2, "exact_match_stderr,get-answer": "N/A"},
                    "bbh_b": {"exact_match,get-answer": 0.4, "exact_match_stderr,get-answer": 0.05}},
        "groups": {"mmlu": {"acc,none": 0.7, "acc_stderr,none": 0.01}, "bbh": {"alias": "bbh"}},
        "group_subtasks": {"bbh": ["bbh_a", "bbh_b"], "mmlu": ["mmlu_x"]},
    }
    rows = ood.result_rows(results, ["mmlu", "gsm8k", "bbh"])
    got = {(r["task"], r["metric"]): r for r in rows}
    assert got[("mmlu", "acc")]["value"] == 0.7
    assert got[("gsm8k", "exact_match,strict-match")]["stderr"] == 0.1
    assert math.isnan(got[("bbh_a", "exact_match,get-answer")]["stderr"])  # a group without aggregate: subtasks
    assert len(rows) == 5
    with pytest.raises(DataError, match="no metrics for task 'mbpp'"):
        ood.result_rows(results, ["mbpp"])


def test_lm_eval_runs_tiny_arith_on_a_model(random_tiny_model, tmp_path):
    data = tmp_path / "tiny_arith.jsonl"
    ood.write_task_data("tiny_arith", data, n=12, seed=1)
    out, items = tmp_path / "ood.csv", tmp_path / "ood_samples.csv"
    rows = ood.run_ood(model=str(random_tiny_model), tasks=["tiny_arith"], out_csv=out, samples_csv=items,
                       backend="hf", data_files={"tiny_arith": str(data)}, limit=8)
    metrics = {r["metric"]: r for r in rows}
    assert set(metrics) == {"acc", "acc_norm"}
    assert all(0 <= r["value"] <= 1 and r["stderr"] >= 0 for r in rows)
    # 8 items of 4 choices: accuracy is a multiple of 1/8
    assert (metrics["acc"]["value"] * 8) == pytest.approx(round(metrics["acc"]["value"] * 8))
    written = read_csv(out, ood.OOD_COLUMNS)
    assert [r["task"] for r in written] == ["tiny_arith", "tiny_arith"]
    # one score per item and metric, whose mean is the task's accuracy (the paired OOD claim reads these)
    per_item = [r for r in read_csv(items, ood.OOD_SAMPLE_COLUMNS) if r["metric"] == "acc"]
    assert sorted(int(r["doc_id"]) for r in per_item) == list(range(8))
    assert sum(float(r["value"]) for r in per_item) / 8 == pytest.approx(metrics["acc"]["value"])
    with pytest.raises(DataError, match="needs its data file"):
        ood.run_ood(model=str(random_tiny_model), tasks=["tiny_arith"], out_csv=out, samples_csv=items, backend="hf")
