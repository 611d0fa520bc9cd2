"""One end-to-end run of the whole DAG on the smallest config (tests/smoke.py), and what a user does with it."""

from __future__ import annotations

import json
import sys
import zipfile

import pandas as pd
import pytest

from tests.smoke import run_snakemake

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FIGURES = ["figure1_scaling", "figure3_entropy", "figure4_pca_shift"]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_figure_and_table_is_made(smoke_run):
    for fig in FIGURES:
        for ext in ("pdf", "png"):
            assert (smoke_run / "figures" / f"{fig}.{ext}").stat().st_size > 5000
    for i in range(1, 8):
        tex = (smoke_run / "results" / "tables" / f"table{i}.tex").read_text()
        assert "\\toprule" in tex and "\\bottomrule" in tex
        paper = (smoke_run / "results" / "tables" / "paper" / f"table{i}.tex").read_text()
        assert "\\toprule" in paper
    # the tiny world compares itself with the paper through the claims table, not absolute differences
    assert not (smoke_run / "results" / "tables" / "reproduction_vs_paper.tex").exists()
    assert (smoke_run / "results" / "tables" / "claims.tex").stat().st_size > 0


def test_the_claims_table_has_a_verdict_per_claim(smoke_run):
    import yaml

    claims = pd.read_csv(smoke_run / "results" / "tables" / "claims.csv", keep_default_na=False)
    cfg = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    ids = {row["id"] for row in cfg["claims"]["rows"]}
    assert {i.split(" ")[0] for i in claims["id"]} == ids
    assert set(claims["verdict"]) <= {"supported", "contradicted", "inconclusive"}
    measured = claims[claims["effect"] != ""]
    assert len(measured) >= len(claims) - 1           # only C2 may have nothing to compare (same teacher)
    assert (measured["ci_low"].astype(float) <= measured["effect"].astype(float)).all()
    assert (measured["effect"].astype(float) <= measured["ci_high"].astype(float)).all()
    tex = (smoke_run / "results" / "tables" / "claims.tex").read_text()
    assert tex.startswith("\\begin{longtable}") and "C1" in tex


def test_teacher_selection_is_used_downstream(smoke_run):
    chosen = json.loads((smoke_run / "results" / "selection" / "chosen.json").read_text())["teacher"]
    ranking = pd.read_csv(smoke_run / "results" / "selection" / "ranking.csv")
    assert set(ranking["teacher"]) == {"concise", "verbose"}
    assert ranking.sort_values("rank").iloc[0]["teacher"] == chosen
    rows = read_jsonl(smoke_run / "results" / "corpus" / "experiments" / "math_rhd.jsonl")
    assert rows and {r["teacher"] for r in rows} == {chosen}


def test_corpus_stages_shrink_as_the_paper_describes(smoke_run):
    def stats(variant, domain="math"):
        chosen = json.loads((smoke_run / "results" / "selection" / "chosen.json").read_text())["teacher"]
        return json.loads((smoke_run / "results" / "corpus" / chosen / domain / f"{variant}.stats.json").read_text())

    first, right, hard, diverse = (stats(v) for v in ("first", "right", "right_hard", "right_hard_diverse"))
    assert first["questions"] == first["samples"] > 0
    assert 0 < right["questions"] <= first["questions"] and right["samples"] == right["questions"]
    assert hard["questions"] <= right["questions"]
    assert diverse["questions"] == hard["questions"] and diverse["samples"] >= hard["samples"]


def test_evaluation_summaries_have_pass_at_1_with_intervals(smoke_run):
    summaries = list((smoke_run / "results" / "eval").glob("*/summary.csv"))
    assert summaries
    frame = pd.concat(pd.read_csv(p) for p in summaries)
    assert ((frame["pass1"] >= 0) & (frame["pass1"] <= 1)).all()
    assert (frame["ci_low"] <= frame["pass1"]).all() and (frame["pass1"] <= frame["ci_high"]).all()
    lcb = frame[frame["benchmark"] == "livecodebench"]
    assert {"all", "easy", "medium", "hard"} <= set(lcb["subset"])


def test_nothing_left_to_do_and_one_figure_reruns_alone(smoke_run):
    res = run_snakemake(smoke_run, "-n", "--configfile", "config/smoke.yaml")
    assert res.returncode == 0 and "Nothing to be done" in (res.stdout + res.stderr)
    (smoke_run / "figures" / "figure3_entropy.pdf").unlink()
    # the target before --configfile, which takes every word after it
    res = run_snakemake(smoke_run, "figures/figure3_entropy.pdf", "--cores", "1", "--configfile", "config/smoke.yaml")
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert "figure3_entropy" in log and "token_entropy" not in log.split("Job stats:")[-1].split("Select jobs")[0]
    assert (smoke_run / "figures" / "figure3_entropy.pdf").exists()


def test_audit_names_an_edited_corpus_and_passes_after_the_rerun(smoke_run):
    import subprocess

    def audit(*paths):
        res = subprocess.run([sys.executable, "-m", "ded.cli", "audit", "--json", *paths], cwd=smoke_run,
                             capture_output=True, text=True)
        return res.returncode, json.loads(res.stdout)

    figure = "figures/figure1_scaling.pdf"
    code, out = audit(figure)
    assert code == 0, [f for f in out["findings"] if f["level"] == "error"]
    corpus_files = [p for p in out["lineage"] if p.startswith("results/corpus/") and p.endswith(".jsonl")
                    and "/experiments/" not in p]
    assert corpus_files and any(p.startswith("results/seeds/") for p in out["lineage"])
    # the code corpus: fewest models trained on it (mixed and code_rhd), so the rerun below is the shortest
    edited = next((p for p in corpus_files if "/code/" in p), corpus_files[0])
    target = smoke_run / edited
    lines = target.read_text().splitlines()
    row = json.loads(lines[0])
    row["response"] = row["response"] + " edited"
    lines[0] = json.dumps(row)
    target.write_text("\n".join(lines) + "\n")

    code, out = audit(figure)
    assert code == 1
    assert any(f["path"] == edited and "changed after it was recorded" in f["problem"]
               for f in out["findings"])

    res = run_snakemake(smoke_run, "--cores", "2", "--configfile", "config/smoke.yaml", "--forcerun", edited)
    assert res.returncode == 0, res.stderr[-3000:]
    code, out = audit(figure)
    assert code == 0, [f for f in out["findings"] if f["level"] == "error"]


def test_report_holds_every_figure_and_table(smoke_run):
    res = run_snakemake(smoke_run, "--configfile", "config/smoke.yaml", "--report", "report.zip")
    assert res.returncode == 0, res.stderr[-3000:]
    with zipfile.ZipFile(smoke_run / "report.zip") as z:
        names = z.namelist()
        html = z.read("report/report.html").decode()
    for fig in FIGURES:
        assert any(n.endswith(f"{fig}.pdf") or n.endswith(f"{fig}.png") for n in names), fig
    assert any(n.endswith("/table1.tex") for n in names)
    # a provenance page per figure and table (results/provenance/summaries/<target>.txt), in their own category
    assert any(n.endswith("/claims.tex") for n in names)
    for target in FIGURES + [f"table{i}" for i in range(1, 8)] + ["claims"]:
        assert any(n.endswith(f"/{target}.txt") for n in names), target
    assert "Provenance" in html
