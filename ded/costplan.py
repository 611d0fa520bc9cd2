"""`ded cost-plan`: the GPU-hours a config costs on the Slurm profile, from the workflow's own DAG.

    ded cost-plan [--configfile config/paper.yaml] [--profile slurm] [--json] [--remaining]

The DAG is built through Snakemake's API with the profile applied exactly as `snakemake --profile` applies it
(the profile is parsed by Snakemake's own command-line parser), so each job carries the resources its sbatch call
would get: the GPU count the rule declares, the profile's gpu_model, gres, nodes and runtime. Per GPU rule the plan
lists the jobs, GPUs per job, wall time per job (the profile's runtime: a limit, hence an upper bound) and
GPU-hours = jobs x GPUs x hours.

Teacher selection is a checkpoint: until it has run, the jobs behind it (the experiments whose teacher is
`selected`) are not in the DAG. The plan then adds them as if each candidate teacher had been chosen and keeps the
most expensive choice (or the one named by --assume-teacher), and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

SELECTION_CHECKPOINT = "select_teacher"
# The DAG is built through Snakemake's private API (the public one runs or prints a DAG but does not return its
# jobs); what it calls was read in this release, the one requirements.txt pins.
SNAKEMAKE_CHECKED = "9.27.1"
PRIVATE_WORKFLOW_METHODS = {"_prepare_dag": ("forceall", "ignore_incomplete", "lock_warn_only", "nolock"),
                            "_build_dag": ()}
PRIVATE_WORKFLOW_ATTRIBUTES = ("_localrules",)
PRIVATE_DAG_METHODS = ("needrun_jobs",)


class SnakemakeAPIError(RuntimeError):
    """The installed Snakemake lacks a private API the cost plan uses; the message names it and the release that
    has it."""


@dataclass(frozen=True)
class JobCost:
    """One job of the DAG as the Slurm executor would submit it."""

    rule: str
    output: tuple[str, ...]
    gpus: int
    gpu_model: str | None
    nodes: int
    runtime_min: int | None
    local: bool = False

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.rule, self.output)


@dataclass
class RuleCost:
    rule: str
    jobs: int
    gpus_per_job: int
    gpu_model: str | None
    nodes_per_job: int
    hours_per_job: float
    gpu_hours: float


@dataclass
class Plan:
    configfile: str | None
    profile: str
    rules: list[RuleCost]
    total_gpu_hours: float
    total_gpu_jobs: int
    cpu_jobs: int
    local_jobs: int
    assumed_teacher: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------------------
# Resources of one job -> GPUs
# ---------------------------------------------------------------------------------------------------------------
_GRES_GPU = re.compile(r"^gpu(?::(?P<type>[A-Za-z_][A-Za-z0-9_.]*))?(?::(?P<count>\d+))?$")


def _as_int(value: Any, name: str, rule: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"rule {rule}: resource {name}={value!r} is not a whole number")


def job_gpus(resources: dict[str, Any], rule: str) -> tuple[int, str | None, int]:
    """(GPUs of the whole job, GPU model, nodes) as snakemake-executor-plugin-slurm 2.8.0 requests them.

    `gres: gpu[:type]:N` is per node; `gpu`/`gpus` with `gpu_model` become `--gpus=model:N`, N for the whole job.
    A gpu_model without a count is `--gpus=model:1` in the plugin, and counted so here.
    """
    nodes = max(1, _as_int(resources.get("nodes"), "nodes", rule))
    gres = resources.get("gres")
    gpus, model = 0, None
    if gres:
        for part in str(gres).split(","):
            m = _GRES_GPU.match(part.strip())
            if m:
                gpus += int(m.group("count") or 1) * nodes
                model = m.group("type") or model
    model = resources.get("gpu_model") or model
    count = resources.get("gpu", resources.get("gpus"))
    if count is not None:
        gpus += _as_int(count, "gpu", rule)
    elif resources.get("gpu_model") and not gres:
        gpus += 1
    return gpus, (str(model) if model else None), nodes


# ---------------------------------------------------------------------------------------------------------------
# The DAG through Snakemake's API, with the profile applied by Snakemake's own argument parser
# ---------------------------------------------------------------------------------------------------------------
def _api_error(missing: list[str]) -> SnakemakeAPIError:
    import snakemake

    return SnakemakeAPIError(
        f"ded cost-plan builds the DAG through Snakemake's private API, written against snakemake "
        f"{SNAKEMAKE_CHECKED}; the installed snakemake {snakemake.__version__} has no {', '.join(missing)} "
        f"(install snakemake=={SNAKEMAKE_CHECKED} as requirements.txt pins it, or update ded/costplan.py)")


def private_workflow(dag_api) -> Any:
    """The Workflow object behind a DAGApi, checked for the private methods and attributes the plan uses."""
    import inspect

    workflow = getattr(getattr(dag_api, "workflow_api", None), "_workflow", None)
    if workflow is None:
        raise _api_error(["DAGApi.workflow_api._workflow"])
    missing = [f"Workflow.{name}" for name in PRIVATE_WORKFLOW_ATTRIBUTES if not hasattr(workflow, name)]
    for name, arguments in PRIVATE_WORKFLOW_METHODS.items():
        method = getattr(workflow, name, None)
        if not callable(method):
            missing.append(f"Workflow.{name}()")
            continue
        accepted = inspect.signature(method).parameters
        missing += [f"Workflow.{name}({arg}=...)" for arg in arguments if arg not in accepted]
    if missing:
        raise _api_error(missing)
    return workflow


def checked_dag(workflow) -> Any:
    """The DAG the workflow built, checked for the private methods the plan calls on it."""
    dag = getattr(workflow, "dag", None)
    missing = [f"DAG.{name}()" for name in PRIVATE_DAG_METHODS if not callable(getattr(dag, name, None))]
    if dag is None or missing:
        raise _api_error(missing or ["Workflow.dag"])
    return dag


def snakemake_args(configfile: str | None, profile: str, snakefile: str, config: list[str] | None) -> list[str]:
    argv = ["--snakefile", snakefile, "--profile", profile, "--dry-run"]
    if configfile:
        argv += ["--configfile", configfile]
    if config:
        argv += ["--config", *config]
    return argv


def dag_jobs(argv: list[str], *, remaining: bool = False) -> tuple[list[JobCost], dict[str, Any]]:
    """The jobs of the DAG that `snakemake ARGV` would build (all of them, or with remaining only those to run),
    and the workflow's config."""
    from snakemake.api import SnakemakeApi
    from snakemake.cli import parse_args, parse_config
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        DeploymentSettings,
        OutputSettings,
        ResourceSettings,
    )

    with contextlib.redirect_stderr(io.StringIO()):  # "Using profile ..." notices
        _parser, args = parse_args(argv)
    output_settings = OutputSettings(dryrun=True, quiet={Quietness.ALL})
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), SnakemakeApi(output_settings) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(
                cores=1,
                nodes=args.jobs,
                resources=args.resources,
                overwrite_threads=args.set_threads,
                overwrite_scatter=args.set_scatter,
                overwrite_resource_scopes=args.set_resource_scopes,
                overwrite_resources=args.set_resources,
                default_resources=args.default_resources,
            ),
            config_settings=ConfigSettings(
                config=parse_config(args.config),
                configfiles=args.configfile,
                config_args=args.config,
            ),
            # resources do not depend on how software is deployed; no conda needed to plan
            deployment_settings=DeploymentSettings(),
            snakefile=args.snakefile,
        )
        dag_api = workflow_api.dag(DAGSettings(forceall=not remaining))
        workflow = private_workflow(dag_api)
        workflow._prepare_dag(forceall=not remaining, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        dag = checked_dag(workflow)
        jobs = dag.needrun_jobs() if remaining else dag.jobs
        out = []
        for job in jobs:
            resources = dict(job.resources.items())
            rule = job.rule.name
            gpus, model, nodes = job_gpus(resources, rule)
            runtime = resources.get("runtime")
            out.append(JobCost(
                rule=rule,
                output=tuple(sorted(str(f) for f in job.output)),
                gpus=gpus,
                gpu_model=model,
                nodes=nodes,
                runtime_min=_as_int(runtime, "runtime", rule) if runtime is not None else None,
                # job.is_local is True for every job here (no executor yet): ask as the Slurm executor would
                local=job.rule.group is None and (rule in workflow._localrules or job.rule.norun),
            ))
        config = json.loads(json.dumps(dict(workflow.config), default=str))
    return out, config


def selection_candidates(config: dict[str, Any]) -> list[str]:
    """Teachers a pending selection can choose from (none when the config names the teacher)."""
    if (config.get("selection") or {}).get("teacher"):
        return []
    return list(config.get("teachers") or [])


# ---------------------------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------------------------
def summarize(jobs: Iterable[JobCost], *, configfile: str | None, profile: str) -> Plan:
    groups: dict[tuple[str, int, str | None, int, int | None], int] = {}
    cpu_jobs = local_jobs = 0
    notes = []
    missing_runtime = set()
    for job in jobs:
        if job.local:
            local_jobs += 1
            continue
        if job.gpus <= 0:
            cpu_jobs += 1
            continue
        if job.runtime_min is None:
            missing_runtime.add(job.rule)
        key = (job.rule, job.gpus, job.gpu_model, job.nodes, job.runtime_min)
        groups[key] = groups.get(key, 0) + 1
    rules = []
    for (rule, gpus, model, nodes, runtime), n in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        hours = (runtime or 0) / 60
        rules.append(RuleCost(rule=rule, jobs=n, gpus_per_job=gpus, gpu_model=model, nodes_per_job=nodes,
                              hours_per_job=round(hours, 4), gpu_hours=round(n * gpus * hours, 2)))
    if missing_runtime:
        notes.append("no runtime for rule(s) " + ", ".join(sorted(missing_runtime)) + ": counted as 0 h")
    return Plan(
        configfile=configfile,
        profile=profile,
        rules=rules,
        total_gpu_hours=round(sum(r.gpu_hours for r in rules), 2),
        total_gpu_jobs=sum(r.jobs for r in rules),
        cpu_jobs=cpu_jobs,
        local_jobs=local_jobs,
        notes=notes,
    )


def merge_jobs(*job_lists: Iterable[JobCost]) -> list[JobCost]:
    seen: dict[tuple[str, tuple[str, ...]], JobCost] = {}
    for jobs in job_lists:
        for job in jobs:
            seen.setdefault(job.key, job)
    return list(seen.values())


def gpu_hours(jobs: Iterable[JobCost]) -> float:
    return sum(j.gpus * (j.runtime_min or 0) / 60 for j in jobs if not j.local)


def plan(configfile: str | None = None, profile: str = "slurm", *, snakefile: str = "Snakefile",
         config: list[str] | None = None, remaining: bool = False, assume_teacher: str | None = None) -> Plan:
    argv = snakemake_args(configfile, profile, snakefile, config)
    jobs, workflow_config = dag_jobs(argv, remaining=remaining)
    assumed = None
    notes = []
    pending = any(j.rule == SELECTION_CHECKPOINT for j in jobs)
    candidates = selection_candidates(workflow_config) if pending else []
    if candidates:
        if assume_teacher is not None and assume_teacher not in candidates:
            raise ValueError(f"--assume-teacher {assume_teacher!r}: not a teacher of the config "
                             f"({', '.join(candidates)})")
        options = [assume_teacher] if assume_teacher else candidates
        best: tuple[float, str, list[JobCost]] | None = None
        for teacher in options:
            more, _ = dag_jobs(snakemake_args(configfile, profile, snakefile,
                                           list(config or []) + [f"selection={{'teacher': '{teacher}'}}"]),
                            remaining=remaining)
            merged = merge_jobs(jobs, [j for j in more if not j.rule.startswith(SELECTION_CHECKPOINT)])
            cost = gpu_hours(merged)
            if best is None or cost > best[0]:
                best = (cost, teacher, merged)
        assert best is not None
        _, assumed, jobs = best
        how = "named by --assume-teacher" if assume_teacher else "the most expensive of " + ", ".join(candidates)
        notes.append(f"teacher selection has not run: the jobs behind it are counted as if it chose {assumed} "
                     f"({how})")
    result = summarize(jobs, configfile=configfile, profile=profile)
    result.assumed_teacher = assumed
    result.notes = notes + result.notes
    return result


def format_table(p: Plan) -> str:
    head = ["rule", "jobs", "GPUs/job", "GPU", "nodes/job", "hours/job", "GPU-hours"]
    rows = [[r.rule, str(r.jobs), str(r.gpus_per_job), r.gpu_model or "-", str(r.nodes_per_job),
             f"{r.hours_per_job:g}", f"{r.gpu_hours:,.1f}"] for r in p.rules]
    rows.append(["total", str(p.total_gpu_jobs), "", "", "", "", f"{p.total_gpu_hours:,.1f}"])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 or i == 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"GPU cost plan: config {p.configfile or '(embedded default)'}, profile {p.profile}", line(head),
           line(["-" * w for w in widths])]
    out += [line(r) for r in rows[:-1]]
    out += [line(["-" * w for w in widths]), line(rows[-1])]
    out.append(f"({p.cpu_jobs} CPU jobs and {p.local_jobs} local jobs not counted; hours are the profile's runtime "
               f"limits, an upper bound)")
    out += [f"note: {n}" for n in p.notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ded cost-plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", default=None, help="config to plan (default: the Snakefile's embedded one)")
    parser.add_argument("--profile", default="slurm", help="Snakemake profile (default: slurm)")
    parser.add_argument("--snakefile", default="Snakefile")
    parser.add_argument("--config", nargs="*", default=None, metavar="KEY=VALUE",
                        help="config overrides, as snakemake --config")
    parser.add_argument("--assume-teacher", default=None,
                        help="while teacher selection has not run, plan as if it chose this teacher")
    parser.add_argument("--remaining", action="store_true", help="only the jobs that still have to run")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    try:
        p = plan(args.configfile, args.profile, snakefile=args.snakefile, config=args.config,
                 remaining=args.remaining, assume_teacher=args.assume_teacher)
    except Exception as err:  # Snakemake's errors (bad config, missing profile) as one line, no traceback
        print(f"ded cost-plan: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(p.to_dict(), indent=2) if args.json else format_table(p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
