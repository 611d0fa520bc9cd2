"""ded.reporting.best_vs_base: the per-replicate check of the best distilled student against the untrained one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ded.reporting.best_vs_base import best_vs_base, main

BENCHMARKS = ("aime24", "aime25", "math500")


def write_eval(root, model, rate, n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"benchmark": b, "problem_id": f"{b}-{i:03d}", "subset": "all", "sample": 0,
             "correct": int(rng.random() < rate), "response_tokens": 10, "finish_reason": "stop"}
            for b in BENCHMARKS for i in range(n)]
    folder = root / "eval" / model
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "samples.csv", index=False)


def test_best_experiment_of_each_replicate_against_its_base(tmp_path):
    write_eval(tmp_path, "base_student", 0.1)
    write_eval(tmp_path, "base_student.rep1", 0.1, seed=1)
    write_eval(tmp_path, "teacher_concise", 0.9)           # a teacher is no distilled student
    write_eval(tmp_path, "good", 0.4, seed=2)
    write_eval(tmp_path, "good.rep1", 0.1, seed=3)         # in replicate 1 the other run is the better one
    write_eval(tmp_path, "other", 0.2, seed=4)
    write_eval(tmp_path, "other.rep1", 0.3, seed=5)
    first = best_vs_base(tmp_path, 0)
    assert first["best"] == "good" and 20 < first["effect"] < 40 and first["low"] > 0
    second = best_vs_base(tmp_path, 1)
    assert second["best"] == "other" and second["low"] > 0
    assert main([str(tmp_path), "--replicates", "2"]) == 0


def test_a_missing_base_evaluation_is_named(tmp_path, capsys):
    write_eval(tmp_path, "good", 0.4)
    with pytest.raises(FileNotFoundError):
        best_vs_base(tmp_path, 0)
    assert main([str(tmp_path)]) == 1 and "base_student" in capsys.readouterr().err
