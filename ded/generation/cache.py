"""On-disk cache of paid generations: one JSON file per request, so that a rerun never pays twice.

A folder of small files (not one database) because several sampling jobs may share the cache at once: each entry is
written atomically (temporary file + rename), and readers never see half an entry. Keys are SHA-256 digests of the
canonical JSON of everything that determines the answer (model, messages, decoding parameters, the sample's seed).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ded.io import write_json

DEFAULT_DIR = ".ded-cache/openai"
ENV_VAR = "DED_OPENAI_CACHE"


def default_cache_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def cache_key(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class JsonCache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # unreadable entry (should not happen with atomic writes): pay again rather than fail
        return entry if isinstance(entry, dict) and "response" in entry else None

    def put(self, key: str, request: dict, response: dict) -> None:
        write_json(self._path(key), {"key": key, "request": request, "response": response})

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
