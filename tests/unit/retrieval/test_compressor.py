"""CrossEncoderReranker: order, top_n, scores, batching across queries, fusion."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.documents import Document

from lc_klue.errors import RetrievalError
from lc_klue.retrieval import CrossEncoderReranker
from lc_klue.retrieval.compressor import first_stage_margin


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


def test_windowed_reranking_keeps_the_api(cross_encoder, candidates) -> None:
    queries, cands = candidates
    full = CrossEncoderReranker(model=cross_encoder, top_n=5)
    windowed = CrossEncoderReranker(model=cross_encoder, top_n=5, window=1000)
    # a window larger than every passage is the whole passage: the same ranking and scores
    a, b = (
        full.compress_documents_batch(cands, queries),
        windowed.compress_documents_batch(cands, queries),
    )
    assert [[d.id for d in r] for r in a] == [[d.id for d in r] for r in b]
    assert [d.metadata["relevance_score"] for d in a[0]] == pytest.approx(
        [d.metadata["relevance_score"] for d in b[0]]
    )
    short = CrossEncoderReranker(model=cross_encoder, top_n=5, window=12)
    kept = short.compress_documents_batch(cands, queries)
    originals = {d.id: d.page_content for c in cands for d in c}
    for row in kept:  # the Documents returned are the whole passages, scored on windows
        assert len(row) == 5 and all(d.page_content == originals[d.id] for d in row)
        assert all(isinstance(d.metadata["cross_encoder_score"], float) for d in row)
    with pytest.raises(ValueError, match="window"):
        CrossEncoderReranker(model=cross_encoder, window=0)


def test_cascade_keeps_confident_first_stage_rankings(cross_encoder, candidates) -> None:
    queries, cands = candidates
    assert all("retrieval_score" in d.metadata for d in cands[0])  # the store's cosine
    assert first_stage_margin(cands[0]) == pytest.approx(
        cands[0][0].metadata["retrieval_score"] - cands[0][1].metadata["retrieval_score"]
    )
    margins = [first_stage_margin(c) for c in cands]
    threshold = sorted(margins)[len(margins) // 2]  # about half are confident
    cascade = CrossEncoderReranker(model=cross_encoder, top_n=4, cascade_margin=threshold)
    always = CrossEncoderReranker(model=cross_encoder, top_n=4)
    out, reranked = (
        cascade.compress_documents_batch(cands, queries),
        always.compress_documents_batch(cands, queries),
    )
    for c, m, got, ce in zip(cands, margins, out, reranked, strict=True):
        if m >= threshold:  # confident: the first stage's top 4, marked as not reranked
            assert [d.id for d in got] == [d.id for d in c[:4]]
            assert all(d.metadata["reranked"] is False for d in got)
        else:
            assert [d.id for d in got] == [d.id for d in ce]
    assert first_stage_margin([]) is None
    assert first_stage_margin([Document(page_content="x")]) is None  # no score: always rerank
    one = Document(page_content="x", metadata={"rrf_score": 0.5})
    assert first_stage_margin([one]) == float("inf")
