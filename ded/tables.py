"""Tables 1-7 of the paper in LaTeX (booktabs), from this run's evaluations and from the paper's own numbers.

One generator renders both. A table is a list of `Column`s and `Row`s whose cells are `Decimal`s: this run's numbers
are quantised (accuracy in percent with two decimals, lengths in whole tokens), the paper's are parsed from the
printed text of config/reference/*.csv, so that "10", "89.8" and "65.63" keep the precision the paper printed them
with and every derived number (the change against the base) comes out as the paper printed it (46.88 - 10 = 36.88,
90.8 - 89.8 = 1.0). Rendering the reference tables (R/tables/paper/) is therefore a check of the generator.

Rows of this run's tables come from the experiments whose `feeds` name the table, in config order, after the base
row(s) of their student(s) where the paper has one; labels are the experiment's `label` or derived from the teacher's
and the student's display names. Every row also carries a *role* (its place in the paper's table: the base, the
corpus stage, the teacher's paper_analog ...), by which R/tables/reproduction_vs_paper.{csv,tex} pairs this run's
rows with the paper's.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ded.io import DataError, write_text

log = logging.getLogger("ded.tables")

TABLES = tuple(f"table{i}" for i in range(1, 8))

REFERENCE_FILES = {
    "table1": "table1_teacher_student.csv",
    "table2": "table2_math_methods.csv",
    "table3": "table3_math_stages.csv",
    "table4": "table4_code_stages.csv",
    "table5": "table5_math_code_mixed.csv",
    "table6": "table6_ood.csv",
    "table7": "table7_length.csv",
}

CAPTIONS = {
    "table1": "Comparisons of different teacher-student pairs ($*$: distilled from that teacher). "
              r"$\Delta$ Acc: change against the untrained student. Bold: the highest accuracy per student.",
    "table2": "Comparisons among different methods on math benchmarks.",
    "table3": "Models distilled from math corpora of different DED stages. Num: training samples.",
    "table4": "Models distilled from code corpora of different DED stages, on LiveCodeBench by difficulty. "
              "Num: training samples.",
    "table5": "Models trained on the math, the code and the mixed corpus, on the math and code benchmarks.",
    "table6": "Out-of-domain benchmarks before and after mixed math and code distillation.",
    "table7": "Models distilled from corpora of different lengths (Corpus: mean training response length "
              "in tokens; Len: mean response length on the benchmark).",
}

BENCH_NAMES = {"aime24": "AIME 2024", "aime25": "AIME 2025", "math500": "MATH-500", "gpqa_diamond": "GPQA Diamond"}
BENCHMARK_TITLES = {**BENCH_NAMES, "livecodebench": "LiveCodeBench"}
LCB_SUBSETS = {"lcb_easy": "easy", "lcb_medium": "medium", "lcb_hard": "hard"}
LCB_HEADERS = {"lcb_easy": "LCB easy", "lcb_medium": "LCB medium", "lcb_hard": "LCB hard"}

# lm-evaluation-harness task -> (the paper's Table 6 column, header). tiny_arith, the tiny world's grade-school
# arithmetic task, stands in for GSM8K when this run is compared with the paper.
OOD_COLUMNS = {
    "mmlu": ("mmlu", "MMLU"),
    "cmmlu": ("cmmlu", "CMMLU"),
    "ceval-valid": ("ceval", "C-EVAL"),
    "bbh": ("bbh", "BBH"),
    "mbpp": ("mbpp", "MBPP"),
    "gsm8k": ("gsm8k", "GSM8K"),
    "minerva_math": ("math", "MATH"),
    "tiny_arith": ("tiny_arith", "Tiny-Arith"),
}
OOD_HEADERS = {key: header for key, header in OOD_COLUMNS.values()} | {"aider_pass2": "Aider (pass@2)"}
OOD_ANALOGS = {"tiny_arith": "gsm8k"}

STAGE_LABELS = {"right": "+ Right", "right_hard": "+ Right-Hard", "right_hard_diverse": "+ Right-Hard-Diverse"}

# benchmarks each table reads (those absent from the config are left out)
TABLE_BENCHMARKS = {
    "table1": ["aime24", "aime25", "math500", "gpqa_diamond"],
    "table2": ["aime24", "aime25", "math500"],
    "table3": ["aime24", "aime25", "math500"],
    "table4": ["livecodebench"],
    "table5": ["aime24", "aime25", "math500", "gpqa_diamond", "livecodebench"],
    "table6": [],
    "table7": ["aime24", "aime25"],
}
TABLES_WITH_BASE = {"table1", "table3", "table4", "table5", "table6"}
TABLES_WITH_NUM = {"table3", "table4"}

MISSING = "--"
ACC_Q, LEN_Q = Decimal("0.01"), Decimal(1)


# --------------------------------------------------------------------------------------------------------------------
# The table model
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class Column:
    key: str
    header: str
    kind: str                  # acc (higher is better, bold the best) | len | num | delta | pair (acc / len)
    group: str | None = None   # spanning header above
    of: str | None = None      # delta: the accuracy column it changes; pair: the length key shown after the slash


@dataclass
class Row:
    label: str
    values: dict[str, Decimal | None]
    role: str
    model: str = ""            # evaluated model (this run) or the paper's row name
    block: str = ""            # rows compared with each other and with their base (Table 1: one per student)
    base: bool = False
    section: str = ""          # Table 2: 'Reported' and 'This run'


@dataclass
class Table:
    name: str
    caption: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    thousands: bool = False    # 9,877 (the paper's Table 7)


def to_decimal(text, source: str = "") -> Decimal | None:
    """A printed number ('10', '89.8', '9,877') as a Decimal that keeps its printed precision; '' / '-' -> None."""
    if text is None:
        return None
    if isinstance(text, float) and math.isnan(text):
        return None
    text = str(text).strip().replace(",", "")
    if text in ("", "-", "--", "nan", "NaN"):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise DataError(f"{source}: expected a number, got {text!r}") from None


def quantize(value: float | None, q: Decimal) -> Decimal | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return Decimal(repr(float(value))).quantize(q)


def percent(fraction: float | None, source: str = "") -> Decimal | None:
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return None
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"{source}: expected a fraction in [0, 1], got {fraction}")
    return quantize(100.0 * fraction, ACC_Q)


# --------------------------------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------------------------------
def table_columns(table: str, benchmarks: list[str], ood_keys: list[str] | None = None) -> list[Column]:
    """Columns of a table over the benchmarks present (and, for Table 6, the OOD column keys)."""
    math_benches = [b for b in BENCH_NAMES if b in benchmarks]
    lcb = "livecodebench" in benchmarks
    cols: list[Column] = []
    if table == "table1":
        for b in math_benches:
            g = BENCH_NAMES[b]
            cols += [Column(f"{b}_acc", "Acc", "acc", g), Column(f"{b}_len", "Length", "len", g),
                     Column(f"{b}_delta", r"$\Delta$ Acc", "delta", g, of=f"{b}_acc")]
    elif table in ("table2", "table3"):
        cols += [Column(b, BENCH_NAMES[b], "acc") for b in math_benches if b != "gpqa_diamond"]
    elif table == "table4":
        if lcb:
            cols += [Column(k, LCB_HEADERS[k], "acc", "LiveCodeBench") for k in LCB_SUBSETS]
    elif table == "table5":
        cols += [Column(b, BENCH_NAMES[b], "acc", "Math") for b in math_benches]
        if lcb:
            cols += [Column(k, LCB_HEADERS[k], "acc", "Code") for k in LCB_SUBSETS]
    elif table == "table6":
        cols += [Column(k, OOD_HEADERS.get(k, k), "acc") for k in (ood_keys or [])]
    elif table == "table7":
        cols.append(Column("corpus_len", "Corpus", "len"))
        for b in ("aime24", "aime25"):
            if b in benchmarks:
                cols.append(Column(f"{b}_acc", f"{BENCH_NAMES[b]} / Len", "pair", of=f"{b}_len"))
    else:
        raise ValueError(f"unknown table {table!r} (expected one of {', '.join(TABLES)})")
    if table in TABLES_WITH_NUM:
        cols.append(Column("num", "Num", "num"))
    return cols


def metric_keys(table: Table) -> list[str]:
    """Every value key of a table's columns (a pair column holds two)."""
    keys = []
    for col in table.columns:
        keys.append(col.key)
        if col.kind == "pair":
            keys.append(col.of)
    return keys


def metric_name(table: Table, key: str) -> str:
    for col in table.columns:
        if col.key == key:
            name = f"{col.group} {col.header}" if col.group else col.header
            return name.split(" / ")[0] + (" Acc" if col.kind == "pair" else "")
        if col.kind == "pair" and col.of == key:
            return col.header.split(" / ")[0] + " Len"
    return key


def add_deltas(table: Table) -> None:
    """Fill the delta columns: a row's accuracy minus its block's base row's (None on the base row itself)."""
    bases = {row.block: row for row in table.rows if row.base}
    for col in table.columns:
        if col.kind != "delta":
            continue
        for row in table.rows:
            base = bases.get(row.block)
            if row.base or base is None:
                row.values[col.key] = None
                continue
            a, b = row.values.get(col.of), base.values.get(col.of)
            row.values[col.key] = None if a is None or b is None else a - b


# --------------------------------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------------------------------
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def format_number(value: Decimal | None, thousands: bool = False) -> str:
    if value is None:
        return MISSING
    return format(value, ",f" if thousands else "f")


def format_delta(value: Decimal | None) -> str:
    if value is None:
        return MISSING
    if value > 0:
        return "+" + format(value, "f")
    if value < 0:
        return "$-$" + format(-value, "f")
    return format(value, "f")


def best_values(table: Table) -> dict[tuple[str, str], Decimal]:
    """(block, column key) -> the highest accuracy, where at least two rows of the block have one."""
    best = {}
    for col in table.columns:
        if col.kind not in ("acc", "pair"):
            continue
        for block in dict.fromkeys(row.block for row in table.rows):
            values = [row.values.get(col.key) for row in table.rows if row.block == block]
            values = [v for v in values if v is not None]
            if len(values) >= 2:
                best[(block, col.key)] = max(values)
    return best


def render_cell(table: Table, col: Column, row: Row, best: dict) -> str:
    value = row.values.get(col.key)
    if col.kind == "delta":
        return format_delta(value)
    text = format_number(value, table.thousands)
    if value is not None and best.get((row.block, col.key)) == value:
        text = rf"\textbf{{{text}}}"
    if col.kind == "pair":
        text += " / " + format_number(row.values.get(col.of), table.thousands)
    return text


def render_latex(table: Table, label: str | None = None) -> str:
    """The table as a LaTeX `table` float with a booktabs tabular (needs \\usepackage{booktabs})."""
    best = best_values(table)
    n = len(table.columns)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{{table.caption}}}", rf"\label{{{label or 'tab:' + table.name}}}",
             rf"\begin{{tabular}}{{l{'r' * n}}}", r"\toprule"]
    if any(col.group for col in table.columns):
        cells, rules, i = [""], [], 0
        while i < n:
            group = table.columns[i].group
            j = i
            while j < n and table.columns[j].group == group:
                j += 1
            if group:
                cells.append(rf"\multicolumn{{{j - i}}}{{c}}{{{latex_escape(group)}}}")
                rules.append(rf"\cmidrule(lr){{{i + 2}-{j + 1}}}")
            else:
                cells += [""] * (j - i)
            i = j
        lines.append(" & ".join(cells) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(["Model"] + [col.header if col.kind == "delta" else latex_escape(col.header)
                                         for col in table.columns]) + r" \\")
    lines.append(r"\midrule")
    previous = None
    for row in table.rows:
        marker = (row.block, row.section)
        if previous is not None and marker != previous:
            lines.append(r"\midrule")
        previous = marker
        cells = [latex_escape(row.label)] + [render_cell(table, col, row, best) for col in table.columns]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# The paper's tables (config/reference)
# --------------------------------------------------------------------------------------------------------------------
def read_reference(ref_dir: str | os.PathLike, table: str):
    import pandas as pd

    path = Path(ref_dir) / REFERENCE_FILES[table]
    if not path.exists():
        raise DataError(f"{path}: the paper's {table} is missing (see config/reference/README.md)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "role" not in frame.columns:
        raise DataError(f"{path}: no 'role' column")
    return frame, path


def paper_table(table: str, ref_dir: str | os.PathLike) -> Table:
    """The paper's own table from its transcription; deltas are recomputed by the generator, never read."""
    frame, path = read_reference(ref_dir, table)
    id_cols = {"model", "student", "teacher", "role", "train_examples", "base"}
    value_cols = [c for c in frame.columns if c not in id_cols and not c.endswith("_delta")]
    benches = [b for b in [*BENCH_NAMES, "livecodebench"]
               if any(c == b or c.startswith(b + "_") for c in value_cols)
               or (b == "livecodebench" and any(c in LCB_SUBSETS for c in value_cols))]
    ood_keys = value_cols if table == "table6" else None
    out = Table(table, f"The paper's Table {table[5:]} (reference numbers). " + CAPTIONS[table],
                table_columns(table, benches, ood_keys), thousands=(table == "table7"))
    wanted = set(metric_keys(out))
    for lineno, rec in enumerate(frame.to_dict("records"), start=2):
        source = f"{path}:{lineno}"
        values = {c: to_decimal(rec[c], f"{source}: column {c}") for c in value_cols if c in wanted}
        role = rec["role"]
        if table == "table1":
            base = rec["teacher"] == ""
            out.rows.append(Row(rec["student"] if base else f"* {rec['teacher']}", values, role,
                                model=rec["student"] if base else f"{rec['student']} * {rec['teacher']}",
                                block=rec["student"], base=base))
        else:
            out.rows.append(Row(rec["model"], values, role, model=rec["model"], base=(role == "base"),
                                section="Reported" if table == "table2" else ""))
    add_deltas(out)
    return out


def render_paper_tables(ref_dir: str | os.PathLike, outputs: dict[str, str]) -> None:
    """Rule paper_tables: R/tables/paper/tableN.tex for every table in `outputs`."""
    for table, path in outputs.items():
        write_text(path, render_latex(paper_table(table, ref_dir), label=f"tab:paper-{table}"))


# --------------------------------------------------------------------------------------------------------------------
# This run's tables
# --------------------------------------------------------------------------------------------------------------------
def summary_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/summary.csv"


def ood_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/ood.csv"


def stats_path(results_dir: str, experiment: str) -> str:
    return f"{results_dir}/corpus/experiments/{experiment}.stats.json"


def table_experiments(config: dict, table: str) -> list[str]:
    return [name for name, exp in config["experiments"].items() if table in (exp.get("feeds") or [])]


def base_model(student: str) -> str:
    return f"base_{student}"


def experiment_benchmarks(config: dict, name: str) -> list[str]:
    return list(config["experiments"][name].get("benchmarks") or config["benchmarks"])


def needs_selection(config: dict, tables=TABLES) -> bool:
    """Whether some row of these tables has teacher 'selected' that only the selection checkpoint resolves."""
    if (config.get("selection") or {}).get("teacher"):
        return False
    return any(config["experiments"][name]["teacher"] == "selected"
               for table in tables for name in table_experiments(config, table))


def table_models(config: dict, table: str) -> list[tuple[str, str | None, list[str]]]:
    """(evaluated model, experiment or None for a base row, benchmarks it is read on) in row order."""
    names = table_experiments(config, table)
    wanted = [b for b in TABLE_BENCHMARKS[table] if b in config["benchmarks"]]
    out = []
    if table in TABLES_WITH_BASE:
        for student in dict.fromkeys(config["experiments"][n]["student"] for n in names):
            # a base student is evaluated on the benchmarks of its experiments (rules/common.smk base_benchmarks)
            used = {b for n, exp in config["experiments"].items() if exp["student"] == student
                    for b in experiment_benchmarks(config, n)}
            out.append((base_model(student), None, [b for b in wanted if b in used]))
    for name in names:
        out.append((name, name, [b for b in wanted if b in experiment_benchmarks(config, name)]))
    return out


def table_inputs(config: dict, table: str, results_dir: str) -> dict[str, list[str]]:
    """Every file a table of this run reads (the rule's input, and exactly what build_run_table opens)."""
    summaries, ood, stats = [], [], []
    for model, experiment, benches in table_models(config, table):
        if benches:
            summaries.append(summary_path(results_dir, model))
        if table == "table6":
            ood.append(ood_path(results_dir, model))
        if experiment is not None and (table in TABLES_WITH_NUM or table == "table7"):
            stats.append(stats_path(results_dir, experiment))
    return {"summaries": summaries, "ood": ood, "stats": stats}


def figure1_inputs(config: dict, results_dir: str) -> list[str]:
    """Figure 1's files of this run: each figure1 experiment's corpus stats and AIME summaries."""
    files = []
    for name in table_experiments(config, "figure1"):
        files.append(stats_path(results_dir, name))
        if any(b in config["benchmarks"] and b in experiment_benchmarks(config, name) for b in ("aime24", "aime25")):
            files.append(summary_path(results_dir, name))
    return files


def read_summary(path: str, benchmark: str) -> dict[str, dict]:
    """subset -> {pass1, mean_tokens} of one benchmark in a model's evaluation summary."""
    import pandas as pd

    if not Path(path).exists():
        raise DataError(f"{path}: evaluation summary is missing")
    frame = pd.read_csv(path)
    missing = {"benchmark", "subset", "pass1", "mean_tokens"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    out = {}
    for i, rec in enumerate(frame.to_dict("records"), start=2):
        if str(rec["benchmark"]) == benchmark:
            out[str(rec["subset"])] = {"pass1": percent(rec["pass1"], f"{path}:{i}: pass1"),
                                       "mean_tokens": quantize(rec["mean_tokens"], LEN_Q)}
    if not out:
        raise DataError(f"{path}: no rows for benchmark {benchmark!r} (was the model evaluated on it?)")
    return out


def read_ood(path: str, tasks: list[str]) -> dict[str, Decimal | None]:
    """Table 6 column key -> value in percent; a task's first row in the file is its headline metric."""
    import pandas as pd

    if not Path(path).exists():
        raise DataError(f"{path}: OOD results are missing")
    frame = pd.read_csv(path)
    missing = {"task", "value"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    out = {}
    for task in tasks:
        rows = frame[frame["task"] == task]
        key = OOD_COLUMNS.get(task, (task, task))[0]
        out[key] = percent(float(rows.iloc[0]["value"]), f"{path}: task {task}") if len(rows) else None
    return out


def read_stats(path: str) -> dict:
    if not Path(path).exists():
        raise DataError(f"{path}: corpus stats are missing")
    stats = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("samples", "tokens_mean"):
        if key not in stats:
            raise DataError(f"{path}: missing key '{key}'")
    return stats


def display(config: dict, section: str, key: str) -> str:
    spec = config[section].get(key) or {}
    return spec.get("display_name") or key


def analog(config: dict, section: str, key: str) -> str:
    spec = config[section].get(key) or {}
    return spec.get("paper_analog") or spec.get("display_name") or key


def resolved_teacher(config: dict, name: str, selected: str | None) -> str | None:
    teacher = config["experiments"][name]["teacher"]
    if teacher != "selected":
        return teacher
    return (config.get("selection") or {}).get("teacher") or selected


def derived_label(config: dict, table: str, name: str, selected: str | None = None) -> str:
    exp = config["experiments"][name]
    teacher = resolved_teacher(config, name, selected)
    t = display(config, "teachers", teacher) if teacher else "Selected"
    s = display(config, "students", exp["student"])
    if table == "table1":
        return f"* {t}"
    domains = list(dict.fromkeys(piece["domain"] for piece in exp["data"]))
    if len(exp["data"]) > 1:
        return f"{s}-Mixed" if len(domains) > 1 else f"{s}-{domains[0].capitalize()}"
    variant, dom = exp["data"][0]["variant"], domains[0].capitalize()
    if table in ("table3", "table4") and variant in STAGE_LABELS:
        return STAGE_LABELS[variant]
    if variant == "first":
        return f"{t}-{s}" if table == "table7" else f"{t}-{dom}-{s}"
    if variant in ("longest", "shortest"):
        return f"{t}-{s}-{variant[0].upper()}"
    return f"{s}-{dom}"


def row_label(config: dict, table: str, name: str, selected: str | None = None) -> str:
    return config["experiments"][name].get("label") or derived_label(config, table, name, selected)


def row_role(config: dict, table: str, name: str | None, student: str, selected: str | None = None) -> str:
    """The row's place in the paper's table, as written in config/reference/*.csv's `role` column."""
    s = analog(config, "students", student)
    if name is None:
        return f"{s}/base" if table == "table1" else "base"
    exp = config["experiments"][name]
    teacher = resolved_teacher(config, name, selected)
    t = analog(config, "teachers", teacher) if teacher else "selected"
    if table == "table1":
        return f"{s}/{t}"
    if table == "table2":
        return "final"
    domains = list(dict.fromkeys(piece["domain"] for piece in exp["data"]))
    if table in ("table5", "table6"):
        return domains[0] if len(domains) == 1 else "mixed"
    variant = exp["data"][0]["variant"] if len(exp["data"]) == 1 else "mixed"
    return f"first/{t}" if variant == "first" else variant


def model_values(table: str, benches: list[str], summaries: dict[str, dict[str, dict]]) -> dict:
    """A row's values from its evaluation summaries (benchmark -> subset -> numbers)."""
    values: dict[str, Decimal | None] = {}
    for b in benches:
        subsets = summaries[b]
        if b == "livecodebench":
            for key, subset in LCB_SUBSETS.items():
                values[key] = (subsets.get(subset) or {}).get("pass1")
            continue
        overall = subsets.get("all") or {}
        if table in ("table1", "table7"):
            values[f"{b}_acc"] = overall.get("pass1")
            values[f"{b}_len"] = overall.get("mean_tokens")
        else:
            values[b] = overall.get("pass1")
    return values


def build_run_table(config: dict, table: str, results_dir: str, ref_dir: str | os.PathLike,
                    selected: str | None = None) -> Table:
    """This run's table from its evaluation summaries, OOD results and corpus stats."""
    present = [b for b in TABLE_BENCHMARKS[table] if b in config["benchmarks"]]
    ood_tasks = list((config.get("ood") or {}).get("tasks") or [])
    ood_keys = [OOD_COLUMNS.get(t, (t, t))[0] for t in ood_tasks]
    out = Table(table, f"This run ({config.get('mode', 'tiny')} world). " + CAPTIONS[table],
                table_columns(table, present, ood_keys if table == "table6" else None),
                thousands=(table == "table7"))
    if table == "table2":
        for row in paper_table("table2", ref_dir).rows:
            if row.role != "final":
                out.rows.append(row)
    for model, experiment, benches in table_models(config, table):
        summaries = {b: read_summary(summary_path(results_dir, model), b) for b in benches}
        values = {key: None for key in metric_keys(out)}
        values.update(model_values(table, benches, summaries))
        if table == "table6":
            values.update(read_ood(ood_path(results_dir, model), ood_tasks))
        if experiment is None:
            student = model[len("base_"):]
            label = display(config, "students", student)
        else:
            student = config["experiments"][experiment]["student"]
            label = row_label(config, table, experiment, selected)
            if table in TABLES_WITH_NUM or table == "table7":
                stats = read_stats(stats_path(results_dir, experiment))
                if table == "table7":
                    values["corpus_len"] = quantize(stats["tokens_mean"], LEN_Q)
                else:
                    values["num"] = Decimal(int(stats["samples"]))
        out.rows.append(Row(label, values, row_role(config, table, experiment, student, selected), model=model,
                            block=display(config, "students", student) if table == "table1" else "",
                            base=experiment is None, section="This run" if table == "table2" else ""))
    add_deltas(out)
    return out


def table_frame(table: Table):
    """The long form of a table (one line per cell), written beside the .tex and read by the comparison."""
    import pandas as pd

    recs = []
    for i, row in enumerate(table.rows):
        for key in metric_keys(table):
            value = row.values.get(key)
            recs.append({"table": table.name, "row": i, "label": row.label, "model": row.model, "role": row.role,
                         "block": row.block, "base": row.base, "section": row.section, "metric": key,
                         "value": "" if value is None else format(value, "f")})
    return pd.DataFrame(recs, columns=["table", "row", "label", "model", "role", "block", "base", "section",
                                       "metric", "value"])


def write_run_table(config: dict, table: str, results_dir: str, ref_dir: str | os.PathLike, out_tex: str,
                    out_csv: str, selection: str | None = None) -> Table:
    """Rule table: R/tables/tableN.tex and its long form R/tables/tableN.csv."""
    selected = json.loads(Path(selection).read_text(encoding="utf-8"))["teacher"] if selection else None
    built = build_run_table(config, table, results_dir, ref_dir, selected)
    write_text(out_tex, render_latex(built))
    write_text(out_csv, table_frame(built).to_csv(index=False))
    log.info("%s: %d rows, %d columns", table, len(built.rows), len(built.columns))
    return built


# --------------------------------------------------------------------------------------------------------------------
# This run beside the paper
# --------------------------------------------------------------------------------------------------------------------
COMPARISON_COLUMNS = ["table", "row", "model", "role", "paper_row", "metric", "metric_name", "this_run", "paper",
                      "difference"]


def row_name(label: str, block: str, base: bool) -> str:
    """A row's label with its block where the label alone is ambiguous (Table 1's '* teacher' rows)."""
    return f"{label} ({block})" if block and not base else label


def compare_with_paper(run_csvs: dict[str, str], ref_dir: str | os.PathLike):
    """This run's numbers beside the paper's, rows paired by role and columns by key (deltas left out)."""
    import pandas as pd

    recs = []
    for table, path in run_csvs.items():
        paper = paper_table(table, ref_dir)
        by_role = {}
        for row in paper.rows:
            by_role.setdefault(row.role, row)
        kinds = {col.key: col.kind for col in paper.columns}
        run = pd.read_csv(path, dtype=str, keep_default_na=False)
        for (_, label, model, role, block, base), cells in run.groupby(["row", "label", "model", "role", "block",
                                                                       "base"], sort=False):
            if role.startswith("published:"):
                continue   # the reference rows copied into this run's Table 2
            match = by_role.get(role)
            if match is None:
                continue
            for rec in cells.to_dict("records"):
                key = OOD_ANALOGS.get(rec["metric"], rec["metric"]) if table == "table6" else rec["metric"]
                if kinds.get(key) == "delta":
                    continue
                mine, theirs = to_decimal(rec["value"], path), match.values.get(key)
                if mine is None or theirs is None:
                    continue
                recs.append({"table": table, "row": row_name(label, block, base == "True"), "model": model,
                             "role": role, "paper_row": row_name(match.label, match.block, match.base),
                             "metric": key, "metric_name": metric_name(paper, key), "this_run": format(mine, "f"),
                             "paper": format(theirs, "f"), "difference": format(mine - theirs, "f")})
    return pd.DataFrame(recs, columns=COMPARISON_COLUMNS)


def render_comparison(frame, mode: str = "tiny") -> str:
    """The comparison as a booktabs longtable (needs \\usepackage{booktabs,longtable})."""
    head = ["Table", "This run", "Paper", "Metric", "This run", "Paper", r"$\Delta$"]
    lines = [r"\begin{longtable}{llllrrr}",
             (rf"\caption{{This run ({mode} world) beside the paper: rows paired by their place in the paper's "
              r"table, $\Delta$ = this run $-$ paper.}\label{tab:reproduction-vs-paper} \\"),
             r"\toprule", " & ".join(head) + r" \\", r"\midrule", r"\endfirsthead",
             r"\toprule", " & ".join(head) + r" \\", r"\midrule", r"\endhead",
             r"\bottomrule", r"\endfoot"]
    previous = None
    for rec in frame.to_dict("records"):
        if previous is not None and rec["table"] != previous:
            lines.append(r"\midrule")
        previous = rec["table"]
        diff = Decimal(rec["difference"])
        cells = [rec["table"].replace("table", "Table "), latex_escape(rec["row"]), latex_escape(rec["paper_row"]),
                 latex_escape(rec["metric_name"]), rec["this_run"], rec["paper"], format_delta(diff)]
        lines.append(" & ".join(cells) + r" \\")
    if frame.empty:
        lines.append(r"\multicolumn{7}{c}{no row of this run has a counterpart in the paper} \\")
    lines.append(r"\end{longtable}")
    return "\n".join(lines) + "\n"


def write_comparison(run_csvs: dict[str, str], ref_dir: str | os.PathLike, out_csv: str, out_tex: str,
                     mode: str = "tiny") -> None:
    """Rule reproduction_vs_paper."""
    frame = compare_with_paper(run_csvs, ref_dir)
    write_text(out_csv, frame.to_csv(index=False))
    write_text(out_tex, render_comparison(frame, mode))
    log.info("%d numbers of this run paired with the paper's", len(frame))
