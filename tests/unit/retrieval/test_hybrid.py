"""Reciprocal-rank fusion and the hybrid first stage."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from lc_klue.errors import RetrievalError
from lc_klue.retrieval import HybridRetriever, build_first_stage, reciprocal_rank_fusion


def _docs(*ids: str) -> list[Document]:
    return [Document(page_content=f"text {i}", metadata={"context_id": i}) for i in ids]


def test_rrf_scores_and_order() -> None:
    fused = reciprocal_rank_fusion(
        [_docs("a", "b", "c"), _docs("c", "d", "a")], [1.0, 1.0], rrf_k=1
    )
    scores = {d.metadata["context_id"]: d.metadata["rrf_score"] for d in fused}
    assert scores == pytest.approx({"a": 1 / 2 + 1 / 4, "c": 1 / 4 + 1 / 2, "b": 1 / 3, "d": 1 / 3})
    # a and c tie, b and d tie: first appearance decides
    assert [d.metadata["context_id"] for d in fused] == ["a", "c", "b", "d"]
    weighted = reciprocal_rank_fusion([_docs("a", "b"), _docs("b", "a")], [1.0, 3.0], rrf_k=0, k=1)
    assert [d.metadata["context_id"] for d in weighted] == ["b"]


def test_hybrid_retriever(news_store, news_bm25, news_qa) -> None:
    hybrid = build_first_stage("hybrid", dense=news_store, bm25=news_bm25, k=7)
    assert isinstance(hybrid, HybridRetriever) and hybrid.k == 7
    queries = list(news_qa["question"][:5])
    batched = hybrid.batch(queries)
    assert [[d.id for d in r] for r in batched] == [
        [d.id for d in hybrid.invoke(q)] for q in queries
    ]
    assert all(len(r) == 7 for r in batched)
    dense = news_store.as_retriever(k=7).invoke(queries[0])
    lexical = news_bm25.model_copy(update={"k": 7}).invoke(queries[0])
    expected = reciprocal_rank_fusion([dense, lexical], [1.0, 1.0], 60, 7)
    assert [d.id for d in batched[0]] == [d.id for d in expected]


async def test_hybrid_async(news_store, news_bm25, news_qa) -> None:
    hybrid = build_first_stage("hybrid", dense=news_store, bm25=news_bm25, k=5)
    q = news_qa[3]["question"]
    assert [d.id for d in await hybrid.ainvoke(q)] == [d.id for d in hybrid.invoke(q)]


def test_hybrid_errors(news_bm25) -> None:
    with pytest.raises(RetrievalError, match="2 weights for 1 retrievers"):
        HybridRetriever(retrievers=[news_bm25], weights=[1.0, 2.0])
    with pytest.raises(RetrievalError, match="at least one"):
        HybridRetriever(retrievers=[])
    with pytest.raises(RetrievalError, match="needs both"):
        build_first_stage("hybrid", bm25=news_bm25)
