"""The package's flat API and console script."""

import subprocess
import sys

import pytest

import lc_klue
from lc_klue.cli import main


def test_flat_exports_resolve() -> None:
    for name in lc_klue.__all__:
        assert getattr(lc_klue, name) is not None, name
    with pytest.raises(AttributeError):
        lc_klue.not_a_name  # noqa: B018


def test_import_is_cheap() -> None:
    code = "import sys, lc_klue; print('torch' in sys.modules, 'langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cli_lists_every_command(capsys) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("data", "train", "index", "chat", "evaluate", "benchmark", "demo"):
        assert command in text


def test_cli_error_is_one_line(capsys, tmp_path) -> None:
    assert main(["data", "mrc", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lc-klue data: error: {tmp_path / 'missing.json'}: file not found"
