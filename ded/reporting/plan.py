"""Which files a table or figure of this run reads, decided once from the config (rules call these for `input:` and
`params:`; jobs read exactly the files the plan names, never a path composed from a results folder).

A table's plan is its rows in order, each with the evaluated run, the replicate summaries it averages, its OOD
results and its corpus stats. Labels are left to the job (ded.reporting.labels): a row of the `selected` teacher is
named only once the selection checkpoint has chosen.
"""

from __future__ import annotations

from ded import config as dedcfg
from ded.reporting.layout import TABLE_BENCHMARKS, TABLES_WITH_BASE, TABLES_WITH_NUM


def summary_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/summary.csv"


def samples_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/samples.csv"


def ood_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/ood.csv"


def ood_samples_path(results_dir: str, model: str) -> str:
    return f"{results_dir}/eval/{model}/ood_samples.csv"


def stats_path(results_dir: str, experiment: str) -> str:
    return f"{results_dir}/corpus/experiments/{experiment}.stats.json"


def table_experiments(config: dict, table: str) -> list[str]:
    """Experiments whose `feeds` name a table or figure, in config order."""
    return [name for name, exp in config["experiments"].items() if table in (exp.get("feeds") or [])]


def needs_selection(config: dict, tables) -> bool:
    """Whether some row of these tables has teacher 'selected' that only the selection checkpoint resolves."""
    if (config.get("selection") or {}).get("teacher"):
        return False
    return any(config["experiments"][name]["teacher"] == dedcfg.SELECTED
               for table in tables for name in table_experiments(config, table))


def label_names(config: dict, experiments: list[str]) -> dict:
    """The names a job labels rows with (ded.reporting.labels): these experiments, every teacher and student."""
    return {"experiments": {n: config["experiments"][n] for n in experiments},
            "teachers": config["teachers"], "students": config["students"],
            "selection": {"teacher": (config.get("selection") or {}).get("teacher")}}


def table_rows(config: dict, table: str, results_dir: str) -> list[dict]:
    """The rows of this run's table: base rows first where the paper has them, then the experiments that feed it.

    Each row: `model` (the run), `experiment` (None for a base row), `student`, `benchmarks` read, `summaries` (one
    per replicate), `ood` (Table 6, one per replicate), `stats` (corpus stats, or None)."""
    names = table_experiments(config, table)
    wanted = [b for b in TABLE_BENCHMARKS[table] if b in config["benchmarks"]]
    runs: list[tuple[str, str | None, str, list[str]]] = []
    if table in TABLES_WITH_BASE:
        for student in dict.fromkeys(config["experiments"][n]["student"] for n in names):
            # a base student is evaluated on the benchmarks of its experiments (rules/common.smk base_benchmarks)
            used = {b for n in config["experiments"] if config["experiments"][n]["student"] == student
                    for b in dedcfg.experiment_benchmarks(config, n)}
            runs.append((dedcfg.base_model_name(student), None, student, [b for b in wanted if b in used]))
    for name in names:
        runs.append((name, name, config["experiments"][name]["student"],
                     [b for b in wanted if b in dedcfg.experiment_benchmarks(config, name)]))
    rows = []
    for model, experiment, student, benches in runs:
        reps = dedcfg.replicate_names(config, model)
        rows.append({
            "model": model, "experiment": experiment, "student": student, "benchmarks": benches,
            "summaries": [summary_path(results_dir, m) for m in reps] if benches else [],
            "ood": [ood_path(results_dir, m) for m in reps] if table == "table6" else [],
            "stats": stats_path(results_dir, experiment)
            if experiment is not None and (table in TABLES_WITH_NUM or table in ("table7", "figure1")) else None,
        })
    return rows


def row_files(rows: list[dict]) -> dict[str, list[str]]:
    """The input files of a plan's rows, by kind (the rule's `input:`)."""
    return {"summaries": [p for r in rows for p in r["summaries"]], "ood": [p for r in rows for p in r["ood"]],
            "stats": [r["stats"] for r in rows if r["stats"]]}


def figure1_rows(config: dict, results_dir: str) -> list[dict]:
    """Figure 1's points: each figure1 experiment's corpus stats and AIME summaries (every replicate)."""
    return table_rows(config, "figure1", results_dir)
