"""``lc-klue benchmark``: reports written, the table printed, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from tests.kit import run_cli_fresh


def test_lexical_benchmark_writes_its_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["benchmark", str(NEWS_QA), "--configs", "bm25,fusion-lex", "--questions", "20"]
    sizes = ["--tune-questions", "20", "--k", "8", "--top-n", "5", "--latency-queries", "0"]
    out = ["--output-dir", str(tmp_path), "--name", "lex", "--no-progress"]
    assert main([*args, *sizes, *out]) == 0
    printed = capsys.readouterr().out
    assert "| BM25-Kiwi" in printed and "lex.json" in printed
    result = json.loads((tmp_path / "lex.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in result["rows"]] == ["bm25", "fusion-lex"]
    assert (tmp_path / "lex.md").exists() and (tmp_path / "lex.png").exists()


def test_existing_reports_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "lex.md").write_text("committed results", encoding="utf-8")
    args = ["benchmark", str(NEWS_QA), "--configs", "bm25", "--questions", "5", "--k", "8"]
    out = ["--top-n", "5", "--latency-queries", "0", "--output-dir", str(tmp_path), "--name", "lex"]
    assert main([*args, *out, "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue benchmark: error: {tmp_path / 'lex.md'}: already exists (a finished "
        "benchmark report); pass --overwrite to replace it\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["lex.md"]
    assert main([*args, *out, "--no-progress", "--overwrite"]) == 0
    assert (tmp_path / "lex.md").read_text(encoding="utf-8").startswith("Data: ")


def test_a_mistyped_model_path_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    argv = ["benchmark", str(NEWS_QA), "--cross-encoder", "models/nope"]
    rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue benchmark: error: models/nope: cross-encoder not found\n",
        [],
    )


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["benchmark", str(NEWS_QA), "--configs", "nope", "--output-dir", str(tmp_path)]
    assert main([*argv, "--no-progress"]) == 2
    assert "unknown configuration" in capsys.readouterr().err
    assert main(["benchmark", str(NEWS_QA), "--k", "0"]) == 2
    assert "argument --k: must be a positive integer" in capsys.readouterr().err
