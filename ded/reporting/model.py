"""The table model shared by this run's tables and the paper's: `Column`s and `Row`s whose cells are `Decimal`s.

This run's numbers are quantised (accuracy in percent with two decimals, lengths in whole tokens), the paper's are
parsed from the printed text of config/reference/*.csv, so that "10", "89.8" and "65.63" keep the precision the paper
printed them with and every derived number (the change against the base) comes out as the paper printed it
(46.88 - 10 = 36.88, 90.8 - 89.8 = 1.0). With replicates, a cell holds the mean over them and `Row.spread` the
standard deviation across them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ded.io import DataError

MISSING = "--"
ACC_Q, LEN_Q = Decimal("0.01"), Decimal(1)


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
    spread: dict[str, Decimal] = field(default_factory=dict)   # sd across replicates (none with one replicate)
    replicates: int = 1


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
