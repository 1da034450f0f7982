"""The example scripts that write results: a finished output is never silently replaced."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from lc_klue.resources import NEWS_QA

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """The example script ``examples/NAME.py`` as a module (its ``main`` not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_qdrant_agreement_refuses_an_existing_output_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_example("qdrant_agreement")
    out = tmp_path / "agreement.json"
    out.write_text('{"committed": true}', encoding="utf-8")

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr(example, "load_mrc", never)
    argv = [str(NEWS_QA), "--embedding-model", "hash", "--output", str(out)]
    with pytest.raises(SystemExit) as exited:
        example.main(argv)
    assert exited.value.code == 2
    said = f"error: {out}: already exists (a finished result file); pass --overwrite to replace it"
    assert capsys.readouterr().err.splitlines()[-1].endswith(said)
    assert out.read_text(encoding="utf-8") == '{"committed": true}'
    # with --overwrite the run goes ahead (stopped here at its first step)
    with pytest.raises(AssertionError, match="the run started"):
        example.main([*argv, "--overwrite"])
