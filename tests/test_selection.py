"""Stage 1: ranking teachers by their quick-SFT students' pass@1, the deterministic tie-break, bad inputs."""

from __future__ import annotations

import json

import pytest

from ded import evaluate as ev
from ded import selection
from ded.io import DataError, read_csv, write_csv

BENCHES = ["aime24", "aime25", "math500"]


def write_summary(folder, model, bench, pass1, extra_subsets=()):
    rows = [{"model": model, "benchmark": bench, "subset": s, "n_problems": 10, "samples": 4, "pass1": p,
             "ci_low": max(0.0, p - 0.1), "ci_high": min(1.0, p + 0.1), "mean_tokens": 100.0}
            for s, p in [("all", pass1), *extra_subsets]]
    path = folder / model / "summary.csv"
    if path.exists():  # one file per model, rows of each benchmark appended
        rows = read_csv(path, ev.SUMMARY_COLUMNS) + rows
    write_csv(path, rows, ev.SUMMARY_COLUMNS)
    return path


def unique(paths):
    return list(dict.fromkeys(paths))


def test_ranking_and_chosen(tmp_path):
    scores = {"concise": [0.5, 0.25, 0.75], "verbose": [0.25, 0.25, 0.5], "third": [0.75, 0.5, 0.25]}
    paths = unique([write_summary(tmp_path, f"select_{t}", b, p, extra_subsets=[("hard", 0.0)])
                    for t, ps in scores.items() for b, p in zip(BENCHES, ps)])
    assert len(paths) == 3
    chosen = selection.select_teacher(paths, runs={t: f"select_{t}" for t in scores}, benchmarks=BENCHES,
                                      ranking_csv=tmp_path / "ranking.csv", chosen_json=tmp_path / "chosen.json")
    # concise mean 0.5, third mean 0.5 (tie: concise is listed first), verbose 1/3
    assert chosen["teacher"] == "concise" and chosen["tied_with"] == ["third"]
    assert json.loads((tmp_path / "chosen.json").read_text())["teacher"] == "concise"
    ranking = read_csv(tmp_path / "ranking.csv", ["teacher", "model", "pass1_aime24", "mean_pass1", "rank"])
    assert [(r["teacher"], r["rank"]) for r in ranking] == [("concise", "1"), ("third", "2"), ("verbose", "3")]
    assert ranking[0]["model"] == "select_concise"
    assert float(ranking[2]["mean_pass1"]) == pytest.approx(1 / 3)
    assert float(ranking[1]["pass1_aime24"]) == 0.75


def test_tie_break_follows_config_order_not_file_order():
    scores = {"b": {"x": 0.1 + 0.2}, "a": {"x": 0.3}}  # equal up to float noise
    rows = selection.rank_teachers(scores, ["x"], order=["b", "a"])
    assert [r["teacher"] for r in rows] == ["b", "a"]
    rows = selection.rank_teachers(scores, ["x"], order=["a", "b"])
    assert [r["teacher"] for r in rows] == ["a", "b"]
    # a real difference wins over the order
    rows = selection.rank_teachers({"a": {"x": 0.3}, "b": {"x": 0.31}}, ["x"], order=["a", "b"])
    assert rows[0]["teacher"] == "b"


def test_only_selection_benchmarks_count(tmp_path):
    paths = unique([write_summary(tmp_path, "select_a", "aime24", 0.9), write_summary(tmp_path, "select_a", "gpqa", 0.0),
                    write_summary(tmp_path, "select_b", "aime24", 0.5), write_summary(tmp_path, "select_b", "gpqa", 1.0)])
    chosen = selection.select_teacher(paths, runs={"a": "select_a", "b": "select_b"}, benchmarks=["aime24"],
                                      ranking_csv=tmp_path / "r.csv", chosen_json=tmp_path / "c.json")
    assert chosen["teacher"] == "a" and chosen["mean_pass1"] == pytest.approx(0.9)


def test_missing_or_foreign_summaries(tmp_path):
    paths = unique([write_summary(tmp_path, "select_a", b, 0.5) for b in BENCHES])
    paths.append(write_summary(tmp_path, "select_b", "aime24", 0.5))
    with pytest.raises(DataError, match="no evaluation summary for select_b/aime25, select_b/math500"):
        selection.collect_scores(paths, {"a": "select_a", "b": "select_b"}, BENCHES)
    foreign = write_summary(tmp_path, "math_rhd", "aime24", 0.5)
    with pytest.raises(DataError, match="'math_rhd' is not a selection run \\(have: select_a for a\\)"):
        selection.collect_scores([foreign], {"a": "select_a"}, BENCHES)
    broken = tmp_path / "broken.summary.csv"
    broken.write_text("model,benchmark,subset\nselect_a,aime24,all\n")
    with pytest.raises(DataError, match="broken.summary.csv: missing column"):
        selection.collect_scores([broken], {"a": "select_a"}, BENCHES)
    twice = write_summary(tmp_path / "twice", "select_a", "aime24", 0.5)
    write_summary(tmp_path / "twice", "select_a", "aime24", 0.25)
    with pytest.raises(DataError, match="a second summary of select_a on aime24"):
        selection.collect_scores([twice], {"a": "select_a"}, BENCHES)


def test_replicates_rank_by_their_mean_and_each_pick_is_recorded(tmp_path):
    """Three replicates of each selection run: the mean over them ranks the teachers; chosen.json says which teacher
    each replicate alone would choose (here replicate 2 prefers verbose)."""
    per_rep = {"concise": [0.50, 0.52, 0.30], "verbose": [0.40, 0.41, 0.35]}
    paths = []
    for teacher, values in per_rep.items():
        for r, value in enumerate(values):
            model = f"select_{teacher}" + (f".rep{r}" if r else "")
            paths += [write_summary(tmp_path, model, b, value) for b in BENCHES]
    chosen = selection.select_teacher(unique(paths), runs={t: f"select_{t}" for t in per_rep}, benchmarks=BENCHES,
                                      ranking_csv=tmp_path / "ranking.csv", chosen_json=tmp_path / "chosen.json")
    assert chosen["teacher"] == "concise" and chosen["mean_pass1"] == pytest.approx(0.44)
    assert chosen["replicate_choices"] == ["concise", "concise", "verbose"] and chosen["replicates_agreeing"] == 2
    ranking = read_csv(tmp_path / "ranking.csv", ["teacher", "replicate_wins"])
    assert [(r["teacher"], r["replicate_wins"]) for r in ranking] == [("concise", "2"), ("verbose", "1")]
    assert selection.read_chosen(tmp_path / "chosen.json") == "concise"
    # a missing replicate of one teacher is an error, not a silent mean over fewer runs
    (tmp_path / "select_verbose.rep2" / "summary.csv").unlink()
    with pytest.raises(DataError, match="different replicates"):
        selection.select_teacher([p for p in unique(paths) if "select_verbose.rep2" not in str(p)],
                                 runs={t: f"select_{t}" for t in per_rep}, benchmarks=BENCHES,
                                 ranking_csv=tmp_path / "r.csv", chosen_json=tmp_path / "c.json")


def test_read_chosen_names_a_bad_file(tmp_path):
    path = tmp_path / "chosen.json"
    path.write_text('{"ranking": []}')
    with pytest.raises(DataError, match="chosen.json: no 'teacher'"):
        selection.read_chosen(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="chosen.json: cannot read"):
        selection.read_chosen(path)
