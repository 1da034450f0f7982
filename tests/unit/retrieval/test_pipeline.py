"""The pipeline builder: first stage → fusion/rerank stages, specs, shared parts."""

from __future__ import annotations

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever

from lc_klue.data import mrc_documents
from lc_klue.errors import RetrievalError
from lc_klue.retrieval import (
    CrossEncoderReranker,
    FusionRetriever,
    FusionStage,
    HybridRetriever,
    PipelineParts,
    PipelineSpec,
    RerankingRetriever,
    build_first_stage,
    build_pipeline,
    build_retriever,
)
from lc_klue.retrieval.faiss_store import KlueFAISSRetriever


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


def test_spec_is_json_and_checked() -> None:
    spec = PipelineSpec.checked(
        first_stage={"kind": "bm25", "k1": 0.9, "b": 0.4},
        stages=[{"kind": "fusion", "weights": {"first_stage": 1.0, "bm25": 0.5}, "keep": 20}],
        k=30,
        top_n=10,
    )
    assert PipelineSpec.model_validate_json(spec.model_dump_json()) == spec
    assert isinstance(spec.stages[0], FusionStage)
    with pytest.raises(RetrievalError, match="first_stage: first stage 'dense' needs an embedding"):
        PipelineSpec.checked(first_stage={"kind": "dense"})
    with pytest.raises(RetrievalError, match="top_n=40 is larger"):
        PipelineSpec.checked(stages=[{"kind": "rerank", "cross_encoder": "m"}], top_n=40)
    with pytest.raises(RetrievalError, match=r"pipeline stages\.0"):
        PipelineSpec.checked(stages=[{"kind": "sort"}])


def test_built_pipelines_share_their_parts(news_qa, tiny_models, cross_encoder) -> None:
    docs = mrc_documents(news_qa)
    bi = str(tiny_models.bi_encoder_dir())
    parts = PipelineParts(docs, device="cpu", models={"ce": cross_encoder})
    lexical = build_pipeline(
        PipelineSpec.checked(
            first_stage={"kind": "bm25"}, stages=[{"kind": "fusion"}], k=8, top_n=8
        ),
        parts,
    )
    assert isinstance(lexical, FusionRetriever) and lexical.k == 8 and lexical.first_stage.k == 8
    cascade = PipelineSpec.checked(
        first_stage={"kind": "hybrid", "embedding_model": bi},
        stages=[
            {"kind": "fusion", "embedding_model": bi, "keep": 6},
            {"kind": "rerank", "cross_encoder": "ce"},
        ],
        k=12,
        top_n=4,
    )
    retriever = build_pipeline(cascade, parts)
    assert isinstance(retriever, RerankingRetriever)
    assert retriever.base_retriever.k == 6 and retriever.base_compressor.top_n == 4
    assert len(retriever.invoke(news_qa[0]["question"])) == 4
    assert parts.store(bi) is parts.store(bi) and parts.bm25() is parts.bm25(1.5, 0.75)
    assert parts.lexical([12, 25]) is parts.lexical((12, 25))
    other = parts.with_documents(docs[:5])
    assert other.embeddings(bi) is parts.embeddings(bi) and other.store(bi) is not parts.store(bi)
    with pytest.raises(RetrievalError, match="corpus is empty"):
        PipelineParts([])


def test_rerank_stage_window_and_cascade(news_qa, cross_encoder) -> None:
    parts = PipelineParts(mrc_documents(news_qa), models={"ce": cross_encoder})
    spec = PipelineSpec.checked(
        first_stage={"kind": "bm25"},
        stages=[{"kind": "rerank", "cross_encoder": "ce", "window": 64, "cascade_margin": 2.5}],
        k=8,
        top_n=3,
    )
    assert PipelineSpec.model_validate_json(spec.model_dump_json()) == spec
    retriever = build_pipeline(spec, parts)
    assert retriever.base_compressor.window == 64
    assert retriever.base_compressor.cascade_margin == 2.5
    got = retriever.batch(list(news_qa["question"][:3]))
    assert [len(r) for r in got] == [3, 3, 3]
    with pytest.raises(RetrievalError, match="window"):
        PipelineSpec.checked(stages=[{"kind": "rerank", "cross_encoder": "ce", "window": 0}])
