"""The shape of the code: floors that only import downwards, and the size limits a newcomer can
hold in their head (files ≤ 450 lines, functions ≤ 60 lines and ≤ 8 parameters; argparse
``register`` tables aside). The README's Architecture section describes the same floors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Lowest first. A module may import from its own floor and the floors below it.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("lc_klue.errors", "lc_klue._lazy"),
    ("lc_klue.text", "lc_klue.storage"),
    ("lc_klue.e5",),
    ("lc_klue.runtime",),
    ("lc_klue.data",),
    ("lc_klue.models",),
    ("lc_klue.ranking",),
    ("lc_klue.resources", "lc_klue.retrieval"),
    ("lc_klue.evaluation",),
    ("training",),
    ("lc_klue.chain",),
    ("lc_klue.bench",),
    ("lc_klue.demo",),
    ("lc_klue.commands", "lc_klue.cli", "lc_klue"),
)
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 8


def _floor(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, floor)
    for n, names in enumerate(FLOORS):
        for name in names:
            inside = module == name or module.startswith(name + ".")
            if inside and (best is None or len(name) > best[0]):
                best = (len(name), n)
    return None if best is None else best[1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted([*(REPO / "lc_klue").rglob("*.py"), *(REPO / "training").rglob("*.py")])


def _imports(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out += [(node.lineno, f"{name}.{a.name}") for a in node.names]
    return out


def test_no_module_imports_from_a_floor_above_it() -> None:
    upward = []
    for path in _sources():
        own = _floor(_module(path))
        assert own is not None, f"{path.relative_to(REPO)} is on no floor: add it to FLOORS"
        for line, name in _imports(path, ast.parse(path.read_text(encoding="utf-8"))):
            target = _floor(name)
            if target is not None and target > own:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not upward, "\n".join(upward)


def test_no_library_file_is_too_long() -> None:
    long: dict[str, int] = {}
    for path in _sources():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_FILE_LINES:
            long[str(path.relative_to(REPO))] = n
    assert not long, long


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    n = len(names) + (a.vararg is not None) + (a.kwarg is not None)
    return n - (1 if names and names[0].arg in ("self", "cls") else 0)


@pytest.mark.parametrize("limit", ["lines", "parameters"])
def test_functions_stay_small(limit: str) -> None:
    over = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.parent.name == "commands" and node.name in ("register", "_common"):
                continue  # argparse registration tables
            size = (
                node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if limit == "lines"
                else _parameters(node)
            )
            if size > (MAX_FUNCTION_LINES if limit == "lines" else MAX_PARAMETERS):
                over.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({size})")
    assert not over, "\n".join(over)
