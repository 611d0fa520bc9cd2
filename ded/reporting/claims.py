"""The paper's claims, each checked on this run with a paired 95% interval (R/tables/claims.{csv,tex}).

A claim (config `claims.rows`) compares two arms on the same items: two evaluated models on the same benchmark
problems with the same number of samples (`measure: accuracy`, effect in points of pass@1, the mean over the
claim's benchmarks), on the same OOD items (`measure: ood`), or two teachers' first-response corpora on the same
questions (`measure: entropy`, the student's mean token entropy, nats). An arm is

    {base: <student>}          the untrained student
    {experiment: <name>}       an experiment's SFT run
    {first_of: <teacher>}      the run that distils a teacher's first responses of selection.domain (teacher
                               selection's run for it), or with `domain: code` the experiment on its first code
                               responses (ded.config.first_runs); <teacher> may be `selected` (the chosen one),
                               `best_own` (the teacher whose own score on selection.benchmarks is the highest) or
                               `{teacher}` in a row with `each_teacher`
    {corpus_of: <teacher>}     (entropy) a teacher's first-response corpus; `selected`, `{teacher}` as above

`each_teacher: all` repeats a row for every teacher, `others` for every teacher but the selected one. The effect is
a - b; its interval is ded.stats.paired_bootstrap over items (and replicates, with `replicates: N`), and the verdict
ded.stats.verdict of the row's `kind` (greater, not_worse or equivalent, with `claims.margin` points). The paper's
own effect comes from config/reference: the rows `paper.a` and `paper.b` (by role) of `paper.table`, the mean over
`paper.columns` of their difference; `{analog}` is the arm's teacher's paper_analog.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np

from ded.io import DataError, write_text
from ded.reporting import readers
from ded.reporting.latex import latex_escape
from ded.reporting.model import to_decimal
from ded.stats import paired_bootstrap, verdict

log = logging.getLogger("ded.reporting.claims")

COLUMNS = ["id", "claim", "source", "kind", "measure", "a", "b", "benchmarks", "paper_a", "paper_b", "paper_effect",
           "effect", "ci_low", "ci_high", "items", "replicates", "verdict", "note"]
TEACHER_PLACEHOLDER = "{teacher}"
ANALOG_PLACEHOLDER = "{analog}"
# figure3_entropy_stats.csv has no role column: its rows are named by teacher
REFERENCE_KEYS = {"figure3": ("figure3_entropy_stats.csv", "teacher")}


# -------------------------------------------------------------------------------------------------------------------
# Planning (rules/tables.smk): which files the claims read
# -------------------------------------------------------------------------------------------------------------------
def expand_rows(claims: dict, teachers: list[str]) -> list[dict]:
    """Rows with `each_teacher: all` repeated per teacher ({teacher} filled in); `others` rows stay for the job,
    which alone knows the selected teacher."""
    out = []
    for row in claims.get("rows", []):
        if row.get("each_teacher") == "all":
            out += [_fill_teacher(row, t) for t in teachers]
        else:
            out.append(dict(row))
    return out


def _fill_teacher(row: dict, teacher: str) -> dict:
    filled = json.loads(json.dumps(row).replace(TEACHER_PLACEHOLDER, teacher))
    filled["id"] = f"{row['id']} {teacher}"
    filled["teacher"] = teacher
    filled.pop("each_teacher", None)
    return filled


def first_domain(arm: dict, first_runs: dict[str, dict[str, str]]) -> dict[str, str]:
    """teacher -> first-response run of the arm's domain (the selection domain unless it names one)."""
    domain = arm.get("domain") or next(iter(first_runs))
    if domain not in first_runs:
        raise DataError(f"claims: no first-response runs of domain {domain!r} (have: {', '.join(first_runs)})")
    return first_runs[domain]


def arm_runs(arm: dict, teachers: list[str], first_runs: dict[str, dict[str, str]]) -> list[str]:
    """Every run an arm may stand for (the job picks one once the selected or best-own teacher is known)."""
    from ded.config import base_model_name

    if "base" in arm:
        return [base_model_name(arm["base"])]
    if "experiment" in arm:
        return [arm["experiment"]]
    if "first_of" in arm:
        runs, t = first_domain(arm, first_runs), arm["first_of"]
        return [runs[t]] if t in runs else [runs[x] for x in teachers if x in runs]
    if "corpus_of" in arm:
        return []
    raise DataError(f"claims: an arm must name base, experiment, first_of or corpus_of, got {arm}")


def claim_first_runs(config: dict) -> dict[str, dict[str, str]]:
    """domain -> teacher -> first-response run, for the selection domain (first) and every domain an arm names."""
    domains = [(config.get("selection") or {}).get("domain", "math")]
    domains += [arm["domain"] for row in (config.get("claims") or {}).get("rows", []) for arm in (row["a"], row["b"])
                if arm.get("domain")]
    from ded.config import first_runs

    return {d: first_runs(config, d) for d in dict.fromkeys(domains)}


def claim_inputs(config: dict, results_dir: str, first_runs: dict[str, dict[str, str]]) -> dict:
    """The claims rule's files: replicate samples (or OOD items) of every run an arm may stand for, the teachers'
    own summaries, experiments' corpus stats, the entropy of each response and the selection result."""
    from ded import config as dedcfg
    from ded.reporting import plan

    teachers = list(config["teachers"])
    rows = expand_rows(config.get("claims") or {}, teachers)
    samples, ood, stats, entropy, own = {}, {}, {}, False, False
    for row in rows:
        measure = row.get("measure", "accuracy")
        for arm in (row["a"], row["b"]):
            if measure == "entropy":
                entropy = True
                continue
            if arm.get("first_of") == "best_own":
                own = True
            for run in arm_runs(arm, teachers, first_runs):
                reps = dedcfg.replicate_names(config, run)
                if measure == "ood":
                    ood[run] = [plan.ood_samples_path(results_dir, m) for m in reps]
                else:
                    samples[run] = [plan.samples_path(results_dir, m) for m in reps]
                parsed = dedcfg.parse_model_name(config, run)
                if parsed.kind == "experiment":
                    stats[run] = plan.stats_path(results_dir, run)
    return {
        "samples": samples, "ood": ood, "stats": stats,
        "teacher_summaries": {t: plan.summary_path(results_dir, dedcfg.teacher_model_name(t)) for t in teachers}
        if own else {},
        "entropy": f"{results_dir}/analysis/entropy_responses.csv" if entropy else None,
        "chosen": f"{results_dir}/selection/chosen.json" if not (config.get("selection") or {}).get("teacher")
        else None,
    }


def reference_files(config: dict) -> list[str]:
    """The config/reference files the claims' paper sides read."""
    from ded.reporting.layout import REFERENCE_FILES

    names = {**REFERENCE_FILES, **{k: v[0] for k, v in REFERENCE_KEYS.items()}}
    tables = [row["paper"]["table"] for row in (config.get("claims") or {}).get("rows", []) if row.get("paper")]
    return [names[t] for t in dict.fromkeys(tables) if t in names]


# -------------------------------------------------------------------------------------------------------------------
# The job
# -------------------------------------------------------------------------------------------------------------------
class Context:
    """What resolving arms needs: the teachers (order, paper analogs), the selection runs, the chosen and the
    best-own teacher, and the files of the plan."""

    def __init__(self, *, teachers: dict, first_runs: dict[str, dict[str, str]], files: dict, selected: str | None,
                 selection_benchmarks: list[str]):
        self.teachers, self.first_runs, self.files = teachers, first_runs, files
        self.selected = selected
        self.selection_benchmarks = selection_benchmarks
        self._best_own = None

    def teacher(self, name: str) -> str:
        if name == "selected":
            if self.selected is None:
                raise DataError("claims: an arm names the selected teacher, but there is no selection result")
            return self.selected
        if name == "best_own":
            return self.best_own()
        if name not in self.teachers:
            raise DataError(f"claims: unknown teacher {name!r} (have: {', '.join(self.teachers)})")
        return name

    def best_own(self) -> str:
        """The teacher with the highest own mean pass@1 on the selection benchmarks (ties: config order)."""
        if self._best_own is None:
            scores = {}
            for t in self.teachers:
                path = self.files["teacher_summaries"].get(t)
                if not path:
                    raise DataError(f"claims: no own evaluation of teacher {t} (teacher_{t}) in the plan")
                per = [readers.read_summary(path, b)["all"]["pass1"] for b in self.selection_benchmarks]
                scores[t] = sum(per) / len(per)
            self._best_own = max(self.teachers, key=lambda t: (round(scores[t], 9), -list(self.teachers).index(t)))
        return self._best_own

    def analog(self, teacher: str) -> str:
        spec = self.teachers.get(teacher) or {}
        return spec.get("paper_analog") or spec.get("display_name") or teacher

    def display(self, teacher: str) -> str:
        return (self.teachers.get(teacher) or {}).get("display_name") or teacher


def resolve_arm(arm: dict, ctx: Context) -> tuple[str, str | None]:
    """(run or corpus teacher, the arm's teacher if it has one)."""
    from ded.config import base_model_name

    if "base" in arm:
        return base_model_name(arm["base"]), None
    if "experiment" in arm:
        return arm["experiment"], None
    if "first_of" in arm:
        teacher = ctx.teacher(arm["first_of"])
        runs = first_domain(arm, ctx.first_runs)
        if teacher not in runs:
            raise DataError(f"claims: no experiment distils the first {arm.get('domain')} responses of {teacher}")
        return runs[teacher], teacher
    teacher = ctx.teacher(arm["corpus_of"])
    return teacher, teacher


def arm_label(arm: dict, run: str, teacher: str | None, ctx: Context) -> str:
    if "first_of" in arm:
        return f"{run} ({ctx.display(teacher)}{', selected' if arm['first_of'] == 'selected' else ''}" \
               f"{', best own score' if arm['first_of'] == 'best_own' else ''})"
    if "corpus_of" in arm:
        return f"corpus of {ctx.display(teacher)}"
    return run


def _matrix(per_replicate: list[dict[str, float]], items: list[str]) -> np.ndarray:
    return np.array([[rep[i] for i in items] for rep in per_replicate], dtype=float)


def accuracy_strata(row: dict, run_a: str, run_b: str, files: dict) -> tuple[list, list, list[str]]:
    """Per benchmark: replicates x problems of each arm, problems in one order; both arms on the same problems
    with the same number of samples (else an error naming both files)."""
    a_files, b_files = files["samples"][run_a], files["samples"][run_b]
    a_reps = [readers.problem_scores(p) for p in a_files]
    b_reps = [readers.problem_scores(p) for p in b_files]
    counts_a, counts_b = readers.sample_counts(a_files[0]), readers.sample_counts(b_files[0])
    strata_a, strata_b = [], []
    for bench in row["benchmarks"]:
        for reps, paths in ((a_reps, a_files), (b_reps, b_files)):
            for rep, path in zip(reps, paths):
                if bench not in rep:
                    raise DataError(f"{path}: no samples of benchmark {bench!r} (claim {row['id']})")
        items = sorted(a_reps[0][bench])
        for reps, paths in ((a_reps, a_files), (b_reps, b_files)):
            for rep, path in zip(reps, paths):
                if sorted(rep[bench]) != items:
                    raise DataError(f"claim {row['id']}: {path} and {a_files[0]} are not scored on the same "
                                    f"{bench} problems: a paired comparison needs the same problems")
        if counts_a[bench] != counts_b[bench]:
            raise DataError(f"claim {row['id']}: {a_files[0]} and {b_files[0]} have different numbers of samples "
                            f"per {bench} problem: a paired comparison needs the same")
        strata_a.append(_matrix([r[bench] for r in a_reps], items))
        strata_b.append(_matrix([r[bench] for r in b_reps], items))
    return strata_a, strata_b, list(row["benchmarks"])


def ood_strata(row: dict, run_a: str, run_b: str, files: dict) -> tuple[list, list, list[str]]:
    tasks, metrics = list(row["benchmarks"]), row.get("metrics")
    a_reps = [readers.ood_item_scores(p, tasks, metrics) for p in files["ood"][run_a]]
    b_reps = [readers.ood_item_scores(p, tasks, metrics) for p in files["ood"][run_b]]
    strata_a, strata_b = [], []
    for task in tasks:
        items = sorted(a_reps[0][task])
        if any(sorted(r[task]) != items for r in a_reps + b_reps):
            raise DataError(f"claim {row['id']}: {files['ood'][run_a][0]} and {files['ood'][run_b][0]} are not "
                            f"scored on the same {task} items")
        strata_a.append(_matrix([r[task] for r in a_reps], items))
        strata_b.append(_matrix([r[task] for r in b_reps], items))
    return strata_a, strata_b, tasks


def entropy_strata(row: dict, teacher_a: str, teacher_b: str, files: dict) -> tuple[list, list, list[str]]:
    per = readers.response_entropies(files["entropy"])
    for t in (teacher_a, teacher_b):
        if t not in per:
            raise DataError(f"{files['entropy']}: no corpus of teacher {t!r} (claim {row['id']}; analysis.entropy."
                            "teachers must list it)")
    items = sorted(set(per[teacher_a]) & set(per[teacher_b]))
    if not items:
        raise DataError(f"claim {row['id']}: the corpora of {teacher_a} and {teacher_b} share no question")
    return [_matrix([per[teacher_a]], items)], [_matrix([per[teacher_b]], items)], ["first-response corpora"]


def paper_effect(row: dict, ref_dir: str, analogs: tuple[str, str]) -> tuple[Decimal | None, ...]:
    """(paper a, paper b, paper effect): the means over `paper.columns` of the two reference rows, and of their
    difference, as printed (Decimal); Nones when the row has no paper side."""
    import pandas as pd

    from ded.reporting.layout import REFERENCE_FILES

    spec = row.get("paper")
    if not spec:
        return None, None, None
    name, key = REFERENCE_KEYS.get(spec["table"], (REFERENCE_FILES.get(spec["table"]), "role"))
    if name is None:
        raise DataError(f"claims.rows {row['id']}: paper.table {spec['table']!r} is not a table of the paper")
    path = Path(ref_dir) / name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    values = []
    for side, analog in zip(("a", "b"), analogs):
        wanted = spec[side].replace(ANALOG_PLACEHOLDER, analog or "")
        match = frame[frame[key] == wanted]
        if len(match) != 1:
            raise DataError(f"{path}: claim {row['id']}: expected one row with {key} {wanted!r}, found {len(match)}")
        rec = match.iloc[0]
        values.append([to_decimal(rec[c], f"{path}: column {c}") for c in spec["columns"]])
    pairs = [(x, y) for x, y in zip(*values) if x is not None and y is not None]
    if not pairs:
        return None, None, None
    n = Decimal(len(pairs))
    return (sum(x for x, _ in pairs) / n, sum(y for _, y in pairs) / n, sum(x - y for x, y in pairs) / n)


def corpus_note(run_a: str, run_b: str, files: dict) -> str:
    stats = files.get("stats") or {}
    if run_a in stats and run_b in stats:
        a, b = (readers.read_stats(stats[r]) for r in (run_a, run_b))
        qa, qb = a.get("questions", "?"), b.get("questions", "?")
        return f"corpus {a['samples']} vs {b['samples']} samples, {qa} vs {qb} questions"
    return ""


def evaluate_claim(row: dict, ctx: Context, *, ref_dir: str, n_boot: int, seed: int, level: float,
                   margin: float) -> dict:
    """One claims.csv row."""
    measure = row.get("measure", "accuracy")
    (ref_a, teacher_a), (ref_b, teacher_b) = resolve_arm(row["a"], ctx), resolve_arm(row["b"], ctx)
    labels = (arm_label(row["a"], ref_a, teacher_a, ctx), arm_label(row["b"], ref_b, teacher_b, ctx))
    out = {"id": row["id"], "claim": row["claim"], "source": row.get("source", ""), "kind": row["kind"],
           "measure": measure, "a": labels[0], "b": labels[1]}
    analogs = (ctx.analog(teacher_a) if teacher_a else "", ctx.analog(teacher_b) if teacher_b else "")
    pa, pb, pe = paper_effect(row, ref_dir, analogs)
    out.update(paper_a=_fmt(pa), paper_b=_fmt(pb), paper_effect=_fmt(pe))
    if ref_a == ref_b:
        out.update(benchmarks=" ".join(row.get("benchmarks") or []), effect="", ci_low="", ci_high="", items=0,
                   replicates="", verdict="inconclusive",
                   note=f"both arms are {ref_a}: the run cannot compare them (e.g. the selected teacher is also the "
                        "one with the best own score)")
        return out
    strata = {"accuracy": accuracy_strata, "ood": ood_strata, "entropy": entropy_strata}[measure]
    a, b, names = strata(row, ref_a, ref_b, ctx.files)
    effect = paired_bootstrap(a, b, n_boot=n_boot, seed=seed, level=level)
    scale = 1.0 if measure == "entropy" else 100.0     # accuracy in points, entropy in nats
    lo, hi, est = effect.low * scale, effect.high * scale, effect.estimate * scale
    out.update(benchmarks=" ".join(names), effect=round(est, 4), ci_low=round(lo, 4), ci_high=round(hi, 4),
               items=effect.n_items, replicates=f"{effect.replicates[0]}/{effect.replicates[1]}",
               verdict=verdict(row["kind"], lo, hi, 0.0 if measure == "entropy" else margin),
               note=corpus_note(ref_a, ref_b, ctx.files) if measure == "accuracy" else "")
    return out


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else format(value.quantize(Decimal("0.001")), "f")


def evaluate_claims(rows: list[dict], ctx: Context, *, ref_dir: str, n_boot: int, seed: int, level: float,
                    margin: float) -> list[dict]:
    out = []
    for row in rows:
        if row.get("each_teacher") == "others":
            others = [t for t in ctx.teachers if t != ctx.selected]
            if row.get("measure") == "entropy":   # only the teachers whose corpora were analysed
                analysed = readers.response_entropies(ctx.files["entropy"])
                others = [t for t in others if t in analysed]
            out += [evaluate_claim(_fill_teacher(row, t), ctx, ref_dir=ref_dir, n_boot=n_boot, seed=seed,
                                   level=level, margin=margin) for t in others]
        else:
            out.append(evaluate_claim(row, ctx, ref_dir=ref_dir, n_boot=n_boot, seed=seed, level=level,
                                      margin=margin))
    return out


KIND_TEXT = {"greater": "a > b", "not_worse": "a $\\geq$ b $-$ m", "equivalent": "$|$a $-$ b$|$ $<$ m"}


def render_claims(rows: list[dict], *, mode: str, margin: float, level: float) -> str:
    """The claims as a booktabs longtable (needs \\usepackage{booktabs,longtable})."""
    head = ["Claim", "Source", "a vs b", "Paper", "This run", f"{round(100 * level)}\\% CI", "Verdict"]
    lines = [r"\begin{longtable}{p{4.2cm}lp{4.6cm}rrrl}",
             (rf"\caption{{The paper's claims checked on this run ({mode} world): effect a $-$ b (accuracy in points "
              rf"of pass@1, mean over the benchmarks; entropy in nats), paired bootstrap interval over problems and "
              rf"replicates; m = {margin:g} points.}}\label{{tab:claims}} \\"),
             r"\toprule", " & ".join(head) + r" \\", r"\midrule", r"\endfirsthead",
             r"\toprule", " & ".join(head) + r" \\", r"\midrule", r"\endhead", r"\bottomrule", r"\endfoot"]
    for r in rows:
        ci = "" if r["ci_low"] == "" else f"[{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]"
        cells = [latex_escape(f"{r['id']}: {r['claim']}") + f" ({KIND_TEXT.get(r['kind'], latex_escape(r['kind']))})",
                 latex_escape(r["source"]), latex_escape(f"{r['a']} vs {r['b']}"),
                 _signed(r["paper_effect"]) if r["paper_effect"] != "" else "--",
                 _signed(r["effect"]) if r["effect"] != "" else "--", ci or "--", r["verdict"]]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\end{longtable}")
    return "\n".join(lines) + "\n"


def _signed(value) -> str:
    v = float(value)
    text = f"{abs(v):.2f}"
    return ("+" if v > 0 else "$-$" if v < 0 else "") + text


def write_claims(*, rows: list[dict], teachers: dict, first_runs: dict[str, dict[str, str]], files: dict,
                 selection_benchmarks: list[str], ref_dir: str, out_csv: str, out_tex: str, mode: str,
                 n_boot: int, seed: int, level: float, margin: float) -> list[dict]:
    """Rule claims: R/tables/claims.csv and claims.tex."""
    import pandas as pd

    chosen = files.get("chosen")
    from ded.selection import read_chosen

    selected = read_chosen(chosen) if chosen else files.get("selected")
    ctx = Context(teachers=teachers, first_runs=first_runs, files=files, selected=selected,
                  selection_benchmarks=selection_benchmarks)
    results = evaluate_claims(rows, ctx, ref_dir=ref_dir, n_boot=n_boot, seed=seed, level=level, margin=margin)
    write_text(out_csv, pd.DataFrame(results, columns=COLUMNS).to_csv(index=False))
    write_text(out_tex, render_claims(results, mode=mode, margin=margin, level=level))
    for r in results:
        log.info("%s: %s = %s [%s, %s] -> %s", r["id"], r["measure"], r["effect"], r["ci_low"], r["ci_high"],
                 r["verdict"])
    return results


def check_claims_config(claims: dict, config: dict) -> list[str]:
    """Problems with the claims section that the schema cannot see (names that do not exist), with key paths."""
    problems = []
    teachers, students = config.get("teachers", {}), config.get("students", {})
    special = {"selected", "best_own", TEACHER_PLACEHOLDER}
    for i, row in enumerate(claims.get("rows", [])):
        where = f"claims.rows[{i}] ({row.get('id')})"
        measure = row.get("measure", "accuracy")
        for side in ("a", "b"):
            arm = row.get(side) or {}
            if "base" in arm and arm["base"] not in students:
                problems.append(f"{where}.{side}.base: unknown student {arm['base']!r}")
            if "experiment" in arm and arm["experiment"] not in config.get("experiments", {}):
                problems.append(f"{where}.{side}.experiment: unknown experiment {arm['experiment']!r}")
            for k in ("first_of", "corpus_of"):
                if k in arm and arm[k] not in teachers and arm[k] not in special:
                    problems.append(f"{where}.{side}.{k}: unknown teacher {arm[k]!r}")
            if (measure == "entropy") != ("corpus_of" in arm):
                problems.append(f"{where}.{side}: measure {measure} needs arms "
                                f"{'corpus_of' if measure == 'entropy' else 'base, experiment or first_of'}")
        if measure == "accuracy":
            for b in row.get("benchmarks") or []:
                if b not in config.get("benchmarks", {}):
                    problems.append(f"{where}.benchmarks: unknown benchmark {b!r}")
        if measure == "ood":
            for t in row.get("benchmarks") or []:
                if t not in (config.get("ood") or {}).get("tasks", []):
                    problems.append(f"{where}.benchmarks: {t!r} is not in ood.tasks")
    return problems


def verdict_counts(rows: list[dict]) -> dict[str, int]:
    out = {v: 0 for v in ("supported", "contradicted", "inconclusive")}
    for r in rows:
        out[r["verdict"]] += 1
    return out

