"""Provenance records: one JSON record per job output, under `<results_dir>/provenance/files/<output path>.json`.

Snakemake keeps per-output metadata only in `.snakemake/` and without checksums, commits, package versions, model
revisions or Slurm job ids. Each job writes here, after its outputs exist, everything an auditor needs to trace an
output back to its seeds, models and code (ded.audit reads it). A record carries a hash of its own canonical JSON,
so a truncated or hand-edited record is detected.

Script rules record through `ded.runtime.snakemake_job`; shell rules end with `python -m ded.provenance record ...`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA = "ded.provenance/1"
PACKAGES = ("torch", "transformers", "vllm", "llamafactory", "math-verify", "rapidfuzz", "snakemake",
            "datasets", "tokenizers", "scikit-learn", "pandas", "lm-eval")
RECORD_DIR = "provenance/files"
# Names skipped when hashing a folder: they change without changing its content (Snakemake stamps directory
# outputs with .snakemake_timestamp after the job has written its record).
_SKIP_NAMES = {".ded-hash.json", "__pycache__", ".snakemake_timestamp"}


# ---------------------------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------------------------
# Large files (model weights) are hashed once per (path, size, mtime): a cache entry per file under this folder.
HASH_CACHE_MIN_BYTES = 64 << 20
_hash_cache_dir: Path | None = None


def set_hash_cache(folder: str | os.PathLike | None) -> None:
    global _hash_cache_dir
    _hash_cache_dir = Path(folder) if folder else None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    stat = path.stat()
    cache = None
    if _hash_cache_dir is not None and stat.st_size >= HASH_CACHE_MIN_BYTES:
        key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()
        cache = _hash_cache_dir / f"{key}.json"
        try:
            hit = json.loads(cache.read_text())
            if hit["size"] == stat.st_size and hit["mtime_ns"] == stat.st_mtime_ns:
                return hit["sha256"]
        except (OSError, ValueError, KeyError):
            pass
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    if cache is not None:
        from ded.io import write_json

        write_json(cache, {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()})
    return digest.hexdigest()


def hash_path(path: str | os.PathLike) -> dict:
    """{path, kind, sha256, size} of a file, or of a folder (hash over its sorted relative names and file hashes)."""
    p = Path(path)
    if p.is_file():
        return {"path": str(path), "kind": "file", "sha256": sha256_file(p), "size": p.stat().st_size}
    if p.is_dir():
        digest = hashlib.sha256()
        size = 0
        for sub in sorted(q for q in p.rglob("*") if q.is_file() and not (set(q.relative_to(p).parts) & _SKIP_NAMES)):
            rel = sub.relative_to(p).as_posix()
            digest.update(rel.encode() + b"\0" + sha256_file(sub).encode() + b"\n")
            size += sub.stat().st_size
        return {"path": str(path), "kind": "dir", "sha256": digest.hexdigest(), "size": size}
    return {"path": str(path), "kind": "missing", "sha256": None, "size": None}


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def seal(record: dict) -> dict:
    """Add `record_sha256`, the hash of the record's canonical JSON without it."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return {**body, "record_sha256": hashlib.sha256(canonical(body).encode()).hexdigest()}


def is_sealed(record: dict) -> bool:
    return record.get("record_sha256") == seal(record)["record_sha256"]


# ---------------------------------------------------------------------------------------------------------------
# Environment facts
# ---------------------------------------------------------------------------------------------------------------
def git_state(cwd: str | os.PathLike = ".") -> dict:
    def run(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = run("rev-parse", "HEAD")
    # Untracked outputs (results/, figures/) are git-ignored, so they do not make the tree dirty.
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def gpu_info() -> list[dict]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [dict(zip(("name", "driver"), (s.strip() for s in line.split(",")))) for line in text.splitlines() if line]


def _walk(obj: Any, key: str | None = None) -> Iterable[tuple[str | None, Any]]:
    yield key, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, k)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v, key)


def _model_record(spec: dict) -> dict:
    """A model's id and revision; behind an HTTP endpoint also the name the server must answer with (the backend
    refuses responses from any other, ded.generation.openai_backend), since the revision there is the server's."""
    record = {"model": spec["model"], "revision": spec.get("revision")}
    endpoint = spec.get("endpoint")
    if isinstance(endpoint, dict):
        record["served_model"] = endpoint.get("served_model") or endpoint.get("model_name")
    return record


def models_and_datasets(params: Any, config: dict, wildcards: dict) -> tuple[list[dict], list[dict], dict]:
    """Model ids with revisions, dataset ids with revisions and random seeds named by a job's params and wildcards."""
    models, datasets, seeds = {}, {}, {}
    for key, value in _walk(params):
        if isinstance(value, dict) and isinstance(value.get("model"), str):
            models[value["model"]] = _model_record(value)
        if isinstance(value, dict) and isinstance(value.get("source"), str):
            ident = value.get("hub_id") or value.get("local_path") or value["source"]
            datasets[ident] = {"dataset": ident, "source": value["source"], "revision": value.get("revision"),
                               "subset": value.get("subset"), "split": value.get("split")}
        if key is not None and "seed" in key and isinstance(value, int) and not isinstance(value, bool):
            seeds[key] = value
    for value in wildcards.values():
        for section in ("teachers", "students"):
            spec = config.get(section, {}).get(value)
            if spec:
                models[spec["model"]] = _model_record(spec)
    return (sorted(models.values(), key=lambda m: m["model"]), sorted(datasets.values(), key=lambda d: d["dataset"]),
            seeds)


def _jsonable(obj: Any) -> Any:
    try:
        return json.loads(json.dumps(obj, default=str))
    except (TypeError, ValueError):
        return repr(obj)


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------
def record_path(output: str, results_dir: str = "results") -> Path:
    rel = Path(os.path.normpath(output))
    if rel.is_absolute():
        rel = Path(*rel.parts[1:])
    return Path(results_dir) / RECORD_DIR / (rel.as_posix() + ".json")


def build_record(*, rule: str, wildcards: dict, params: Any, inputs: Iterable[str], outputs: Iterable[str],
                 command: str, config: dict, started: float, ended: float) -> dict:
    wildcards = {k: str(v) for k, v in wildcards.items()}
    models, datasets, seeds = models_and_datasets(params, config, wildcards)
    record = {
        "schema": SCHEMA,
        "rule": rule,
        "wildcards": wildcards,
        "command": command,
        "params": _jsonable(params),
        "inputs": [hash_path(p) for p in dict.fromkeys(inputs)],
        "outputs": [hash_path(p) for p in dict.fromkeys(outputs)],
        "config_sha256": hashlib.sha256(canonical(config).encode()).hexdigest(),
        "git": git_state(),
        "packages": package_versions(),
        "models": models,
        "datasets": datasets,
        "seeds": seeds,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "gpus": gpu_info(),
        "started": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(),
        "ended": dt.datetime.fromtimestamp(ended, dt.timezone.utc).isoformat(),
    }
    return seal(record)


def write_record(record: dict, results_dir: str = "results") -> list[Path]:
    from ded.io import write_json

    paths = []
    for out in record["outputs"]:
        path = record_path(out["path"], results_dir)
        write_json(path, record)
        paths.append(path)
    return paths


def _script_name() -> str:
    """The repository script a `script:` job runs (Snakemake runs a copy named .snakemake/scripts/tmpXXXX.<name>)."""
    main = sys.modules.get("__main__")
    name = Path(getattr(main, "__file__", "") or "").name
    if name.startswith("tmp") and "." in name:
        name = name.split(".", 1)[1]
    return f"scripts/{name}" if name else "?"


def _named_values(namedlist) -> dict:
    """Params of a Snakemake job as a plain dict (named ones; positional ones under their index)."""
    names = dict(namedlist.items())
    if names:
        return names
    return {str(i): v for i, v in enumerate(namedlist)}


def record_job(smk, *, started: float, ended: float) -> list[Path]:
    """Write the record of a finished `script:` job (the `snakemake` object of the script)."""
    set_hash_cache(Path(smk.config.get("results_dir", "results")) / "provenance" / "hashcache")
    script = _script_name()
    command = f"script {script}"
    if Path(script).is_file():
        command += f" (sha256 {sha256_file(Path(script))})"
    record = build_record(
        rule=smk.rule, wildcards=dict(smk.wildcards.items()), params=_named_values(smk.params),
        inputs=[str(p) for p in smk.input], outputs=[str(p) for p in smk.output], command=command,
        config=smk.config, started=started, ended=ended,
    )
    return write_record(record, smk.config.get("results_dir", "results"))


def main(argv: list[str] | None = None) -> int:
    """`python -m ded.provenance record` for shell rules."""
    ap = argparse.ArgumentParser(prog="python -m ded.provenance")
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record", help="write the provenance record of a shell job")
    rec.add_argument("--rule", required=True)
    rec.add_argument("--wildcards", default="{}", help="JSON object")
    rec.add_argument("--params", default="{}", help="JSON")
    rec.add_argument("--config", default=None, help="a JSON or YAML file of the config used")
    rec.add_argument("--command", required=True)
    rec.add_argument("--started", type=float, required=True, help="start time (seconds since the epoch)")
    rec.add_argument("--results-dir", default="results")
    rec.add_argument("--input", nargs="*", default=[])
    rec.add_argument("--output", nargs="+", required=True)
    args = ap.parse_args(argv)
    config = {}
    if args.config:
        import yaml

        config = yaml.safe_load(Path(args.config).read_text()) or {}
    record = build_record(rule=args.rule, wildcards=json.loads(args.wildcards), params=json.loads(args.params),
                          inputs=args.input, outputs=args.output, command=args.command, config=config,
                          started=args.started, ended=dt.datetime.now().timestamp())
    write_record(record, args.results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
