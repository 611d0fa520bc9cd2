"""This run's Tables 1-7 (R/tables/tableN.{tex,csv}) from the files its plan names (ded.reporting.plan).

Rows come from the experiments whose `feeds` name the table, in config order, after the base row(s) of their
student(s) where the paper has one; labels are the experiment's `label` or derived from the teacher's and the
student's display names. With replicates a cell is the mean over them, shown with the standard deviation across
them (mean +- sd), and the long CSV has both.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal

from ded.io import write_text
from ded.reporting import labels, readers
from ded.reporting.latex import render_latex
from ded.reporting.layout import CAPTIONS, LCB_SUBSETS, OOD_COLUMNS, TABLE_BENCHMARKS, metric_keys, table_columns
from ded.reporting.model import ACC_Q, LEN_Q, Row, Table, add_deltas, percent, quantize
from ded.reporting.paper import paper_table
from ded.selection import read_chosen

log = logging.getLogger("ded.reporting.run_tables")


def _cell_keys(table: str, bench: str) -> list[tuple[str, str, str]]:
    """(value key, subset, field) of a benchmark's cells in a table."""
    if bench == "livecodebench":
        return [(key, subset, "pass1") for key, subset in LCB_SUBSETS.items()]
    if table in ("table1", "table7", "figure1"):
        return [(f"{bench}_acc", "all", "pass1"), (f"{bench}_len", "all", "mean_tokens")]
    return [(bench, "all", "pass1")]


def replicate_cells(table: str, row: dict) -> tuple[dict[str, Decimal | None], dict[str, Decimal]]:
    """A row's values (mean over its replicate summaries) and spreads (sd across them, with several)."""
    per_key: dict[str, list[float]] = {}
    for path in row["summaries"]:
        for bench in row["benchmarks"]:
            subsets = readers.read_summary(path, bench)
            for key, subset, field in _cell_keys(table, bench):
                per_key.setdefault(key, []).append((subsets.get(subset) or {}).get(field, float("nan")))
    values, spread = {}, {}
    for key, reps in per_key.items():
        mean, sd = readers.mean_and_sd(reps)
        is_len = key.endswith("_len")
        values[key] = quantize(mean, LEN_Q) if is_len else percent(mean, f"{row['model']}: {key}")
        if sd is not None:
            spread[key] = quantize(sd, LEN_Q) if is_len else quantize(100 * sd, ACC_Q)
    return values, spread


def ood_cells(row: dict, tasks: list[str]) -> tuple[dict[str, Decimal | None], dict[str, Decimal]]:
    per_key: dict[str, list[float]] = {}
    for path in row["ood"]:
        for key, value in readers.read_ood(path, tasks).items():
            per_key.setdefault(key, []).append(value)
    values, spread = {}, {}
    for key, reps in per_key.items():
        mean, sd = readers.mean_and_sd(reps)
        values[key] = percent(mean, f"{row['model']}: {key}")
        if sd is not None:
            spread[key] = quantize(100 * sd, ACC_Q)
    return values, spread


def build_run_table(table: str, rows: list[dict], names: dict, *, benchmarks: list[str], ood_tasks: list[str],
                    ref_dir: str | os.PathLike, mode: str = "tiny", selected: str | None = None) -> Table:
    """This run's table from the plan's rows (ded.reporting.plan.table_rows)."""
    present = [b for b in TABLE_BENCHMARKS[table] if b in benchmarks]
    ood_keys = [OOD_COLUMNS.get(t, (t, t))[0] for t in ood_tasks]
    out = Table(table, f"This run ({mode} world). " + CAPTIONS[table],
                table_columns(table, present, ood_keys if table == "table6" else None), thousands=(table == "table7"))
    if table == "table2":
        out.rows += [r for r in paper_table("table2", ref_dir).rows if r.role != "final"]
    for row in rows:
        values = {key: None for key in metric_keys(out)}
        cells, spread = replicate_cells(table, row)
        values.update(cells)
        if table == "table6":
            ood, ood_spread = ood_cells(row, ood_tasks)
            values.update(ood)
            spread.update(ood_spread)
        experiment, student = row["experiment"], row["student"]
        if experiment is None:
            label = labels.display(names, "students", student)
        else:
            label = labels.row_label(names, table, experiment, selected)
            if row["stats"]:
                stats = readers.read_stats(row["stats"])
                if table == "table7":
                    values["corpus_len"] = quantize(stats["tokens_mean"], LEN_Q)
                else:
                    values["num"] = Decimal(int(stats["samples"]))
        out.rows.append(Row(label, values, labels.row_role(names, table, experiment, student, selected),
                            model=row["model"], block=labels.display(names, "students", student)
                            if table == "table1" else "", base=experiment is None,
                            section="This run" if table == "table2" else "", spread=spread,
                            replicates=max(1, len(row["summaries"]) or len(row["ood"]))))
    add_deltas(out)
    return out


CSV_COLUMNS = ["table", "row", "label", "model", "role", "block", "base", "section", "metric", "value", "sd",
               "replicates"]


def table_frame(table: Table):
    """The long form of a table (one line per cell), written beside the .tex and read by the comparison."""
    import pandas as pd

    recs = []
    for i, row in enumerate(table.rows):
        for key in metric_keys(table):
            value, sd = row.values.get(key), row.spread.get(key)
            recs.append({"table": table.name, "row": i, "label": row.label, "model": row.model, "role": row.role,
                         "block": row.block, "base": row.base, "section": row.section, "metric": key,
                         "value": "" if value is None else format(value, "f"),
                         "sd": "" if sd is None else format(sd, "f"), "replicates": row.replicates})
    return pd.DataFrame(recs, columns=CSV_COLUMNS)


def write_run_table(table: str, rows: list[dict], names: dict, *, benchmarks: list[str], ood_tasks: list[str],
                    ref_dir: str | os.PathLike, out_tex: str, out_csv: str, mode: str = "tiny",
                    selection: str | None = None) -> Table:
    """Rule table: R/tables/tableN.tex and its long form R/tables/tableN.csv."""
    selected = read_chosen(selection) if selection else None
    built = build_run_table(table, rows, names, benchmarks=benchmarks, ood_tasks=ood_tasks, ref_dir=ref_dir,
                            mode=mode, selected=selected)
    write_text(out_tex, render_latex(built))
    write_text(out_csv, table_frame(built).to_csv(index=False))
    log.info("%s: %d rows, %d columns", table, len(built.rows), len(built.columns))
    return built
