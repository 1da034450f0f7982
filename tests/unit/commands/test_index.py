"""``lc-klue index``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA


def test_index_writes_dense_and_bm25(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-idx"
    rc = main(["index", str(NEWS_QA), str(out), "-m", str(tiny_models.bi_encoder_dir())])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["passages"] == 32
    assert sorted(p.name for p in out.iterdir()) == ["bm25", "dense", "manifest.json"]
    assert main(["index", str(NEWS_QA), str(tmp_path / "x")]) == 2
    assert "--embedding-model is required" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "none.json"), str(tmp_path / "y"), "--kinds", "bm25"]) == 2
    assert "file not found" in capsys.readouterr().err
