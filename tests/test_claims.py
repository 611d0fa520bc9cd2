"""The claims table (ded.reporting.claims) on constructed evaluation files: each verdict is reached, the paper's own
effects come from its tables, arms resolve to the selected and the best-own teacher, and unpaired inputs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ded import config as dedcfg
from ded.io import DataError
from ded.reporting import claims

ROOT = Path(__file__).resolve().parent.parent
REF = str(ROOT / "config" / "reference")
N = 200


@pytest.fixture()
def config():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["results_dir"] = "R"
    return cfg


def correct_vector(kind: str, seed: int) -> np.ndarray:
    base = (np.random.default_rng(seed).random(N) < 0.3).astype(int)
    out = base.copy()
    if kind == "better":      # 40 more problems solved: +20 points
        out[np.flatnonzero(out == 0)[:40]] = 1
    elif kind == "worse":     # 40 fewer: -20 points
        out[np.flatnonzero(out == 1)[:40]] = 0
    elif kind == "same-ish":  # 3 more, 3 fewer: 0 points, an interval across zero
        out[np.flatnonzero(out == 0)[:3]] = 1
        out[np.flatnonzero(base == 1)[:3]] = 0
    return out


KINDS = {"base_student": "base", "concise_math_first": "better", "verbose_math_first": "worse",
         "math_right": "better", "math_right_hard": "same-ish", "math_longest": "base", "math_shortest": "same-ish"}


def write_samples(path: Path, run: str, benchmarks, seed: int = 0, samples: int = 1) -> None:
    recs = []
    for i, bench in enumerate(benchmarks):
        vec = correct_vector(KINDS[run], seed=100 * i + seed)
        for j, c in enumerate(vec):
            for s in range(samples):
                recs.append({"benchmark": bench, "problem_id": f"{bench}-{j:04d}", "subset": "all", "sample": s,
                             "correct": int(c), "response_tokens": 50, "finish_reason": "stop"})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(recs).to_csv(path, index=False)


def write_teacher_summary(path: Path, run: str, pass1: float, benchmarks) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"model": run, "benchmark": b, "subset": "all", "n_problems": N, "samples": 1, "pass1": pass1,
                   "ci_low": 0, "ci_high": 1, "mean_tokens": 50} for b in benchmarks]).to_csv(path, index=False)


ROWS = [
    {"id": "C1", "claim": "Distillation improves the student", "source": "Table 1", "each_teacher": "all",
     "kind": "greater", "a": {"first_of": "{teacher}"}, "b": {"base": "student"},
     "benchmarks": ["aime24", "aime25", "math500"],
     "paper": {"table": "table1", "a": "DS-32B/{analog}", "b": "DS-32B/base",
               "columns": ["aime24_acc", "aime25_acc", "math500_acc"]}},
    {"id": "C2", "claim": "Selected beats best own", "kind": "greater", "a": {"first_of": "selected"},
     "b": {"first_of": "best_own"}, "benchmarks": ["aime24", "aime25", "math500"]},
    {"id": "C4", "claim": "Hard keeps accuracy", "kind": "not_worse", "a": {"experiment": "math_right_hard"},
     "b": {"experiment": "math_right"}, "benchmarks": ["aime24", "aime25", "math500"],
     "paper": {"table": "table3", "a": "right_hard", "b": "right", "columns": ["aime24", "aime25", "math500"]}},
    {"id": "C8", "claim": "Length does not matter", "kind": "equivalent", "a": {"experiment": "math_longest"},
     "b": {"experiment": "math_shortest"}, "benchmarks": ["aime24", "aime25"]},
    {"id": "C9", "claim": "Lower entropy", "each_teacher": "others", "kind": "greater", "measure": "entropy",
     "a": {"corpus_of": "{teacher}"}, "b": {"corpus_of": "selected"},
     "paper": {"table": "figure3", "a": "DeepSeek-R1", "b": "QwQ-32B", "columns": ["mean_token_entropy"]}},
]


def world(config, tmp_path, selected="concise", own=(0.5, 0.8)):
    config["claims"]["rows"] = ROWS
    r = str(tmp_path / "R")
    first_runs = claims.claim_first_runs(config)
    files = claims.claim_inputs(config, r, first_runs)
    for run, paths in files["samples"].items():
        benches = ["aime24", "aime25", "math500"]
        for k, path in enumerate(paths):
            write_samples(Path(path), run, benches, seed=k)
    for (teacher, path), pass1 in zip(files["teacher_summaries"].items(), own):
        write_teacher_summary(Path(path), dedcfg.teacher_model_name(teacher), pass1, config["selection"]["benchmarks"])
    for run, path in files["stats"].items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"questions": 40 if run != "math_right_hard" else 12, "samples": 40,
                                          "tokens_mean": 50}))
    entropy = Path(files["entropy"])
    entropy.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pd.DataFrame([{"teacher": t, "question_id": f"q{i}", "sample_index": 0, "n_tokens": 40,
                   "mean_entropy": (0.2 if t == selected else 0.35) + 0.05 * rng.random()}
                  for t in config["teachers"] for i in range(60)]).to_csv(entropy, index=False)
    Path(files["chosen"]).parent.mkdir(parents=True, exist_ok=True)
    Path(files["chosen"]).write_text(json.dumps({"teacher": selected}))
    return files, first_runs


def run_claims(config, files, first_runs, tmp_path, **kw):
    rows = claims.expand_rows(config["claims"], list(config["teachers"]))
    return claims.write_claims(rows=rows, teachers=config["teachers"], first_runs=first_runs, files=files,
                               selection_benchmarks=config["selection"]["benchmarks"], ref_dir=REF,
                               out_csv=str(tmp_path / "claims.csv"), out_tex=str(tmp_path / "claims.tex"),
                               mode="tiny", n_boot=kw.get("n_boot", 1000), seed=0, level=0.95, margin=3.0)


def test_each_verdict_is_reached(config, tmp_path):
    files, first_runs = world(config, tmp_path)
    out = {r["id"]: r for r in run_claims(config, files, first_runs, tmp_path)}
    assert set(out) == {"C1 concise", "C1 verbose", "C2", "C4", "C8", "C9 verbose"}
    assert out["C1 concise"]["verdict"] == "supported" and out["C1 concise"]["effect"] == pytest.approx(20.0)
    assert out["C1 verbose"]["verdict"] == "contradicted" and out["C1 verbose"]["effect"] == pytest.approx(-20.0)
    # selected concise (better) against the best own score, verbose (own 0.8 > 0.5)
    assert out["C2"]["verdict"] == "supported" and "best own score" in out["C2"]["b"]
    assert out["C2"]["effect"] == pytest.approx(40.0)
    assert out["C4"]["verdict"] == "contradicted"            # math_right_hard is 20 points below math_right
    assert out["C4"]["note"] == "corpus 40 vs 40 samples, 12 vs 40 questions"
    # longest = base, shortest = 3 problems more and 3 fewer per benchmark: equal within the 3-point margin
    assert out["C8"]["verdict"] == "supported" and out["C8"]["effect"] == pytest.approx(0.0)
    assert -3 < out["C8"]["ci_low"] < 0 < out["C8"]["ci_high"] < 3
    assert out["C9 verbose"]["verdict"] == "supported" and out["C9 verbose"]["measure"] == "entropy"
    frame = pd.read_csv(tmp_path / "claims.csv")
    assert list(frame.columns) == claims.COLUMNS and len(frame) == 6
    tex = (tmp_path / "claims.tex").read_text()
    assert tex.startswith(r"\begin{longtable}") and tex.count("{") == tex.count("}")


def test_inconclusive_when_the_interval_crosses_the_line(config, tmp_path):
    files, first_runs = world(config, tmp_path)
    config["claims"]["rows"] = [dict(ROWS[3], kind="greater")]
    out = run_claims(config, files, first_runs, tmp_path)
    assert out[0]["verdict"] == "inconclusive" and out[0]["ci_low"] < 0 < out[0]["ci_high"]


def test_paper_effects_come_from_the_reference_tables(config, tmp_path):
    files, first_runs = world(config, tmp_path)
    out = {r["id"]: r for r in run_claims(config, files, first_runs, tmp_path, n_boot=10)}
    # Table 1, DS-32B: QwQ-32B (the concise teacher's analog) minus the base, mean over AIME24/25 and MATH-500
    assert float(out["C1 concise"]["paper_effect"]) == pytest.approx(
        ((79.58 - 65.63) + (73.22 - 53.54) + (95.6 - 89.8)) / 3, abs=1e-3)
    assert float(out["C1 verbose"]["paper_effect"]) == pytest.approx(
        ((73.96 - 65.63) + (65.83 - 53.54) + (94.6 - 89.8)) / 3, abs=1e-3)
    assert float(out["C4"]["paper_effect"]) == pytest.approx(((79.37 - 80) + (72.29 - 75.21) + (95.6 - 95)) / 3,
                                                             abs=1e-3)
    assert float(out["C9 verbose"]["paper_effect"]) == pytest.approx(0.705 - 0.477)
    assert out["C2"]["paper_effect"] == ""                    # the row has no paper side here


def test_selected_equal_to_best_own_is_inconclusive_not_a_comparison(config, tmp_path):
    files, first_runs = world(config, tmp_path, selected="concise", own=(0.9, 0.2))
    out = {r["id"]: r for r in run_claims(config, files, first_runs, tmp_path, n_boot=10)}
    assert out["C2"]["verdict"] == "inconclusive" and out["C2"]["effect"] == ""
    assert out["C2"]["a"].startswith("concise_math_first") and out["C2"]["b"].startswith("concise_math_first")
    assert "both arms" in out["C2"]["note"]


def test_unpaired_inputs_are_refused(config, tmp_path):
    files, first_runs = world(config, tmp_path)
    path = Path(files["samples"]["math_right"][0])
    frame = pd.read_csv(path)
    frame[frame["problem_id"] != "aime24-0007"].to_csv(path, index=False)
    config["claims"]["rows"] = [ROWS[2]]
    with pytest.raises(DataError, match="same aime24 problems"):
        run_claims(config, files, first_runs, tmp_path, n_boot=10)
    write_samples(path, "math_right", ["aime24", "aime25", "math500"], samples=2)
    with pytest.raises(DataError, match="different numbers of samples"):
        run_claims(config, files, first_runs, tmp_path, n_boot=10)


def test_replicates_are_all_read(config, tmp_path):
    config["replicates"] = 3
    files, first_runs = world(config, tmp_path)
    assert files["samples"]["math_right"] == [f"{tmp_path}/R/eval/math_right{s}/samples.csv"
                                              for s in ("", ".rep1", ".rep2")]
    out = {r["id"]: r for r in run_claims(config, files, first_runs, tmp_path, n_boot=200)}
    assert out["C4"]["replicates"] == "3/3"


def test_claims_config_names_are_checked(config):
    config["claims"]["rows"] = [{"id": "X", "claim": "x", "kind": "greater", "a": {"experiment": "nope"},
                                 "b": {"base": "student"}, "benchmarks": ["aime26"]}]
    problems = dedcfg.validate_references(config)
    assert "claims.rows[0] (X).a.experiment: unknown experiment 'nope'" in problems
    assert "claims.rows[0] (X).benchmarks: unknown benchmark 'aime26'" in problems
