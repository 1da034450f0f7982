"""``lc-klue index --store qdrant`` and the commands that load such an index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.data import context_id, load_mrc
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval import open_index
from lc_klue.retrieval.qdrant_store import close, connect
from lc_klue.retrieval.sparse import SparseBM25Retriever

QUESTION = "해상 풍력 단지 조성에 들어가는 총 사업비는 얼마인가?"


def test_qdrant_index_saves_and_serves_the_pipeline_of_the_default_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = {}
    for store in ("faiss", "qdrant"):
        out = tmp_path / store
        argv = ["index", str(NEWS_QA), str(out), "-m", "none", "--store", store]
        assert main([*argv, "--no-progress"]) == 0
        report = tmp_path / f"{store}.json"
        argv = ["evaluate", str(NEWS_QA), "--index", str(out), "--questions", "0"]
        assert main([*argv, "--output", str(report), "--latency-queries", "0"]) == 0
        metrics[store] = json.loads(report.read_text())["result"]["metrics"]
    capsys.readouterr()
    faiss, qdrant = tmp_path / "faiss", tmp_path / "qdrant"
    assert (qdrant / "pipeline.json").read_text() == (faiss / "pipeline.json").read_text()
    assert sorted(p.name for p in qdrant.iterdir()) == [
        "lexical.json",
        "manifest.json",
        "passages.jsonl",
        "pipeline.json",
        "qdrant",
    ]
    manifest = json.loads((qdrant / "manifest.json").read_text())
    assert manifest["bm25"] == {"tokenizer": "kiwi", "k1": 0.9, "b": 0.4, "analysis": "context"}
    assert (manifest["store"]["sparse"]["k1"], manifest["store"]["sparse"]["b"]) == (0.9, 0.4)
    assert metrics["qdrant"] == metrics["faiss"]  # hit@1 0.969 on the 96 bundled questions

    questions = list(load_mrc(str(NEWS_QA))["question"])[::8]
    ranked = {}
    for out in (faiss, qdrant):
        retriever = open_index(out)
        ranked[out.name] = [[context_id(d) for d in docs] for docs in retriever.batch(questions)]
    first = retriever.first_stage  # the Qdrant index's: BM25 inside the collection
    assert isinstance(first, SparseBM25Retriever) and first.store.sparse.k1 == 0.9
    assert ranked["qdrant"] == ranked["faiss"]
    close(connect(qdrant / "qdrant"))


def test_qdrant_index_checks_models_and_tunes_like_the_default_store(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog
) -> None:
    out = tmp_path / "q-tuned"
    argv = ["index", str(NEWS_QA), str(out), "--store", "qdrant", "--no-progress"]
    argv += ["-m", str(tiny_models.kiwi_static()), "--tune-data", str(NEWS_QA)]
    argv += ["--cross-encoder", str(tiny_models.cross_encoder_dir())]
    assert main(argv) == 0
    pipeline = json.loads(capsys.readouterr().out)["pipeline"]
    (stage,) = pipeline["spec"]["stages"]  # the bi-encoder joined, the reranker near chance
    assert stage["embedding_model"] == str(tiny_models.kiwi_static().resolve())
    assert "dense" in stage["weights"] and pipeline["fitted_on"]["questions"] == 96
    assert any("near chance: left out" in r.getMessage() for r in caplog.records)
    assert main(["chat", str(out), "-q", QUESTION, "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["title"].startswith("부산시")
    close(connect(out / "qdrant"))


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
    args = ["evaluate", str(NEWS_QA), "--index", str(out), "--first-stage", "bm25"]
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
