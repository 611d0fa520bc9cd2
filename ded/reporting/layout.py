"""What each of the paper's tables shows: its reference file, caption, benchmarks and columns (pure; no file is read).
"""

from __future__ import annotations

from ded.reporting.model import Column, Table

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

# benchmarks each table (and Figure 1) reads (those absent from the config are left out)
TABLE_BENCHMARKS = {
    "table1": ["aime24", "aime25", "math500", "gpqa_diamond"],
    "table2": ["aime24", "aime25", "math500"],
    "table3": ["aime24", "aime25", "math500"],
    "table4": ["livecodebench"],
    "table5": ["aime24", "aime25", "math500", "gpqa_diamond", "livecodebench"],
    "table6": [],
    "table7": ["aime24", "aime25"],
    "figure1": ["aime24", "aime25"],
}
TABLES_WITH_BASE = {"table1", "table3", "table4", "table5", "table6"}
TABLES_WITH_NUM = {"table3", "table4"}


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
