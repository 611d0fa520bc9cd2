"""`ded audit PATH`: trace an output back to its seeds, models and code, and verify every recorded hash.

For PATH and, recursively, every input in its lineage, the audit reads the provenance record (ded.provenance) and
checks: the record exists, parses and is unmodified (its own seal); the recorded output hash equals the file on disk
(else the file changed after it was recorded); every recorded input hash equals the input on disk (else the output
is stale: its input changed or was deleted); the record's commit equals the current one (a warning; an error with
--strict). Files outside the results and figures folders (config/reference tables, external model folders) are
sources: hashed and listed, never required to have a record. Exit status 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ded.provenance import SCHEMA, git_state, hash_path, is_sealed, record_path

REQUIRED_KEYS = ("schema", "rule", "wildcards", "command", "inputs", "outputs", "git", "packages", "started",
                 "ended", "record_sha256")


@dataclass
class Node:
    path: str
    rule: str | None = None
    record: str | None = None
    kind: str = "output"  # output | source
    inputs: list[str] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    commit: str | None = None
    slurm_job_id: str | None = None


@dataclass
class Finding:
    level: str  # error | warning
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.level.upper()}: {self.path}: {self.problem}"


def _norm(path: str) -> str:
    return os.path.normpath(path)


def _is_workflow_output(path: str, results_dir: str) -> bool:
    first = Path(_norm(path)).parts[0] if Path(_norm(path)).parts else ""
    return first in {Path(results_dir).parts[0], "figures"}


def load_record(path: str, results_dir: str) -> tuple[dict | None, Finding | None, Path]:
    rec_path = record_path(path, results_dir)
    if not rec_path.exists():
        return None, Finding("error", path, f"no provenance record ({rec_path} is missing)"), rec_path
    try:
        record = json.loads(rec_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problem = f"provenance record {rec_path} is unreadable, truncated or not JSON ({exc})"
        return None, Finding("error", path, problem), rec_path
    if not isinstance(record, dict):
        return None, Finding("error", path, f"provenance record {rec_path} is not a JSON object"), rec_path
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        problem = f"provenance record {rec_path} lacks {', '.join(missing)} (truncated or hand-edited)"
        return None, Finding("error", path, problem), rec_path
    if record["schema"] != SCHEMA:
        problem = f"provenance record {rec_path} has schema {record['schema']!r}, expected {SCHEMA!r}"
        return None, Finding("error", path, problem), rec_path
    if not is_sealed(record):
        problem = f"provenance record {rec_path} was edited after it was written (its record_sha256 does not match)"
        return None, Finding("error", path, problem), rec_path
    return record, None, rec_path


def audit(paths: list[str], results_dir: str = "results",
          strict: bool = False) -> tuple[dict[str, Node], list[Finding]]:
    nodes: dict[str, Node] = {}
    findings: list[Finding] = []
    head = git_state().get("commit")
    queue = [_norm(p) for p in paths]
    while queue:
        path = queue.pop(0)
        if path in nodes:
            continue
        if not _is_workflow_output(path, results_dir):
            nodes[path] = Node(path=path, kind="source")
            if not Path(path).exists():
                findings.append(Finding("error", path, "source file is missing"))
            continue
        record, problem, rec_path = load_record(path, results_dir)
        node = Node(path=path, record=str(rec_path))
        nodes[path] = node
        if problem:
            findings.append(problem)
            if not Path(path).exists():
                findings.append(Finding("error", path, "file does not exist"))
            continue
        node.rule = record["rule"]
        node.models = record.get("models", [])
        node.datasets = record.get("datasets", [])
        node.commit = record["git"].get("commit")
        node.slurm_job_id = record.get("slurm_job_id")
        mine = [o for o in record["outputs"] if _norm(o["path"]) == path]
        if not mine:
            findings.append(Finding("error", path, f"its record {rec_path} does not list it as an output"))
        for out in mine:
            now = hash_path(path)
            if now["kind"] == "missing":
                findings.append(Finding("error", path, "deleted after it was recorded"))
            elif now["sha256"] != out["sha256"]:
                findings.append(Finding("error", path, f"changed after it was recorded by rule {record['rule']} "
                                        f"(sha256 {now['sha256'][:12]} on disk, {out['sha256'][:12]} recorded)"))
        for inp in record["inputs"]:
            ipath = _norm(inp["path"])
            node.inputs.append(ipath)
            now = hash_path(ipath)
            if now["kind"] == "missing":
                findings.append(Finding("error", path, f"its input {ipath} was deleted upstream"))
            elif now["sha256"] != inp["sha256"]:
                findings.append(Finding("error", path, f"its input {ipath} changed after it was made "
                                                       f"(rerun the workflow to rebuild it)"))
            queue.append(ipath)
        if head and node.commit and node.commit != head:
            findings.append(Finding("error" if strict else "warning", path,
                                    f"recorded at commit {node.commit[:12]}, the checkout is at {head[:12]}"))
    return nodes, findings


def lineage_lines(root: str, nodes: dict[str, Node]) -> list[str]:
    lines, seen = [], set()

    def visit(path: str, depth: int) -> None:
        node = nodes.get(path)
        pad = "  " * depth
        if node is None:
            return
        label = f"[{node.rule}]" if node.rule else ("[source]" if node.kind == "source" else "[no record]")
        if path in seen:
            lines.append(f"{pad}{path} {label} (above)")
            return
        seen.add(path)
        lines.append(f"{pad}{path} {label}")
        for inp in node.inputs:
            visit(inp, depth + 1)

    visit(root, 0)
    return lines


def summary(nodes: dict[str, Node]) -> dict:
    models, datasets, commits, jobs = {}, {}, set(), set()
    for node in nodes.values():
        for m in node.models:
            models[m["model"]] = m
        for d in node.datasets:
            datasets[d["dataset"]] = d
        if node.commit:
            commits.add(node.commit)
        if node.slurm_job_id:
            jobs.add(node.slurm_job_id)
    seeds = sorted(p for p, n in nodes.items() if n.rule in {"seeds", "benchmark"})
    return {"models": sorted(models.values(), key=lambda m: m["model"]),
            "datasets": sorted(datasets.values(), key=lambda d: d["dataset"]),
            "seed_files": seeds, "commits": sorted(commits), "slurm_jobs": sorted(jobs),
            "sources": sorted(p for p, n in nodes.items() if n.kind == "source")}


def summary_text(path: str, results_dir: str = "results") -> str:
    """A plain-text provenance page for one output (the report's Provenance category)."""
    nodes, findings = audit([path], results_dir)
    info = summary(nodes)
    lines = [f"Provenance of {path}", "", "Lineage:", *lineage_lines(_norm(path), nodes), "", "Models:"]
    lines += [f"  {m['model']} @ {m.get('revision') or '(local folder, hashed in its record)'}" for m in info["models"]]
    lines += ["", "Datasets:"]
    lines += [f"  {d['dataset']} ({d['source']}) @ {d.get('revision') or '-'}" for d in info["datasets"]]
    lines += ["", "Seed files: " + (", ".join(info["seed_files"]) or "-"),
              "Commits: " + (", ".join(info["commits"]) or "-"),
              "Slurm jobs: " + (", ".join(info["slurm_jobs"]) or "-"), "", "Audit:"]
    lines += [f"  {f}" for f in findings] or ["  every recorded checksum matches the files on disk"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ded audit", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="outputs to audit (figures/..., results/...)")
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--strict", action="store_true", help="records made at another commit are errors")
    args = ap.parse_args(argv)
    nodes, findings = audit(args.paths, args.results_dir, args.strict)
    errors = [f for f in findings if f.level == "error"]
    stale = sorted({f.path for f in errors if "changed after it was recorded" in f.problem})
    if args.json:
        print(json.dumps({
            "ok": not errors,
            "findings": [f.__dict__ for f in findings],
            "lineage": {p: {"rule": n.rule, "kind": n.kind, "inputs": n.inputs, "record": n.record}
                        for p, n in nodes.items()},
            "summary": summary(nodes),
        }, indent=2))
    else:
        for root in args.paths:
            print("\n".join(lineage_lines(_norm(root), nodes)))
        info = summary(nodes)
        def pinned(name, rev):
            return name + ("@" + rev if rev else "")

        print(f"\nmodels: {', '.join(pinned(m['model'], m.get('revision')) for m in info['models']) or '-'}")
        print(f"datasets: {', '.join(pinned(d['dataset'], d.get('revision')) for d in info['datasets']) or '-'}")
        print(f"seed files: {', '.join(info['seed_files']) or '-'}")
        print(f"commits: {', '.join(c[:12] for c in info['commits']) or '-'}")
        for f in findings:
            print(f)
        if stale:
            print(f"\nto rebuild what changed by hand: snakemake --cores 2 --forcerun {' '.join(stale)}")
        print(f"\naudit: {len(nodes)} files, {len(errors)} error(s), {len(findings) - len(errors)} warning(s): "
              f"{'OK' if not errors else 'FAILED'}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
