"""``lc-klue benchmark``: reports written, the table printed, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA


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


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", str(NEWS_QA), "--configs", "nope", "--no-progress"]) == 2
    assert "unknown configuration" in capsys.readouterr().err
    assert main(["benchmark", str(NEWS_QA), "--k", "0"]) == 2
    assert "argument --k: must be a positive integer" in capsys.readouterr().err
