"""``lc-klue index``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from tests.kit import run_cli_fresh


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


def test_an_existing_index_is_replaced_only_with_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "idx"
    argv = ["index", str(NEWS_QA), str(out), "--kinds", "bm25"]
    assert main(argv) == 0
    stamp = (out / "manifest.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"lc-klue index: error: {out}: already exists (a finished index directory); "
        "pass --overwrite to replace it\n"
    )
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    assert main([*argv, "--overwrite"]) == 0


def test_a_mistyped_embedding_model_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    argv = ["index", str(NEWS_QA), "idx", "--embedding-model", "models/nope"]
    rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue index: error: models/nope: embedding model not found\n",
        [],
    )
