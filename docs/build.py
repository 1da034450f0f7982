"""Build the API reference: HTML from the docstrings of lc-klue's public packages (pdoc), in
``docs/api/`` (git-ignored). Fails (exit 1) on any warning pdoc gives and on any docstring
reference (``:func:`name```, ``:class:``…) that names nothing importable, so a renamed or
deleted name cannot linger in the docs. The harness (commands, cli, demo, bench) is no public
API and is left out. Run: ``python docs/build.py [OUTPUT_DIR]`` (CI runs it after the tests)."""

from __future__ import annotations

import ast
import builtins
import importlib
import pkgutil
import re
import shutil
import sys
import warnings
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api"
#: The documented modules; a package's ``__all__`` says which of its names appear.
PUBLIC = [
    "lc_klue",
    "lc_klue.errors",
    "lc_klue.data",
    "lc_klue.models",
    "lc_klue.retrieval",
    "lc_klue.chain",
    "lc_klue.evaluation",
    "lc_klue.text",
    "lc_klue.runtime",
    "lc_klue.ranking",
    "lc_klue.storage",
    "lc_klue.e5",
]
#: Not public API: not documented, their references not checked.
HARNESS = (
    "lc_klue.commands",
    "lc_klue.cli",
    "lc_klue.demo",
    "lc_klue.bench",
    # the benchmark's modules until they move to lc_klue.bench
    "lc_klue.evaluation.benchmark",
    "lc_klue.evaluation.scale",
    "lc_klue.evaluation.agreement",
)
ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`([^`]+)`")


def build(out: Path) -> list[str]:
    """Write the HTML into ``out``; pdoc's warnings, as lines."""
    import pdoc

    pdoc.render.configure(docformat="google", show_source=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*PUBLIC, output_directory=out)
    return [f"pdoc: {w.message}" for w in caught if _from_pdoc(w)]


def _from_pdoc(w: warnings.WarningMessage) -> bool:
    """A warning of pdoc's own (not a library's deprecation notice raised on import)."""
    return "pdoc" in Path(w.filename).parts or not issubclass(
        w.category, DeprecationWarning | FutureWarning
    )


def modules() -> list[str]:
    """Every module of the public packages (their private submodules too)."""
    import lc_klue

    names = ["lc_klue"]
    for info in pkgutil.walk_packages(lc_klue.__path__, "lc_klue."):
        if not info.name.startswith(HARNESS) and ".resources" not in info.name:
            names.append(info.name)
    return names


def docstrings(tree: ast.Module) -> list[tuple[str, str | None]]:
    """``(docstring, enclosing class name)`` for the module, its classes, functions and
    attribute docstrings (a string right after an assignment)."""
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, cls: str | None) -> None:
        """Collect the docstrings directly in ``node``'s body, then in its classes and
        functions."""
        body = getattr(node, "body", [])
        for prev, stmt in zip([None, *body], body, strict=False):
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
                and (prev is None or isinstance(prev, ast.Assign | ast.AnnAssign))
            ):
                found.append((stmt.value.value, cls))
            if isinstance(stmt, ast.ClassDef):
                visit(stmt, stmt.name)
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(stmt, cls)

    visit(tree, None)
    return found


def instance_attributes(tree: ast.Module) -> dict[str, set[str]]:
    """Per class of the module, the names its methods assign on ``self``."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = out.setdefault(node.name, set())
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.ctx, ast.Store)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == "self"
                ):
                    names.add(sub.attr)
    return out


def resolves(
    target: str, module: Any, cls: str | None, extra: AbstractSet[str] = frozenset()
) -> bool:
    """Whether a reference names an object: in the module (or its class, whose instance
    attributes ``extra`` count too), or by import."""
    name = re.sub(r"\s+", "", target).lstrip("~!").removesuffix("()")
    parts = name.split(".")
    scopes = [vars(module), vars(builtins)]
    if cls and cls in vars(module):
        scopes.insert(0, dict.fromkeys(_members(vars(module)[cls]) | extra))
    for scope in scopes:
        if parts[0] in scope:
            obj = scope[parts[0]]
            return obj is None or _walk(obj, parts[1:])
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        return _walk(obj, parts[i:])
    return False


def _members(cls: type) -> set[str]:
    """A class's attributes, annotated names and pydantic fields (along its MRO)."""
    names = set(dir(cls)) | set(getattr(cls, "model_fields", {}))
    for base in getattr(cls, "__mro__", ()):
        names |= set(getattr(base, "__annotations__", {}))
    return names


def _walk(obj: Any, rest: list[str]) -> bool:
    """Whether ``obj.a.b…`` names something (a field without a class value counts)."""
    for i, part in enumerate(rest):
        if isinstance(obj, type) and part in _members(obj) and not hasattr(obj, part):
            return i == len(rest) - 1
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def broken_references() -> list[str]:
    """Every docstring reference of the public packages that names nothing."""
    problems = []
    for name in modules():
        module = importlib.import_module(name)
        source = Path(module.__file__ or "")
        tree = ast.parse(source.read_text(encoding="utf-8"))
        attributes = instance_attributes(tree)
        for text, cls in docstrings(tree):
            for target in ROLE.findall(text):
                if not resolves(target, module, cls, attributes.get(cls or "", set())):
                    problems.append(f"{source.relative_to(ROOT)}: unresolved reference {target!r}")
    return problems


def main(argv: list[str]) -> int:
    """Build, then report every problem; 1 when there is any."""
    sys.path.insert(0, str(ROOT))
    out = Path(argv[0]).resolve() if argv else OUT
    shutil.rmtree(out, ignore_errors=True)
    problems = build(out) + broken_references()
    for line in problems:
        print(line, file=sys.stderr)
    pages = len(list(out.rglob("*.html")))
    print(f"docs: {pages} pages in {out}; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
