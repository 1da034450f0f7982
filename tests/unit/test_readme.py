"""The README's layout table matches the tree: every path it names exists, and every module of
``lc_klue`` and ``training`` is named in it."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _layout_rows() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_path_in_the_layout_exists() -> None:
    for row in _layout_rows():
        folder = None
        for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
            assert (REPO / name).exists(), name
            folder = name if name.endswith("/") else folder
        for module in re.findall(r"`(\w+\.py)`", row.split("|")[2]):
            assert folder and (REPO / folder / module).exists(), (folder, module)


def test_every_module_is_in_the_layout() -> None:
    named = " ".join(_layout_rows())
    for package in ("lc_klue", "training"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name == "__init__.py" or path.name.startswith("_"):
                continue
            if path.parent.name in ("commands", "resources"):
                continue  # named as folders: one module per subcommand, bundled data
            assert path.name in named, path.relative_to(REPO)
