"""LaTeX (booktabs) rendering of a `Table`: bold best accuracy per block, signed deltas, mean +- sd with replicates."""

from __future__ import annotations

from decimal import Decimal

from ded.reporting.model import MISSING, Column, Row, Table

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
    if value is not None and col.key in row.spread:   # several replicates: mean +- sd across them
        text += r"\,{\scriptsize$\pm$" + format_number(row.spread[col.key]) + "}"
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
