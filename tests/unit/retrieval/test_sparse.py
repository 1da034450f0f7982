"""Kiwi BM25 sparse vectors: the weights, the hash, and BM25 scores equal to bm25s's in Qdrant."""

from __future__ import annotations

import math

import pytest

from lc_klue.data import context_id
from lc_klue.errors import RetrievalError
from lc_klue.retrieval import KiwiBM25Retriever
from lc_klue.retrieval.qdrant_store import KlueQdrant
from lc_klue.retrieval.sparse import (
    KiwiBM25Sparse,
    SparseBM25Retriever,
    _merge_collisions,
    term_id,
)
from lc_klue.text import kiwi_tokenize


def test_term_ids_are_stable_unsigned_32_bit() -> None:
    assert term_id("풍력") == term_id("풍력") != term_id("풍속")
    assert 0 <= term_id("서울") < 2**32
    # the same in every process and on every machine (BLAKE2b of the UTF-8 bytes, not hash())
    assert term_id("풍력") == 0xA6E55601


def test_document_and_query_weights() -> None:
    enc = KiwiBM25Sparse(k1=1.2, b=0.5).fit_tokens([["가", "나"], ["가", "가", "다", "라"]])
    assert enc.avgdl == 3.0
    doc = enc.document_vectors([["가", "가", "다", "라"]])[0]
    weights = dict(zip(doc.indices, doc.values, strict=True))
    norm = 1.2 * (1 - 0.5 + 0.5 * 4 / 3)
    assert math.isclose(weights[term_id("가")], 2 / (2 + norm))
    assert math.isclose(weights[term_id("다")], 1 / (1 + norm))
    query = enc.query_vectors([["가", "나", "가"]])[0]
    assert dict(zip(query.indices, query.values, strict=True)) == {
        term_id("가"): 2.0,
        term_id("나"): 1.0,
    }
    restored = KiwiBM25Sparse.from_config(enc.config())
    assert (restored.k1, restored.b, restored.avgdl) == (1.2, 0.5, 3.0)


def test_colliding_indices_are_merged() -> None:
    from langchain_qdrant import SparseVector

    merged = _merge_collisions([SparseVector(indices=[5, 7, 5], values=[1.0, 2.0, 0.5])])[0]
    assert dict(zip(merged.indices, merged.values, strict=True)) == {5: 1.5, 7: 2.0}


def test_bad_settings_and_unfitted_encoder() -> None:
    with pytest.raises(RetrievalError, match="k1 > 0"):
        KiwiBM25Sparse(k1=0)
    with pytest.raises(RetrievalError, match="fit_tokens"):
        KiwiBM25Sparse().document_vectors([["가"]])
    with pytest.raises(RetrievalError, match="not a Kiwi BM25"):
        KiwiBM25Sparse.from_config({"format": "other"})


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (0.9, 0.4)])
def test_qdrant_bm25_scores_equal_bm25s(news_qa, k1: float, b: float) -> None:
    """BM25 inside Qdrant (IDF modifier × the package's weights) is bm25s's Lucene BM25."""
    bm25 = KiwiBM25Retriever.from_mrc(news_qa, k1=k1, b=b)
    store = KlueQdrant.from_documents(bm25.docs, None, location=":memory:", k1=k1, b=b)
    assert store.mode == "bm25" and len(store) == 32
    questions = list(news_qa["question"])
    expected = bm25.search_with_scores(questions, 5)
    got = store.batch_search_with_score(questions, 5)
    for want, have in zip(expected, got, strict=True):
        # Qdrant returns only passages that share a morpheme with the query (score > 0)
        want = [(d, s) for d, s in want if s > 0]
        assert [s for _, s in have] == pytest.approx([s for _, s in want], rel=1e-4)
        assert context_id(have[0][0]) == context_id(want[0][0])
    tokens = kiwi_tokenize(questions[0])
    assert tokens and store.sparse is not None
    indices = store.sparse.embed_query(questions[0]).indices
    assert indices == [term_id(t) for t in dict.fromkeys(tokens)]


def test_a_qdrant_collection_of_another_kiwi_model_is_refused(news_qa) -> None:
    from lc_klue.retrieval.qdrant_collection import close, collection_config, connect

    client = connect(":memory:")
    try:
        store = KlueQdrant.from_mrc(news_qa, None, client=client)
        name = store.collection_name
        config = collection_config(client, name)
        config["sparse"]["tokenizer"]["kiwipiepy_model"] = "0.1.0"
        client.update_collection(name, metadata={"lc_klue": config})
        with pytest.raises(RetrievalError, match=r"collection .*kiwipiepy-model 0\.1\.0"):
            KlueQdrant.open(client, name)
    finally:
        close(client)


def test_sparse_bm25_retriever_ranks_as_bm25s(news_qa) -> None:
    """Over Qdrant's BM25, ties and the zero-score fill come in corpus order as with bm25s: the
    same candidates, ids and scores: 30 of the 32 passages, most without a query morpheme."""
    bm25 = KiwiBM25Retriever.from_mrc(news_qa, k1=0.9, b=0.4)
    store = KlueQdrant.from_documents(bm25.docs, None, location=":memory:", k1=0.9, b=0.4)
    sparse = SparseBM25Retriever(store=store, docs=bm25.docs, k=30)
    questions = list(news_qa["question"])
    for want, have in zip(
        bm25.search_with_scores(questions, 30), sparse.search_with_scores(questions), strict=True
    ):
        assert [context_id(d) for d, _ in have] == [context_id(d) for d, _ in want]
        assert [s for _, s in have] == pytest.approx([s for _, s in want], rel=1e-4)
    (docs,) = sparse.batch(questions[:1])
    assert len(docs) == 30 and docs[0].metadata["retrieval_score"] > 0
    other = KlueQdrant.from_documents(bm25.docs[:1], None, location=":memory:")
    with pytest.raises(RetrievalError, match="not in this corpus"):
        SparseBM25Retriever(store=other, docs=bm25.docs[1:]).invoke(questions[0])


def test_word_analysis_reaches_qdrant_and_comes_back(news_qa) -> None:
    """A collection built with ``word`` analysis scores as bm25s does with it, and reopening
    the collection analyses queries the same way."""
    from lc_klue.retrieval.qdrant_collection import close, connect

    bm25 = KiwiBM25Retriever.from_mrc(news_qa, analysis="word")
    client = connect(":memory:")
    try:
        store = KlueQdrant.from_documents(bm25.docs, None, client=client, analysis="word")
        questions = list(news_qa["question"][:6])
        expected = bm25.search_with_scores(questions, 3)
        for want, have in zip(expected, store.batch_search_with_score(questions, 3), strict=True):
            assert [s for _, s in have] == pytest.approx([s for _, s in want if s > 0], rel=1e-4)
        reopened = KlueQdrant.open(client, store.collection_name)
        assert reopened.sparse is not None and reopened.sparse.analysis == "word"
    finally:
        close(client)
    restored = KiwiBM25Sparse.from_config(KiwiBM25Sparse(analysis="word").config())
    assert restored.analysis == "word"
