"""The layout shows the architecture: every module imports only its own layer or lower ones, and
the read side (query, compare, claims, render, api, reference listings) never imports the write
side (ingest, reference seed). Read from the source (ast), so no module is imported to check it."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Lowest first; a module belongs to the first layer one of whose prefixes it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("app.paths", "app.config", "app.periods", "app.vocabulary", "app.errors")),
    ("storage", ("app.db", "app.models", "app.ops.logs", "app.ops.migrate", "app.ops.outage_log",
                 "app.ops.roles", "app.ops.readiness")),
    ("registry", ("app.datasets",)),
    ("write", ("app.ingest", "app.reference.seed")),
    ("query", ("app.query",)),
    ("compose", ("app.compare",)),
    ("claims", ("app.claims",)),
    ("render", ("app.render", "app.reference.listings")),
    ("api", ("app.api", "app.main")),
    ("commands", ("app.ops.cli",)),
]
READ_SIDE = ("app.query", "app.compare", "app.claims", "app.render", "app.api", "app.main",
             "app.reference.listings")
WRITE_SIDE = ("app.ingest", "app.reference.seed")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    for index, (_name, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def imports(path: Path, module: str) -> set[str]:
    """Every app module this file imports (absolute or relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            if base == "app" or base.startswith("app."):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}"))
    return found


def _is_module(name: str) -> bool:
    path = APP.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def modules() -> list[tuple[Path, str]]:
    return [(p, module_name(p)) for p in sorted(APP.rglob("*.py"))]


PACKAGES_ONLY = ("app", "app.ops", "app.reference")  # a docstring and nothing else


def test_every_module_has_a_layer() -> None:
    assert [m for _p, m in modules() if layer_of(m) is None and m not in PACKAGES_ONLY] == []
    for package in PACKAGES_ONLY:
        init = APP.parent / package.replace(".", "/") / "__init__.py"
        assert imports(init, package) == set(), package


def test_nothing_imports_a_higher_layer() -> None:
    upward = []
    for path, module in modules():
        mine = layer_of(module)
        if mine is None:
            continue
        for target in imports(path, module):
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert upward == []


def test_the_read_side_never_imports_the_write_side() -> None:
    crossing = []
    for path, module in modules():
        if not module.startswith(READ_SIDE):
            continue
        for target in imports(path, module):
            if target.startswith(WRITE_SIDE):
                crossing.append(f"{module} imports {target}")
    assert crossing == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The scanner finds imports in both spellings (so the tests above cannot pass vacuously)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from app.api.deps import Context\nimport app.ingest.load\n"
                      "from app.ingest import snapshot\n")
    found = imports(sample, "app.query.sample")
    assert {"app.api.deps", "app.ingest.load", "app.ingest", "app.ingest.snapshot"} <= found
