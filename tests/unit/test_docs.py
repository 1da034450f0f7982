"""The API reference builds from the docstrings with no pdoc warning and no docstring
reference to a name that does not exist (``docs/build.py``, also run by CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_api_reference_builds_without_problems(tmp_path: Path) -> None:
    pytest.importorskip("pdoc", reason="pdoc (the dev extra) is not installed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), str(tmp_path / "api")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "0 problems" in run.stdout
    pages = {p.relative_to(tmp_path / "api").as_posix() for p in (tmp_path / "api").rglob("*.html")}
    assert {"lc_klue.html", "lc_klue/retrieval.html", "lc_klue/chain.html"} <= pages
    assert not any(p.startswith(("lc_klue/commands", "lc_klue/bench")) for p in pages)
