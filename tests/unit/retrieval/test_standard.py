"""LangChain's standard suites: the retriever tests on the BM25, dense and hybrid retrievers,
and the vector-store tests on :class:`KlueFAISS` and :class:`KlueQdrant` (with the kit's real tiny
bi-encoder)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from lc_klue.data import mrc_documents
from lc_klue.models import KlueEmbeddings
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval import KiwiBM25Retriever, KlueFAISS, build_first_stage
from lc_klue.retrieval.qdrant_store import KlueQdrant, connect

QUERY = "부산시 해상 풍력 단지의 설비 용량은?"


class TestKiwiBM25Standard(RetrieversIntegrationTests):
    """BM25 built from the bundled news passages."""

    @property
    def retriever_constructor(self) -> type[KiwiBM25Retriever]:
        return KiwiBM25Retriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"docs": mrc_documents(NEWS_QA)}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


class _WithStores(RetrieversIntegrationTests):
    store: KlueFAISS

    @pytest.fixture(autouse=True)
    def _stores(self, news_store: KlueFAISS, news_bm25: KiwiBM25Retriever) -> None:
        type(self).store = news_store
        type(self).bm25 = news_bm25

    @property
    def retriever_query_example(self) -> str:
        return QUERY


class TestDenseStandard(_WithStores):
    """The FAISS retriever (``as_retriever(k=...)``)."""

    @property
    def retriever_constructor(self) -> Callable[..., BaseRetriever]:
        return lambda k=4: self.store.as_retriever(k=k)

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {}


class TestHybridStandard(_WithStores):
    """Hybrid first stage (BM25 + dense, reciprocal rank fusion)."""

    @property
    def retriever_constructor(self) -> Callable[..., BaseRetriever]:
        return lambda k=4: build_first_stage("hybrid", dense=self.store, bm25=self.bm25, k=k)

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {}


class TestKlueFAISSVectorStore(VectorStoreIntegrationTests):
    """Add, upsert by id, delete, get by id — sync and async — on an empty flat index."""

    @pytest.fixture()
    def vectorstore(self, embeddings: KlueEmbeddings) -> KlueFAISS:  # type: ignore[override]
        return KlueFAISS(embeddings)


class TestKlueFAISSHNSWVectorStore(TestKlueFAISSVectorStore):
    """The same on an HNSW index (deletion rebuilds it from the kept vectors)."""

    @pytest.fixture()
    def vectorstore(self, embeddings: KlueEmbeddings) -> KlueFAISS:  # type: ignore[override]
        return KlueFAISS(embeddings, "hnsw")


class TestKlueQdrantVectorStore(TestKlueFAISSVectorStore):
    """The same on a Qdrant collection (dense and BM25 vectors, in memory)."""

    @pytest.fixture()
    def vectorstore(self, embeddings: KlueEmbeddings) -> KlueQdrant:  # type: ignore[override]
        return KlueQdrant.create(connect(":memory:"), "standard", embeddings)


class TestQdrantHybridStandard(_WithStores):
    """Dense and BM25 fused inside Qdrant (its reciprocal-rank fusion query)."""

    @property
    def retriever_constructor(self) -> Callable[..., BaseRetriever]:
        return lambda k=4: self.qdrant.hybrid_retriever(k=k)

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {}

    @pytest.fixture(autouse=True)
    def _qdrant(self, news_store: KlueFAISS, embeddings: KlueEmbeddings) -> None:
        if not hasattr(type(self), "qdrant"):
            type(self).qdrant = KlueQdrant.from_documents(news_store.documents(), embeddings)
