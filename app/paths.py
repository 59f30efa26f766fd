"""Where the migrations and seed data live: beside the package in a checkout, inside it in a wheel."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def project_dir(name: str) -> Path:
    """Return the directory `migrations` or `seed`, from a checkout or an installed wheel."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ directory beside or inside {_PACKAGE}")


@lru_cache
def seed_json(name: str) -> dict[str, Any]:
    """Read one of the seed/ reference files (parsed once per process)."""
    return json.loads((project_dir("seed") / name).read_text(encoding="utf-8"))
