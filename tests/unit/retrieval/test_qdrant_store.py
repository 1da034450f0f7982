"""KlueQdrant on an embedded Qdrant (a directory, no server): build, dense / BM25 / hybrid search
against FAISS and bm25s, reload, model checks, and writes that leave nothing half-done."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from qdrant_client import models

from lc_klue.data import context_id
from lc_klue.errors import DataError, ModelError, RetrievalError
from lc_klue.models import KlueEmbeddings
from lc_klue.retrieval import HybridRetriever, KiwiBM25Retriever, KlueFAISS
from lc_klue.retrieval.index import parse_store
from lc_klue.retrieval.qdrant_store import (
    KlueQdrant,
    KlueQdrantRetriever,
    close,
    connect,
    point_id,
)


@pytest.fixture()
def qdrant_dir(tmp_path: Path) -> Path:
    return tmp_path / "qdrant"


@pytest.fixture()
def built(news_store: KlueFAISS, embeddings: KlueEmbeddings, qdrant_dir: Path) -> KlueQdrant:
    """The 32 news passages in an embedded Qdrant: dense and BM25 vectors."""
    store = KlueQdrant.from_documents(
        news_store.documents(), embeddings, location=qdrant_dir, batch_size=10
    )
    yield store
    close(store.client)


def ids(hits) -> list[str]:
    return [context_id(d) for d, _ in hits]


def test_dense_search_equals_flat_faiss(built, news_store, news_qa) -> None:
    questions = list(news_qa["question"])
    dense = built.view("dense")
    want = news_store.batch_search_with_score(questions, 10)
    got = dense.batch_search_with_score(questions, 10)
    for w, g in zip(want, got, strict=True):
        assert ids(g) == ids(w)
        assert [s for _, s in g] == pytest.approx([s for _, s in w], abs=1e-5)
    # one query through invoke, and relevance scores like KlueFAISS's
    assert [context_id(d) for d in dense.as_retriever(k=3).invoke(questions[0])] == ids(want[0])[:3]
    rel = dense.similarity_search_with_relevance_scores(questions[0], k=2)
    assert rel[0][1] == pytest.approx((1 + want[0][0][1]) / 2, abs=1e-5)
    doc = got[0][0][0]
    assert doc.id == context_id(doc) and set(doc.metadata) == {"context_id", "title"}


def test_stored_dense_vectors_by_id(built, news_store) -> None:
    docs = news_store.documents()[:3][::-1]
    want = news_store.vectors()[:3][::-1]
    assert built.vectors([context_id(d) for d in docs]) == pytest.approx(want, abs=1e-5)
    with pytest.raises(RetrievalError, match="has no dense vector of 'nope'"):
        built.vectors([context_id(docs[0]), "nope"])


def test_bm25_search_equals_kiwi_bm25(built, news_qa) -> None:
    bm25 = KiwiBM25Retriever.from_mrc(news_qa)
    questions = list(news_qa["question"])
    sparse = built.view("bm25")
    for w, g in zip(
        bm25.search_with_scores(questions, 5),
        sparse.batch_search_with_score(questions, 5),
        strict=True,
    ):
        assert g[0][1] == pytest.approx(w[0][1], rel=1e-4) and ids(g)[0] == ids(w)[0]


def test_hybrid_fused_in_qdrant_equals_fusion_in_the_package(built, news_qa) -> None:
    questions = list(news_qa["question"])
    in_qdrant = built.hybrid_retriever(k=8)
    in_package = HybridRetriever(
        retrievers=[built.view("dense").as_retriever(k=8), built.view("bm25").as_retriever(k=8)],
        k=8,
    )
    for a, b in zip(in_qdrant.batch(questions), in_package.batch(questions), strict=True):
        assert [context_id(d) for d in a][:3] == [context_id(d) for d in b][:3]
        assert {context_id(d) for d in a} == {context_id(d) for d in b}
    assert [context_id(d) for d in in_qdrant.invoke(questions[0])] == [
        context_id(d) for d in in_qdrant.batch(questions[:1])[0]
    ]
    weighted = built.hybrid_retriever(k=5, weights=[0.0, 1.0])
    bm25_top = [context_id(d) for d in built.view("bm25").as_retriever(k=5).invoke(questions[1])]
    fused = [context_id(d) for d in weighted.invoke(questions[1])]
    assert fused[: len(bm25_top)] == bm25_top  # then dense-only passages, at weight 0


def test_reload_from_the_directory(built, embeddings, qdrant_dir, news_qa) -> None:
    question = news_qa[3]["question"]
    before = ids(built.similarity_search_with_score(question, k=5))
    close(built.client)
    again = KlueQdrant.open(qdrant_dir, "lc_klue", embeddings)
    assert again.mode == "hybrid" and len(again) == 32
    assert ids(again.similarity_search_with_score(question, k=5)) == before
    assert again.sparse is not None and again.sparse.avgdl == built.sparse.avgdl
    bm25_only = KlueQdrant.open(qdrant_dir, "lc_klue")
    assert bm25_only.mode == "bm25" and bm25_only.similarity_search(question, k=1)
    assert connect(qdrant_dir) is again.client  # one embedded client per directory


def test_another_model_or_dimension_is_refused(built, tiny_models, qdrant_dir) -> None:
    other = KlueEmbeddings.from_model(tiny_models.bi_encoder("roberta"), name="other-model")
    with pytest.raises(ModelError, match=r"built with embedding model .*not 'other-model'"):
        KlueQdrant.open(built.client, "lc_klue", other)
    with pytest.raises(ModelError, match="dimension"):
        KlueQdrant.open(built.client, "lc_klue", DeterministicFakeEmbedding(size=7))
    with pytest.raises(RetrievalError, match="no collection 'nope'"):
        KlueQdrant.open(built.client, "nope")
    built.client.create_collection("foreign", vectors_config={})
    with pytest.raises(RetrievalError, match="not written by lc-klue"):
        KlueQdrant.open(built.client, "foreign")


def test_empty_corpus_writes_nothing(embeddings, qdrant_dir) -> None:
    with pytest.raises(DataError, match="empty corpus"):
        KlueQdrant.from_documents([], embeddings, location=qdrant_dir)
    client = connect(qdrant_dir)
    assert client.get_collections().collections == []


class FailingEmbeddings(DeterministicFakeEmbedding):
    """Fails on the second batch of passages (after the probe texts)."""

    calls: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("GPU fell off the bus")
        return super().embed_documents(texts)


def test_a_failed_rebuild_keeps_the_published_collection(news_qa, qdrant_dir) -> None:
    docs = KiwiBM25Retriever.from_mrc(news_qa).docs
    first = KlueQdrant.from_documents(docs[:5], None, location=qdrant_dir)
    with pytest.raises(RuntimeError, match="fell off"):
        KlueQdrant.from_documents(
            docs, FailingEmbeddings(size=8), client=first.client, batch_size=10
        )
    names = [c.name for c in first.client.get_collections().collections]
    assert len(names) == 1  # the staging collection is gone
    assert len(KlueQdrant.open(first.client, "lc_klue")) == 5
    second = KlueQdrant.from_documents(docs, None, client=first.client)
    assert len(second) == 32
    assert [c.name for c in first.client.get_collections().collections] != names  # old dropped
    assert len(first.client.get_collections().collections) == 1


def test_a_foreign_collection_of_that_name_is_not_replaced(news_qa) -> None:
    client = connect(":memory:")
    client.create_collection("lc_klue", vectors_config={})
    with pytest.raises(RetrievalError, match="not published by lc-klue"):
        KlueQdrant.from_mrc(news_qa, None, client=client)


def test_vector_store_operations(embeddings) -> None:
    store = KlueQdrant.create(connect(":memory:"), "ops", embeddings)
    texts = ["서울 버스 노선", "부산 해상 풍력"]
    added = store.add_texts(texts, [{"city": "서울"}, {"city": "부산"}])
    assert added == [context_id("서울 버스 노선"), context_id("부산 해상 풍력")]
    assert store.sparse is not None and store.sparse.avgdl is not None  # fitted on first add
    assert [d.page_content for d in store.get_by_ids([added[1]])] == ["부산 해상 풍력"]
    only_busan = models.Filter(
        must=[models.FieldCondition(key="metadata.city", match=models.MatchValue(value="부산"))]
    )
    hits = store.similarity_search("버스", k=2, filter=only_busan)
    assert [d.metadata["city"] for d in hits] == ["부산"]
    store.add_texts(["부산 해상 풍력 단지"], ids=[added[1]])  # same id: replaced
    assert len(store) == 2 and store.get_by_ids([added[1]])[0].page_content.endswith("단지")
    store.delete([added[0]])
    assert len(store) == 1
    store.delete()
    assert len(store) == 0
    assert point_id("a") == point_id("a") != point_id("b")
    with pytest.raises(RetrievalError, match="query is empty"):
        store.similarity_search("  ")
    with pytest.raises(RetrievalError, match="k must be a positive integer"):
        store.similarity_search("버스", k=0)
    with pytest.raises(DataError, match="passage 0 is empty"):
        store.add_texts([" "])
    retriever = store.as_retriever(k=3)
    assert isinstance(retriever, KlueQdrantRetriever) and retriever.batch([]) == []


def test_unreachable_server_fails_fast_in_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    start = time.monotonic()
    with pytest.raises(RetrievalError, match=rf"cannot reach Qdrant at http://127.0.0.1:{port}"):
        connect(f"http://127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - start < 5


def test_store_specs() -> None:
    assert parse_store("faiss") == ("faiss", None)
    assert parse_store("qdrant") == ("qdrant", None)
    assert parse_store("qdrant:/data/q") == ("qdrant", "/data/q")
    assert parse_store("qdrant:https://q.example:6333") == ("qdrant", "https://q.example:6333")
    for bad in ("milvus", "faiss:x", "qdrant::memory:"):
        with pytest.raises(RetrievalError):
            parse_store(bad)
    with pytest.raises(RetrievalError, match="search mode 'hybrid' needs an embedding model"):
        KlueQdrant(connect(":memory:"), "x", None, sparse=None, mode="hybrid")


def test_a_server_key_comes_from_the_environment(monkeypatch) -> None:
    from lc_klue.retrieval import qdrant_collection

    seen: dict = {}
    status: list[int] = []

    class Denied(Exception):
        status_code = 401

    class Server:  # stands in for QdrantClient(url=...): records how it is built
        def __init__(self, **kwargs) -> None:
            seen.update(kwargs)

        def get_collections(self) -> None:
            if status:
                raise Denied()

    monkeypatch.setattr(qdrant_collection, "QdrantClient", Server)
    monkeypatch.setenv("QDRANT_API_KEY", "s3cret")
    connect("https://q.example:6333")
    assert seen["url"] == "https://q.example:6333" and seen["api_key"] == "s3cret"
    assert seen["timeout"] == 5
    monkeypatch.delenv("QDRANT_API_KEY")
    connect("https://q.example:6333")
    assert seen["api_key"] is None
    status.append(401)
    with pytest.raises(RetrievalError, match=r"refused access \(HTTP 401\); set QDRANT_API_KEY"):
        connect("https://q.example:6333")
