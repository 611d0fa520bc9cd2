"""File I/O shared by every stage: JSONL with precise errors, CSV with named columns, atomic writes.

Every stage writes its outputs atomically (a temporary file in the same folder, then a rename), so that an
interrupted job never leaves a half-written file that Snakemake or a resuming job would take for complete.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Bad input data: the message names the file, the line or key, and what was expected."""


def _tmp_path(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc


def dumps_row(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows atomically; return how many were written."""
    n = 0
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(dumps_row(row) + "\n")
                n += 1
    return n


def iter_numbered_jsonl(path: str | os.PathLike, required: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row) of a JSONL file, failing with file:line on bad UTF-8, bad JSON or a missing field.

    Blank lines are skipped (their numbers too); the line number lets callers name the line in later checks.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            missing = [key for key in required if key not in row]
            if missing:
                raise DataError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
            yield lineno, row


def iter_jsonl(path: str | os.PathLike, required: Sequence[str] = ()) -> Iterator[dict]:
    """Yield the rows of a JSONL file, failing with file:line on bad UTF-8, bad JSON or a missing field."""
    for _, row in iter_numbered_jsonl(path, required):
        yield row


def check_unique(seen: dict, key: Any, lineno: int, where: str, what: str) -> None:
    """Note in `seen` (key -> line number) the line `key` first stands on.

    When it comes again, fail with `{where}: duplicate {what} (first on line N)`.
    """
    if key in seen:
        raise DataError(f"{where}: duplicate {what} (first on line {seen[key]})")
    seen[key] = lineno


def read_jsonl(path: str | os.PathLike, required: Sequence[str] = ()) -> list[dict]:
    return list(iter_jsonl(path, required))


def write_csv(path: str | os.PathLike, rows: Iterable[dict], columns: Sequence[str]) -> int:
    """Write rows with exactly these columns (None as an empty cell; a row's other keys are left out), atomically;
    return the number of rows."""
    n = 0
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
                n += 1
    return n


def read_csv(path: str | os.PathLike, columns: Sequence[str] = (), what: str = "CSV file") -> list[dict]:
    """Rows as dicts of strings; fails naming the file when it is missing or lacks one of `columns`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} is missing")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
        return list(reader)


class JsonlAppender:
    """Append rows to a JSONL file durably, for work that resumes (sampling shards).

    Each row is flushed and fsynced as one line; on reopen, a trailing partial line (a crash mid-write) is cut off,
    so resuming never sees a broken row and never loses a complete one.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        truncate_partial_line(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")

    def append(self, row: dict) -> None:
        self._fh.write(dumps_row(row) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def truncate_partial_line(path: Path) -> None:
    """Cut a trailing line that has no newline (an interrupted write)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as fh:
        fh.truncate(keep)
