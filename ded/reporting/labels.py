"""Row labels and roles of this run's tables, from the names in the config (display_name, paper_analog, label).

`names` is the part of the config that labels read: `experiments`, `teachers`, `students` and `selection`
(ded.reporting.plan.label_names). A row's *role* is its place in the paper's table, as written in
config/reference/*.csv's `role` column: the comparison with the paper pairs rows by it.
"""

from __future__ import annotations

from ded.reporting.layout import STAGE_LABELS


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
