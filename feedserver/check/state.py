"""The ids of the last run, kept in a small JSON file, so that an item whose id
changed between two runs (readers would show the article again) is seen."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# feed URL -> {item link -> item id}
Ids = dict[str, dict[str, str]]


def load_ids(path: Path) -> Ids:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # unreadable: start afresh rather than fail the check
    ids = data.get("ids") if isinstance(data, dict) else None
    return ids if isinstance(ids, dict) else {}


def save_ids(path: Path, ids: Ids) -> None:
    """Write atomically: a check stopped half way leaves the last good file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"ids": ids}, out, ensure_ascii=False, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
