"""``lc-klue index --store qdrant`` and the commands that load such an index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval.qdrant_store import close, connect

QUESTION = "해상 풍력 단지 조성에 들어가는 총 사업비는 얼마인가?"


def test_index_chat_and_evaluate_on_qdrant(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "q-idx"
    model = str(tiny_models.bi_encoder_dir())
    assert main(["index", str(NEWS_QA), str(out), "-m", model, "--store", "qdrant"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["store"]["kind"] == "qdrant" and summary["passages"] == 32
    assert main(["chat", str(out), "-q", QUESTION, "--json", "--top-n", "3"]) == 0
    answered = json.loads(capsys.readouterr().out)
    assert len(answered["sources"]) == 3 and "1조 2천억 원" in answered["answer"]
    report = tmp_path / "eval.json"
    args = ["evaluate", str(NEWS_QA), "--index", str(out), "--retriever", "bm25"]
    assert main([*args, "--latency-queries", "0", "--output", str(report), "--no-progress"]) == 0
    assert json.loads(report.read_text())["result"]["metrics"]["hit@10"] > 0.9
    close(connect(out / "qdrant"))


def test_bad_stores_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["index", str(NEWS_QA), str(tmp_path / "x"), "--kinds", "bm25"]
    assert main([*base, "--store", "qdrant:http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach Qdrant at http://127.0.0.1:9" in err
    assert main([*base, "--store", "pinecone"]) == 2
    assert "unknown store 'pinecone'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
