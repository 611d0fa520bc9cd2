"""Tables 1-7: the generator on constructed evaluations, and the paper's tables reproduced digit for digit."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ded.io import DataError
from ded.reporting import latex, layout, paper, plan, run_tables

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "config" / "reference"

# The paper's tables as its text prints them (markdown of the paper's text; the underline of Table 2's 81.87 and the
# overline of Table 5's 65.15, extraction artefacts, are removed). Missing cells: "-" or empty.
PAPER_PRINTED = {
    "table1": """
| DS-32B | 65.63 | 10171 | - | 53.54 | 12514 | - | 89.8 | 2360 | - | 62.10 | 5094 | - |
| * DeepSeek-R1 | 73.96 | 11255 | +8.33 | 65.83 | 12930 | +12.29 | 94.6 | 3576 | +4.8 | 64.65 | 7506 | +2.55 |
| * QwQ-32B | 79.58 | 14096 | +13.95 | 73.22 | 16275 | +19.68 | 95.6 | 4910 | +5.8 | 67.17 | 9726 | +5.07 |
| * Qwen3-32B | 75.00 | 14675 | +9.37 | 69.73 | 16371 | +16.19 | 94.2 | 5242 | +4.4 | 62.63 | 9682 | +0.53 |
| * Qwen3-235B-A22B | 78.75 | 13991 | +13.12 | 68.75 | 16277 | +15.21 | 90.8 | 7201 | +1.0 | 67.68 | 11071 | +5.58 |
| Qwen2.5-32B-Instruct | 17.50 | 10171 | - | 10 | 12514 | - | 81.0 | 2360 | - | 48.50 | 5094 | - |
| * DeepSeek-R1 | 57.08 | 14698 | +39.58 | 46.88 | 12930 | +36.88 | 93.2 | 3744 | +12.2 | 62.63 | 8601 | +14.13 |
| * QwQ-32B | 67.50 | 16335 | +50.00 | 61.04 | 17633 | +51.04 | 92.8 | 4912 | +11.8 | 63.64 | 9659 | +15.14 |
| phi-4 | 17.92 | 1539 | - | 17.29 | 1201 | - | 79.6 | 652 | - | 51.01 | 627 | - |
| * DeepSeek-R1 | 42.92 | 12345 | +25.00 | 32.91 | 11224 | +15.62 | 88.4 | 3825 | +8.8 | 62.50 | 8241 | +11.49 |
| * QwQ-32B | 50.62 | 12433 | +32.70 | 41.67 | 12827 | +24.38 | 90.0 | 4910 | +10.4 | 58.59 | 9209 | +7.58 |
""",
    "table2": """
| DeepSeek-R1 | 79.2 | 70 | 97.3 |
| Qwen3-235B-A22B | 85.7 | 81.5 | 98.0 |
| QwQ-32B | 76.25 | 67.30 | 94.6 |
| Qwen3-32B | 78.75 | 73.33 | 94.6 |
| Light-R1-32B-DS | 74.79 | 68.54 | 92.0 |
| AReal-boba-SFT-32B | 70.63 | 63.54 | 88.8 |
| Skywork-OR1-32B | 82.2 | 73.3 | - |
| NTele-R1-32B-Math | 81.87 | 77.29 | 95.2 |
""",
    "table3": """
| DS-32B | 65.63 | 53.54 | 89.8 | - |
| R1-Math-DS-32B | 73.96 | 65.83 | 94.6 | 1000 |
| QwQ-Math-DS-32B | 79.58 | 73.22 | 95.6 | 1000 |
| + Right | 80.00 | 75.21 | 95.0 | 830 |
| + Right-Hard | 79.37 | 72.29 | 95.6 | 237 |
| + Right-Hard-Diverse | 81.87 | 77.29 | 95.2 | 965 |
""",
    "table4": """
| DS-32B | 88.37 | 54.93 | 10.39 | |
| R1-Code-DS-32B | 80.37 | 57.57 | 15.62 | 1000 |
| QwQ-Code-DS-32B | 85.39 | 66.35 | 25.27 | 1000 |
| +Right | 89.31 | 66.58 | 26.72 | 846 |
| +Right-Hard | 83.72 | 61.17 | 23.13 | 230 |
| +Right-Hard-Diverse | 90.26 | 70.19 | 28.43 | 925 |
""",
    "table5": """
| DeepSeek-R1 | 79.2 | 70 | 96.4 | 75.7 | - | - | - |
| QwQ-32B | 76.25 | 67.30 | 94.6 | 63.60 | 92.44 | 68.63 | 23.05 |
| DS-32B | 65.63 | 53.54 | 89.8 | 62.10 | 88.37 | 54.93 | 10.39 |
| DS-32B-Math | 81.87 | 77.29 | 95.2 | 68.69 | 92.88 | 62.94 | 18.52 |
| DS-32B-Code | 73.96 | 64.17 | 94.8 | 65.15 | 90.26 | 70.19 | 28.43 |
| NTele-R1-32B | 83.54 | 74.37 | 95.2 | 67.68 | 92.58 | 71.03 | 30.94 |
""",
    "table6": """
| DS-32B | 87.79 | 84.88 | 87.98 | 72.74 | 89.60 | 92.57 | 88.28 | 12.4 |
| NTele-R1-32B | 89.51 | 86.48 | 88.82 | 74.99 | 90.80 | 95.98 | 94.20 | 25.8 |
""",
    "table7": """
| R1-DS-32B | 9,877 | 73.96 / 11,255 | 65.83 / 12,930 |
| QwQ-DS-32B | 12,431 | 79.58 / 14,219 | 73.22 / 16,275 |
| QwQ-DS-32B-L | 13,869 | 78.12 / 14,767 | 74.42 / 16,449 |
| QwQ-DS-32B-S | 8,202 | 77.71 / 12,696 | 74.58 / 14,732 |
""",
}


def _norm(cell: str) -> str:
    cell = cell.strip()
    return "" if cell in ("-", "--") else cell


def printed_rows(table: str) -> list[list[str]]:
    rows = []
    for line in PAPER_PRINTED[table].strip().splitlines():
        rows.append([_norm(c) for c in line.strip().strip("|").split("|")])
    return rows


def body_rows(tex: str) -> list[list[str]]:
    """The body of a rendered table as cells, bold marks removed, LaTeX signs and escapes undone."""
    lines = tex.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Model &")) + 1
    end = lines.index(r"\bottomrule")
    rows = []
    for line in lines[start:end]:
        if line.startswith(r"\midrule"):
            continue
        assert line.endswith(r" \\"), line
        cells = line[: -len(r" \\")].split(" & ")
        cells = [re.sub(r"\\textbf\{([^}]*)\}", r"\1", c).replace("$-$", "-").replace(r"\_", "_") for c in cells]
        rows.append([_norm(c) for c in cells])
    return rows


def bold_cells(tex: str) -> list[str]:
    return re.findall(r"\\textbf\{([^}]*)\}", tex)


# ---------------------------------------------------------------------------------------------------------------
# The paper's tables through the generator
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", layout.TABLES)
def test_paper_table_reproduces_every_printed_number(table):
    tex = latex.render_latex(paper.paper_table(table, REF))
    assert body_rows(tex) == printed_rows(table)
    assert tex.count("{") == tex.count("}")
    assert r"\toprule" in tex and r"\bottomrule" in tex


def test_paper_table1_deltas_are_recomputed_not_read(tmp_path):
    """The printed deltas in the reference file are ignored: wrong ones there do not change the output."""
    for name in layout.REFERENCE_FILES.values():
        (tmp_path / name).write_text((REF / name).read_text())
    frame = pd.read_csv(REF / "table1_teacher_student.csv", dtype=str, keep_default_na=False)
    frame["aime24_delta"] = frame["aime24_delta"].map(lambda v: "+99.99" if v else v)
    frame.to_csv(tmp_path / "table1_teacher_student.csv", index=False)
    tex = latex.render_latex(paper.paper_table("table1", tmp_path))
    assert "99.99" not in tex
    assert body_rows(tex) == printed_rows("table1")


def test_reference_transcription_matches_shared_paper_csvs():
    shared = ROOT.parent / "shared" / "paper"
    if not shared.is_dir():
        pytest.skip("the shared paper folder is absent")
    for name in [*layout.REFERENCE_FILES.values(), "figure3_entropy_stats.csv"]:
        theirs = pd.read_csv(shared / name, dtype=str, keep_default_na=False)
        ours = pd.read_csv(REF / name, dtype=str, keep_default_na=False)
        assert len(ours) == len(theirs), name
        for col in theirs.columns:
            assert list(ours[col]) == list(theirs[col]), (name, col)


def test_paper_table1_bold_is_best_per_student():
    tex = latex.render_latex(paper.paper_table("table1", REF))
    # per block: DS-32B bolds QwQ's 79.58 / 73.22 / 95.6 and Qwen3-235B's 67.68; never a length or a delta
    assert bold_cells(tex) == ["79.58", "73.22", "95.6", "67.68", "93.2", "67.50", "61.04", "63.64",
                               "62.50", "50.62", "41.67", "90.0"]


# ---------------------------------------------------------------------------------------------------------------
# This run's tables on constructed evaluations
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def config():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["results_dir"] = "R"
    cfg.setdefault("mode", "tiny")
    return cfg


def pass1_of(model: str, bench: str, subset: str) -> float:
    """A distinct, known accuracy per cell (base 0.10 + a model offset + a benchmark offset)."""
    models = ["base_student", "concise_math_first", "verbose_math_first", "math_right", "math_right_hard",
              "math_rhd", "concise_code_first", "verbose_code_first", "code_right", "code_right_hard", "code_rhd",
              "mixed", "math_longest", "math_shortest"]
    benches = ["aime24", "aime25", "math500", "gpqa_diamond", "livecodebench"]
    subsets = ["all", "easy", "medium", "hard"]
    return round(0.10 + 0.05 * models.index(model) + 0.01 * benches.index(bench) + 0.002 * subsets.index(subset), 4)


def write_world(config: dict, root: Path, tables_wanted=layout.TABLES, skip: set = frozenset()) -> None:
    """Every file the tables read (their plans' files), with pass1_of values, 100 + 10 i tokens, and corpus stats."""
    r = str(root / config["results_dir"])
    summaries: dict[str, dict] = {}  # model -> benchmark -> its rows (one summary.csv per model)
    for table in tables_wanted:
        for row in plan.table_rows(config, table, r):
            model, experiment = row["model"], row["experiment"]
            for b in row["benchmarks"]:
                if (model, b) in skip:
                    continue
                subsets = ["all", "easy", "medium", "hard"] if b == "livecodebench" else ["all"]
                summaries.setdefault(model, {})[b] = [
                    {"model": model, "benchmark": b, "subset": s, "n_problems": 16, "samples": 4,
                     "pass1": pass1_of(model, b, s), "ci_low": 0.0, "ci_high": 1.0,
                     "mean_tokens": 100.4 + len(model)} for s in subsets]
            for path in row["ood"]:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                pd.DataFrame([{"task": "tiny_arith", "metric": "exact_match", "value": 0.25 if experiment else 0.125,
                               "stderr": 0.01}]).to_csv(path, index=False)
            if row["stats"]:
                path = Path(row["stats"])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"questions": 10, "samples": 10 + len(experiment),
                                            "tokens_mean": 1234.6 + len(experiment), "tokens_median": 100}))
    for model, per_bench in summaries.items():
        path = Path(plan.summary_path(r, model))
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row for rows in per_bench.values() for row in rows]).to_csv(path, index=False)


def set_pass1(results: Path, model: str, bench: str, value: float) -> Path:
    path = Path(plan.summary_path(str(results), model))
    frame = pd.read_csv(path)
    frame.loc[frame["benchmark"] == bench, "pass1"] = value
    frame.to_csv(path, index=False)
    return path


def build(config, tmp_path, table, selected="concise"):
    rows = plan.table_rows(config, table, str(tmp_path / config["results_dir"]))
    names = plan.label_names(config, plan.table_experiments(config, table))
    return run_tables.build_run_table(table, rows, names, benchmarks=list(config["benchmarks"]),
                                      ood_tasks=list(config["ood"]["tasks"]), ref_dir=REF, selected=selected)


def acc(model, bench, subset="all"):
    return f"{100 * pass1_of(model, bench, subset):.2f}"


def test_table1_rows_bold_and_deltas(config, tmp_path):
    write_world(config, tmp_path)
    t = build(config, tmp_path, "table1")
    assert [r.label for r in t.rows] == ["Tiny-Student", "* Tiny-Concise", "* Tiny-Verbose"]
    assert [r.role for r in t.rows] == ["DS-32B/base", "DS-32B/QwQ-32B", "DS-32B/DeepSeek-R1"]
    rows = body_rows(latex.render_latex(t))
    base, concise, verbose = rows
    assert base[1:4] == [acc("base_student", "aime24"), "112", ""]
    assert concise[1] == acc("concise_math_first", "aime24")
    # 0.15 + 0 vs 0.10: +5.00 points on every benchmark; verbose +10.00
    assert concise[3] == "+5.00" and verbose[3] == "+10.00" and verbose[12] == "+10.00"
    # the best accuracy (verbose) is bold in each accuracy column, never a length or a delta
    assert bold_cells(latex.render_latex(t)) == [acc("verbose_math_first", b)
                                                  for b in ("aime24", "aime25", "math500", "gpqa_diamond")]


def test_negative_delta_and_ties(config, tmp_path):
    write_world(config, tmp_path)
    set_pass1(tmp_path / "R", "concise_math_first", "aime24", 0.05)
    set_pass1(tmp_path / "R", "verbose_math_first", "aime24", 0.10)
    tex = latex.render_latex(build(config, tmp_path, "table1"))
    rows = body_rows(tex)
    assert rows[1][3] == "-5.00" and rows[2][3] == "0.00"
    assert r"$-$5.00" in tex
    assert bold_cells(tex).count("10.00") == 2       # base and verbose tie for the best AIME 2024


def test_stage_tables_order_labels_and_num(config, tmp_path):
    write_world(config, tmp_path)
    t3 = build(config, tmp_path, "table3")
    assert [r.label for r in t3.rows] == ["Tiny-Student", "Tiny-Concise-Math-Tiny-Student",
                                          "Tiny-Verbose-Math-Tiny-Student", "+ Right", "+ Right-Hard",
                                          "+ Right-Hard-Diverse"]
    assert [r.role for r in t3.rows] == ["base", "first/QwQ-32B", "first/DeepSeek-R1", "right", "right_hard",
                                         "right_hard_diverse"]
    rows = body_rows(latex.render_latex(t3))
    assert [r[-1] for r in rows] == ["", str(10 + len("concise_math_first")), str(10 + len("verbose_math_first")),
                                     str(10 + len("math_right")), str(10 + len("math_right_hard")),
                                     str(10 + len("math_rhd"))]
    t4 = build(config, tmp_path, "table4")
    assert [c.key for c in t4.columns] == ["lcb_easy", "lcb_medium", "lcb_hard", "num"]
    rows = body_rows(latex.render_latex(t4))
    assert rows[0][1:4] == [acc("base_student", "livecodebench", s) for s in ("easy", "medium", "hard")]


def test_label_from_config_wins(config, tmp_path):
    config["experiments"]["math_rhd"]["label"] = "Tiny_Math & more"
    write_world(config, tmp_path)
    t = build(config, tmp_path, "table5")
    assert [r.label for r in t.rows] == ["Tiny-Student", "Tiny_Math & more", "Tiny-Student-Code", "Tiny-Student-Mixed"]
    assert [r.role for r in t.rows] == ["base", "math", "code", "mixed"]
    assert r"Tiny\_Math \& more" in latex.render_latex(t)


def test_table2_published_rows_then_this_run(config, tmp_path):
    write_world(config, tmp_path)
    t = build(config, tmp_path, "table2")
    labels = [r.label for r in t.rows]
    assert labels[:7] == ["DeepSeek-R1", "Qwen3-235B-A22B", "QwQ-32B", "Qwen3-32B", "Light-R1-32B-DS",
                          "AReal-boba-SFT-32B", "Skywork-OR1-32B"]
    assert labels[7:] == ["Tiny-Student-Math"] and "NTele-R1-32B-Math" not in labels
    tex = latex.render_latex(t)
    assert tex.count(r"\midrule") == 2               # header rule + the rule between reported and this run
    assert body_rows(tex)[-1][1:] == [acc("math_rhd", b) for b in ("aime24", "aime25", "math500")]


def test_table6_ood_and_table7_lengths(config, tmp_path):
    write_world(config, tmp_path)
    rows = body_rows(latex.render_latex(build(config, tmp_path, "table6")))
    assert rows == [["Tiny-Student", "12.50"], ["Tiny-Student-Mixed", "25.00"]]
    t7 = build(config, tmp_path, "table7")
    assert [r.label for r in t7.rows] == ["Tiny-Concise-Tiny-Student", "Tiny-Verbose-Tiny-Student",
                                          "Tiny-Concise-Tiny-Student-L", "Tiny-Concise-Tiny-Student-S"]
    rows = body_rows(latex.render_latex(t7))
    # 1234.6 + 18 = 1252.6 -> 1,253 (thousands separator as in the paper's Table 7)
    assert rows[0][1] == "1,253"
    assert rows[0][2] == f"{acc('concise_math_first', 'aime24')} / {round(100.4 + len('concise_math_first'))}"


def test_bad_inputs_name_the_file(config, tmp_path):
    write_world(config, tmp_path)
    path = set_pass1(tmp_path / "R", "math_rhd", "aime25", 42.0)  # a percentage where a fraction is expected
    with pytest.raises(DataError, match="math_rhd/summary.csv:3: pass1.*fraction"):
        build(config, tmp_path, "table3")
    frame = pd.read_csv(path)
    frame[frame["benchmark"] != "aime25"].to_csv(path, index=False)
    with pytest.raises(DataError, match="math_rhd/summary.csv: no rows for benchmark 'aime25'"):
        build(config, tmp_path, "table3")
    path.unlink()
    with pytest.raises(DataError, match="math_rhd/summary.csv: evaluation summary is missing"):
        build(config, tmp_path, "table3")


def test_inputs_are_exactly_what_is_read(config, tmp_path):
    """table_inputs (the rule's input) names every file; a world of only those files builds every table."""
    write_world(config, tmp_path)
    listed = set()
    for table in layout.TABLES:
        for files in plan.row_files(plan.table_rows(config, table, str(tmp_path / "R"))).values():
            listed.update(files)
    written = {str(p) for p in (tmp_path / "R").rglob("*") if p.is_file()}
    assert listed == written
    assert plan.needs_selection(config, layout.TABLES) is True
    config["selection"]["teacher"] = "verbose"
    assert plan.needs_selection(config, layout.TABLES) is False


def test_reproduction_pairs_rows_by_role(config, tmp_path):
    write_world(config, tmp_path)
    csvs = {}
    for table in layout.TABLES:
        out = tmp_path / f"{table}.csv"
        rows = plan.table_rows(config, table, str(tmp_path / "R"))
        run_tables.write_run_table(table, rows, plan.label_names(config, plan.table_experiments(config, table)),
                                   benchmarks=list(config["benchmarks"]), ood_tasks=list(config["ood"]["tasks"]),
                                   ref_dir=REF, out_tex=str(tmp_path / f"{table}.tex"), out_csv=str(out),
                                   selection=None)
        csvs[table] = str(out)
    frame = paper.compare_with_paper(csvs, REF)
    one = frame[(frame["table"] == "table1") & (frame["metric"] == "aime24_acc")]
    assert list(one["paper_row"]) == ["DS-32B", "* QwQ-32B (DS-32B)", "* DeepSeek-R1 (DS-32B)"]
    assert list(one["row"]) == ["Tiny-Student", "* Tiny-Concise (Tiny-Student)", "* Tiny-Verbose (Tiny-Student)"]
    assert list(one["paper"]) == ["65.63", "79.58", "73.96"]
    first = one.iloc[1]
    assert Decimal(first["difference"]) == Decimal(first["this_run"]) - Decimal("79.58")
    assert not frame["metric"].str.endswith("_delta").any()
    # Table 2: only this run's final model is compared (the published rows are the paper's own numbers)
    assert list(frame[frame["table"] == "table2"]["paper_row"].unique()) == ["NTele-R1-32B-Math"]
    # Table 6: tiny_arith stands in for GSM8K
    six = frame[frame["table"] == "table6"]
    assert list(six["metric"]) == ["gsm8k", "gsm8k"] and list(six["paper"]) == ["92.57", "95.98"]
    seven = frame[(frame["table"] == "table7") & (frame["metric"] == "corpus_len")]
    assert list(seven["paper_row"]) == ["QwQ-DS-32B", "R1-DS-32B", "QwQ-DS-32B-L", "QwQ-DS-32B-S"]
    tex = paper.render_comparison(frame)
    assert tex.startswith(r"\begin{longtable}") and tex.count("{") == tex.count("}")
    assert len([line for line in tex.splitlines() if re.match(r"Table \d & ", line)]) == len(frame)


def test_replicates_are_averaged_with_their_spread(config, tmp_path):
    """With replicates: 2, a cell is the mean of the two runs' pass@1 and shows the standard deviation across them;
    the plan names both summaries and the long CSV carries both numbers."""
    config["replicates"] = 2
    write_world(config, tmp_path, tables_wanted=["table3"])
    r = tmp_path / "R"
    for row in plan.table_rows(config, "table3", str(r)):
        assert row["summaries"] == [plan.summary_path(str(r), row["model"]),
                                    plan.summary_path(str(r), row["model"] + ".rep1")]
        first = pd.read_csv(row["summaries"][0])
        first["model"] = row["model"] + ".rep1"
        first["pass1"] = first["pass1"] + 0.02            # the second run is 2 points better everywhere
        Path(row["summaries"][1]).parent.mkdir(parents=True, exist_ok=True)
        first.to_csv(row["summaries"][1], index=False)
    t = build(config, tmp_path, "table3")
    right = next(row for row in t.rows if row.model == "math_right")
    assert right.values["aime24"] == Decimal(acc("math_right", "aime24")) + 1
    assert right.spread["aime24"] == Decimal("1.41")     # sd of (x, x + 2) = sqrt(2)
    assert right.replicates == 2
    tex = latex.render_latex(t)
    assert rf"{right.values['aime24']}\,{{\scriptsize$\pm$1.41}}" in tex
    frame = run_tables.table_frame(t)
    cell = frame[(frame["model"] == "math_right") & (frame["metric"] == "aime24")].iloc[0]
    assert (cell["value"], cell["sd"], cell["replicates"]) == (str(right.values["aime24"]), "1.41", 2)
