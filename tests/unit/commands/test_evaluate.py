"""``lc-klue evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA


def test_bm25_on_a_user_corpus(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            str(NEWS_QA),
            "--questions",
            "20",
            "--latency-queries",
            "3",
            "--ks",
            "1,3,10",
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "20 questions, 32 passages" in printed and "hit@3" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["result"]["metrics"]["hit@10"] >= saved["result"]["metrics"]["hit@1"] > 0.5


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus = tmp_path / "corpus.csv"
    corpus.write_text("context\n관련 없는 문단 하나\n", encoding="utf-8")
    assert main(["evaluate", str(NEWS_QA), "--corpus", str(corpus), "--no-progress"]) == 2
    assert "not in the corpus" in capsys.readouterr().err
    assert main(["evaluate", str(NEWS_QA), "--ks", "0,5", "--no-progress"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.jsonl"), "--no-progress"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_saved_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lc_klue.retrieval.index import build_index

    build_index(NEWS_QA, tmp_path / "index", kinds=("bm25",))
    out = tmp_path / "eval.json"
    args = ["evaluate", str(NEWS_QA), "--index", str(tmp_path / "index"), "--questions", "0"]
    assert main([*args, "--latency-queries", "0", "--output", str(out), "--no-progress"]) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["eval_set"]["questions"] == 96
    assert saved["result"]["metrics"]["hit@10"] > 0.9
