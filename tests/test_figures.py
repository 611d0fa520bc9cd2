"""Figures 1, 3 and 4 drawn from constructed inputs: both files written, non-empty, of the right format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ded.figures.figure1_scaling import (
    pareto_front,
    plot_scaling,
    reference_points,
    run_points,
)
from ded.figures.figure3_entropy import plot_entropy
from ded.figures.figure4_pca_shift import legend_names, plot_pca_shift
from ded.reporting import layout, plan

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "config" / "reference"


def assert_figure(pdf: Path, png: Path) -> None:
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert not list(pdf.parent.glob(".*.tmp"))          # atomic writes left nothing behind


@pytest.fixture()
def config():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["results_dir"] = "R"
    return cfg


def test_pareto_front():
    points = [(200, 70.6), (965, 81.9), (3000, 74.8), (120000, 82.2), (965, 60.0), (50, 10.0)]
    assert pareto_front(points) == [(50, 10.0), (200, 70.6), (965, 81.9), (120000, 82.2)]
    assert pareto_front([]) == []


def test_figure1_scaling(config, tmp_path):
    r = tmp_path / "R"
    for i, name in enumerate(plan.table_experiments(config, "figure1")):
        stats = Path(plan.stats_path(str(r), name))
        stats.parent.mkdir(parents=True, exist_ok=True)
        stats.write_text(json.dumps({"samples": 20 * (i + 1), "tokens_mean": 150.0}))
        path = Path(plan.summary_path(str(r), name))
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([{"model": name, "benchmark": bench, "subset": "all", "n_problems": 16, "samples": 4,
                       "pass1": 0.1 * (i + 1) + 0.05 * j, "ci_low": 0, "ci_high": 1, "mean_tokens": 120}
                      for j, bench in enumerate(("aime24", "aime25"))]).to_csv(path, index=False)
    rows = plan.figure1_rows(config, str(r))
    files = plan.row_files(rows)
    assert set(files["summaries"] + files["stats"]) == {str(p) for p in r.rglob("*") if p.is_file()}
    run = run_points(rows, plan.label_names(config, plan.table_experiments(config, "figure1")), selected="concise")
    assert list(run["n"]) == [20.0, 40.0, 60.0]
    assert list(run["aime24"]) == pytest.approx([10.0, 20.0, 30.0])
    ref = reference_points(str(REF / "table2_math_methods.csv"))
    assert list(ref["label"]) == ["Light-R1-32B-DS", "AReal-boba-SFT-32B", "Skywork-OR1-32B", "NTele-R1-32B-Math"]
    assert list(ref["n"]) == [3000, 200, 120000, 965]
    pdf, png = tmp_path / "figures" / "figure1_scaling.pdf", tmp_path / "figures" / "figure1_scaling.png"
    plot_scaling(reference=ref, run=run, run_name="this run (tiny world)", pdf=str(pdf), png=str(png))
    assert_figure(pdf, png)


def entropy_inputs(tmp_path: Path) -> tuple[Path, Path]:
    from ded.analysis.entropy import histogram_rows, summarise

    rng = np.random.default_rng(0)
    values = {"concise": rng.exponential(0.4, 3000), "verbose": rng.exponential(0.8, 3000)}
    summary = [{"teacher": t, "corpus": "math/first", "n_responses": 30, **summarise(v)} for t, v in values.items()]
    entropy, hist = tmp_path / "entropy.csv", tmp_path / "entropy_hist.csv"
    pd.DataFrame(summary).to_csv(entropy, index=False)
    pd.DataFrame(histogram_rows(values, 40, "math/first")).to_csv(hist, index=False)
    return entropy, hist


def test_figure3_entropy(config, tmp_path):
    entropy, hist = entropy_inputs(tmp_path)
    pdf, png = tmp_path / "figure3_entropy.pdf", tmp_path / "figure3_entropy.png"
    plot_entropy(entropy_csv=str(entropy), hist_csv=str(hist), reference_csv=str(REF / "figure3_entropy_stats.csv"),
                 teachers=config["teachers"], student="Tiny-Student", pdf=str(pdf), png=str(png))
    assert_figure(pdf, png)


def test_figure3_without_measurements(config, tmp_path):
    entropy, hist = tmp_path / "entropy.csv", tmp_path / "entropy_hist.csv"
    pd.DataFrame(columns=["teacher", "corpus", "n_responses", "n_tokens", "mean", "median"]).to_csv(entropy,
                                                                                                   index=False)
    pd.DataFrame(columns=["teacher", "corpus", "bin_left", "bin_right", "count", "density"]).to_csv(hist, index=False)
    pdf, png = tmp_path / "f.pdf", tmp_path / "f.png"
    plot_entropy(entropy_csv=str(entropy), hist_csv=str(hist), reference_csv=str(REF / "figure3_entropy_stats.csv"),
                 teachers={}, student="Tiny-Student", pdf=str(pdf), png=str(png))
    assert_figure(pdf, png)


def pca_inputs(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    shift, points = [], []
    for bench in ("aime25", "math500", "gpqa_diamond"):
        base = rng.normal(size=(3, 16, 2))
        for e, (exp, teacher) in enumerate((("concise_math_first", "concise"), ("verbose_math_first", "verbose"))):
            tuned = base + np.array([0.5 * (e + 1), 0.3]) + rng.normal(scale=0.2, size=base.shape)
            for layer in range(3):
                dist = float(np.linalg.norm(tuned[layer].mean(0) - base[layer].mean(0)))
                shift.append({"experiment": exp, "teacher": teacher, "benchmark": bench, "layer": layer,
                              "distance": dist})
                for state, pts in (("base", base), ("trained", tuned)):
                    points += [{"experiment": exp, "benchmark": bench, "layer": layer, "state": state, "text": i,
                                "pc1": x, "pc2": y} for i, (x, y) in enumerate(pts[layer])]
            shift.append({"experiment": exp, "teacher": teacher, "benchmark": bench, "layer": "mean",
                          "distance": 0.5 * (e + 1)})
    shift_csv, points_csv = tmp_path / "pca_shift.csv", tmp_path / "pca_points.csv"
    pd.DataFrame(shift).to_csv(shift_csv, index=False)
    pd.DataFrame(points).to_csv(points_csv, index=False)
    return shift_csv, points_csv


def test_figure4_pca_shift(config, tmp_path):
    shift_csv, points_csv = pca_inputs(tmp_path)
    names = legend_names(pd.read_csv(shift_csv), {"verbose_math_first": "Verbose run"},
                         {"concise": "Tiny-Concise", "verbose": "Tiny-Verbose"})
    assert names == {"concise_math_first": "Tiny-Concise", "verbose_math_first": "Verbose run"}
    pdf, png = tmp_path / "figure4_pca_shift.pdf", tmp_path / "figure4_pca_shift.png"
    plot_pca_shift(shift_csv=str(shift_csv), points_csv=str(points_csv), labels={},
                   teachers={"concise": "Tiny-Concise", "verbose": "Tiny-Verbose"},
                   benchmark_names=layout.BENCHMARK_TITLES, student="Tiny-Student", pdf=str(pdf), png=str(png))
    assert_figure(pdf, png)


# ---------------------------------------------------------------------------------------------------------------
# The rules, end to end on a constructed world: analysis -> figures, tables, and the report
# ---------------------------------------------------------------------------------------------------------------
MY_RULES = ["token_entropy", "pca_shift", "figure1_scaling", "figure3_entropy", "figure4_pca_shift", "table",
            "paper_tables", "reproduction_vs_paper"]


def _test_tables():
    """tests/test_tables.py as a module, whether or not tests/ is a package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ded_test_tables", Path(__file__).with_name("test_tables.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def constructed_workflow(tmp_path: Path, model_dir: Path) -> Path:
    """A copy of the workflow whose upstream outputs (models, corpora, evaluations) are constructed files."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    from ded.io import write_jsonl

    write_world = _test_tables().write_world

    work = tmp_path / "wf"
    work.mkdir()
    for name in ("Snakefile", "rules", "config", "report", "scripts", "envs"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    cfg["results_dir"] = "results"
    r = work / "results"
    write_world(cfg, work)
    for name in plan.table_experiments(cfg, "figure1"):
        stats = Path(plan.stats_path(str(r), name))
        if not stats.exists():
            stats.write_text(json.dumps({"samples": 30, "tokens_mean": 150.0}))
    (r / "selection").mkdir()
    (r / "selection" / "chosen.json").write_text(json.dumps({"teacher": "concise"}))
    shutil.copytree(model_dir, r / "tinyworld" / "models" / "student")
    for i, name in enumerate(cfg["analysis"]["pca"]["experiments"]):
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        torch.manual_seed(i)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.02 * (i + 1) * torch.randn_like(p))
        model.save_pretrained(r / "models" / name)
    for teacher in cfg["analysis"]["entropy"]["teachers"]:
        write_jsonl(r / "corpus" / teacher / "math" / "first.jsonl",
                    [{"question_id": f"q{i}", "domain": "math", "teacher": teacher, "sample_index": 0,
                      "prompt": f"What is {i} + 30?", "response": f"<think>\n{i} + 30 = {i + 30}\n</think>\n\n"
                      f"The answer is \\boxed{{{i + 30}}}.", "num_tokens": 20} for i in range(4)])
    for bench in cfg["analysis"]["pca"]["benchmarks"]:
        write_jsonl(r / "benchmarks" / f"{bench}.jsonl",
                    [{"id": f"{bench}-{i}", "domain": "math", "question": f"Problem {i}: what is {i} * 7?",
                      "answer": str(7 * i)} for i in range(20)])
    return work


@pytest.mark.slow
def test_rules_figures_tables_and_report(tmp_path, random_tiny_model):
    import subprocess
    import sys
    import zipfile

    work = constructed_workflow(tmp_path, random_tiny_model)
    targets = [f"figures/{f}.pdf" for f in ("figure1_scaling", "figure3_entropy", "figure4_pca_shift")]
    targets += [f"results/tables/{t}.tex" for t in layout.TABLES]
    targets += [f"results/tables/paper/{t}.tex" for t in layout.TABLES] + ["results/tables/reproduction_vs_paper.tex"]
    snakemake = [sys.executable, "-m", "snakemake", *targets, "--cores", "2"]
    # --allowed-rules last: it takes every word after it
    run = subprocess.run([*snakemake, "--allowed-rules", *MY_RULES], cwd=work, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    for target in targets:
        assert (work / target).stat().st_size > 0, target
    for fig in ("figure1_scaling", "figure3_entropy", "figure4_pca_shift"):
        assert_figure(work / "figures" / f"{fig}.pdf", work / "figures" / f"{fig}.png")
    entropy = pd.read_csv(work / "results" / "analysis" / "entropy.csv")
    assert list(entropy["teacher"]) == ["concise", "verbose"] and (entropy["n_responses"] == 4).all()
    shift = pd.read_csv(work / "results" / "analysis" / "pca_shift.csv", dtype={"layer": str})
    assert set(shift["benchmark"]) == {"aime25", "math500", "gpqa_diamond"} and (shift["distance"] > 0).all()
    # the labels use the selected teacher; the comparison pairs rows by role
    assert "Tiny-Concise" in (work / "results" / "tables" / "table7.tex").read_text()
    assert "NTele-R1-32B-Math" in (work / "results" / "tables" / "reproduction_vs_paper.tex").read_text()

    run = subprocess.run([*snakemake, "--report", "report.zip"], cwd=work, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    with zipfile.ZipFile(work / "report.zip") as z:
        names = z.namelist()
        html = z.read("report/report.html").decode()
    for name in ["figure1_scaling.pdf", "figure1_scaling.png", "figure3_entropy.png", "figure4_pca_shift.png",
                 "table1.tex", "table1.csv", "reproduction_vs_paper.csv", "reproduction_vs_paper.tex"]:
        assert any(n.endswith("/" + name) for n in names), name
    assert sum(n.endswith("/table4.tex") for n in names) == 2             # this run's and the paper's
    assert "Figure 3: token entropy" in html and "Tables" in html and "Figures" in html
    assert "teacher_concise" in html                                       # the configuration, on the front page
    assert "rulegraph" in html
