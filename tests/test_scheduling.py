"""ded.scheduling: which jobs of the tiny world's DAG the scheduler runs first."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ded import config as dedcfg
from ded.scheduling import COMPRESSION_PATH, SAMPLING, SELECTION_PATH, TRAINING, priority

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def prio(cfg, rule, **wildcards):
    return priority(cfg, rule, wildcards, dedcfg.selection_runs(cfg))


def test_selection_path_first(tiny):
    assert prio(tiny, "sample_shard", model="concise", domain="math", shard="0000") == SELECTION_PATH
    assert prio(tiny, "corpus_variant", teacher="verbose", domain="math", variant="first") == SELECTION_PATH
    # the experiment that is teacher selection's run for concise, and its replicate
    assert prio(tiny, "train", model="concise_math_first") == SELECTION_PATH
    assert prio(tiny, "evaluate", model="concise_math_first.rep1") == SELECTION_PATH
    assert prio(tiny, "train_template_check", student="student") == SELECTION_PATH
    # the other domain's first corpus waits
    assert prio(tiny, "corpus_variant", teacher="verbose", domain="code", variant="first") < SELECTION_PATH


def test_compression_path_next(tiny):
    assert prio(tiny, "sample_shard", model="student", domain="code", shard="0000") == COMPRESSION_PATH
    assert prio(tiny, "passrate", student="student", domain="math") == COMPRESSION_PATH
    assert prio(tiny, "corpus_variant", teacher="concise", domain="math", variant="right_hard_diverse") \
        == COMPRESSION_PATH
    assert prio(tiny, "train", model="mixed") == COMPRESSION_PATH  # both of its pieces are compressed
    assert prio(tiny, "evaluate", model="code_rhd.rep2") == COMPRESSION_PATH


def test_other_samples_before_the_remaining_runs(tiny):
    # the verbose teacher's code heads Table 4's first run: its samples and their verification
    assert prio(tiny, "sample_shard", model="verbose", domain="code", shard="0000") == SAMPLING
    assert prio(tiny, "verify", model="concise", domain="code") == SAMPLING
    assert 0 < TRAINING < SAMPLING < COMPRESSION_PATH < SELECTION_PATH


def test_remaining_runs_train_before_evaluations(tiny):
    assert prio(tiny, "train", model="math_longest") == TRAINING
    assert prio(tiny, "corpus_variant", teacher="concise", domain="math", variant="right") == TRAINING
    assert prio(tiny, "experiment_corpus", experiment="math_shortest.rep1") == TRAINING


def test_other_jobs_last(tiny):
    for rule, wildcards in [("evaluate", {"model": "math_right"}), ("evaluate", {"model": "math_longest.rep2"}),
                            ("evaluate", {"model": "base_student"}), ("table", {"table": "table1"}),
                            ("token_entropy", {"teacher": "verbose"})]:
        assert prio(tiny, rule, **wildcards) == 0, (rule, wildcards)


def test_no_selection_priority_when_the_teacher_is_named(tiny):
    cfg = copy.deepcopy(tiny)
    cfg["selection"]["teacher"] = "concise"
    assert prio(cfg, "train", model="concise_math_first") == TRAINING
    assert prio(cfg, "train", model="math_rhd") == COMPRESSION_PATH
