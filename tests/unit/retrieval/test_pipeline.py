"""Composition: first stage → rerank (ContextualCompressionRetriever), index build/load, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever

from lc_klue.cli import main
from lc_klue.errors import RetrievalError
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval import (
    CrossEncoderReranker,
    HybridRetriever,
    KiwiBM25Retriever,
    KlueFAISSRetriever,
    RerankingRetriever,
    build_first_stage,
    build_index,
    build_retriever,
    load_retriever,
)


@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_reranking_retriever_defaults(kind, news_store, news_bm25, cross_encoder, news_qa):
    first = build_first_stage(kind, dense=news_store, bm25=news_bm25)
    retriever = build_retriever(first, cross_encoder)
    assert isinstance(retriever, RerankingRetriever)
    assert isinstance(retriever, ContextualCompressionRetriever)
    assert retriever.base_compressor.top_n == 10
    query = news_qa[0]["question"]
    candidates = retriever.base_retriever.invoke(query)
    assert len(candidates) == 30  # first stage: 30 candidates
    docs = retriever.invoke(query)
    assert len(docs) == 10
    expected = CrossEncoderReranker(model=cross_encoder, top_n=10).compress_documents(
        candidates, query
    )
    assert [d.id for d in docs] == [d.id for d in expected]
    scores = [d.metadata["relevance_score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_configurable_k_and_top_n(news_store, cross_encoder, news_qa) -> None:
    retriever = build_retriever(news_store, cross_encoder, k=12, top_n=3)
    assert retriever.base_retriever.search_kwargs["k"] == 12
    assert len(retriever.invoke(news_qa[1]["question"])) == 3
    plain = build_retriever(news_store, None, top_n=4)
    assert isinstance(plain, KlueFAISSRetriever) and len(plain.invoke("서울")) == 4
    with pytest.raises(RetrievalError, match="top_n=40 is larger"):
        build_retriever(news_store, cross_encoder, k=30, top_n=40)
    with pytest.raises(RetrievalError, match="unknown first stage"):
        build_first_stage("sparse", dense=news_store)


def test_batch_reranks_all_queries_together(
    news_store, news_bm25, cross_encoder, news_qa, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = build_retriever(
        build_first_stage("hybrid", dense=news_store, bm25=news_bm25, k=15), cross_encoder, 15, 5
    )
    queries = list(news_qa["question"][:6])
    single = [retriever.invoke(q) for q in queries]
    calls = {"batch": 0, "first": 0}
    orig_batch = CrossEncoderReranker.compress_documents_batch
    orig_first = HybridRetriever.batch

    def counting_batch(self, docs, qs):
        calls["batch"] += 1
        return orig_batch(self, docs, qs)

    def counting_first(self, inputs, config=None, **kw):
        calls["first"] += 1
        return orig_first(self, inputs, config, **kw)

    monkeypatch.setattr(CrossEncoderReranker, "compress_documents_batch", counting_batch)
    monkeypatch.setattr(HybridRetriever, "batch", counting_first)
    batched = retriever.batch(queries)
    assert calls == {"batch": 1, "first": 1}
    assert [[d.id for d in r] for r in batched] == [[d.id for d in r] for r in single]


async def test_async_reranking(news_store, cross_encoder, news_qa) -> None:
    retriever = build_retriever(news_store, cross_encoder, k=10, top_n=4)
    q = news_qa[2]["question"]
    assert [d.id for d in await retriever.ainvoke(q)] == [d.id for d in retriever.invoke(q)]


def test_build_and_load_index(news_qa, tiny_models, cross_encoder, tmp_path: Path) -> None:
    model_dir = tiny_models.bi_encoder_dir()
    manifest = build_index(news_qa, tmp_path / "idx", model_dir, index_type="hnsw")
    assert manifest["passages"] == 32 and manifest["kinds"] == ["dense", "bm25"]
    assert manifest["dense"]["embedding_model"] == str(Path(model_dir).resolve())
    hybrid = load_retriever(tmp_path / "idx", k=20, top_n=5, reranker=cross_encoder)
    assert isinstance(hybrid.base_retriever, HybridRetriever)
    assert len(hybrid.invoke(news_qa[0]["question"])) == 5
    bm25 = load_retriever(tmp_path / "idx", "bm25", k=8, top_n=8)
    assert isinstance(bm25, KiwiBM25Retriever) and len(bm25.invoke("풍력")) == 8
    build_index(news_qa, tmp_path / "lex", kinds=["bm25"])
    with pytest.raises(RetrievalError, match="no dense index"):
        load_retriever(tmp_path / "lex", "dense")
    with pytest.raises(RetrievalError, match="index directory not found"):
        load_retriever(tmp_path / "missing")
    with pytest.raises(RetrievalError, match="needs an embedding model"):
        build_index(news_qa, tmp_path / "bad", kinds=["dense"])
    assert not (tmp_path / "bad").exists()  # atomic: nothing half-written


def test_cli_index(tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
