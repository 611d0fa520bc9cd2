"""The paper's own tables (config/reference/*.csv) through the same generator, and this run beside them.

Rendering the reference tables is a check of the generator (tests/test_tables.py: every printed number comes back).
The absolute comparison means something in paper mode; in the tiny world the claims table (ded.reporting.claims)
is what compares this run with the paper.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from pathlib import Path

from ded.io import DataError, write_text
from ded.reporting.latex import format_delta, latex_escape, render_latex
from ded.reporting.layout import (
    BENCH_NAMES,
    CAPTIONS,
    LCB_SUBSETS,
    OOD_ANALOGS,
    REFERENCE_FILES,
    metric_keys,
    metric_name,
    table_columns,
)
from ded.reporting.model import Row, Table, add_deltas, to_decimal

log = logging.getLogger("ded.reporting.paper")


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
