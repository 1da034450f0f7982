"""CrossEncoderReranker: order, top_n, scores, batching across queries, fusion."""

from __future__ import annotations

import numpy as np
import pytest

from lc_klue.errors import RetrievalError
from lc_klue.retrieval import CrossEncoderReranker


@pytest.fixture(scope="module")
def candidates(news_store, news_qa):
    queries = list(news_qa["question"][:4])
    return queries, news_store.as_retriever(k=12).batch(queries)


def test_order_top_n_and_scores(cross_encoder, candidates) -> None:
    queries, cands = candidates
    reranker = CrossEncoderReranker(model=cross_encoder, top_n=5)
    kept = reranker.compress_documents(cands[0], queries[0])
    assert len(kept) == 5
    direct = cross_encoder.predict([(queries[0], d.page_content) for d in cands[0]])
    expected = [cands[0][i].id for i in np.lexsort((np.arange(12), -direct))[:5]]
    assert [d.id for d in kept] == expected
    scores = [d.metadata["relevance_score"] for d in kept]
    assert scores == sorted(scores, reverse=True)
    assert scores == pytest.approx(sorted(direct, reverse=True)[:5], abs=1e-5)
    assert all({"context_id", "title"} <= set(d.metadata) for d in kept)
    assert "relevance_score" not in cands[0][0].metadata  # inputs are not modified
    assert len(reranker.compress_documents(cands[0][:3], queries[0])) == 3


def test_batch_across_queries_equals_per_query(cross_encoder, candidates) -> None:
    queries, cands = candidates
    reranker = CrossEncoderReranker(model=cross_encoder, top_n=4, batch_size=5)
    batched = reranker.compress_documents_batch(cands, queries)
    single = [reranker.compress_documents(c, q) for c, q in zip(cands, queries, strict=True)]
    assert [[d.id for d in r] for r in batched] == [[d.id for d in r] for r in single]


def test_rrf_fusion_weights(cross_encoder, candidates) -> None:
    queries, cands = candidates
    first_stage_only = CrossEncoderReranker(
        model=cross_encoder, top_n=6, fusion="rrf", fusion_weight=0.0
    )
    assert [d.id for d in first_stage_only.compress_documents(cands[1], queries[1])] == [
        d.id for d in cands[1][:6]
    ]
    ce_only = CrossEncoderReranker(model=cross_encoder, top_n=6, fusion="rrf", fusion_weight=1.0)
    plain = CrossEncoderReranker(model=cross_encoder, top_n=6)
    assert [d.id for d in ce_only.compress_documents(cands[1], queries[1])] == [
        d.id for d in plain.compress_documents(cands[1], queries[1])
    ]


async def test_async_and_path_loading(tiny_models, candidates) -> None:
    queries, cands = candidates
    reranker = CrossEncoderReranker(
        model=str(tiny_models.cross_encoder_dir()), top_n=3, device="cpu"
    )
    kept = await reranker.acompress_documents(cands[2], queries[2])
    assert [d.id for d in kept] == [d.id for d in reranker.compress_documents(cands[2], queries[2])]


def test_bad_input(cross_encoder, candidates) -> None:
    _, cands = candidates
    with pytest.raises(RetrievalError, match="query is empty"):
        CrossEncoderReranker(model=cross_encoder).compress_documents(cands[0], " ")
    with pytest.raises(ValueError, match="top_n"):
        CrossEncoderReranker(model=cross_encoder, top_n=0)
