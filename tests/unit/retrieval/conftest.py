"""Fixtures of the retrieval tests: tiny models and indexes over the bundled news corpus."""

from __future__ import annotations

import pytest
from datasets import Dataset

from lc_klue.models import KlueEmbeddings
from lc_klue.retrieval import KiwiBM25Retriever, KlueFAISS
from tests.kit import TinyModelFactory
from tests.unit.models.tiny_reranker import spread_cross_encoder


@pytest.fixture(scope="session")
def embeddings(tiny_models: TinyModelFactory) -> KlueEmbeddings:
    """Tiny bi-encoder as LangChain embeddings."""
    return KlueEmbeddings(model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu")


@pytest.fixture(scope="session")
def cross_encoder(tiny_models: TinyModelFactory):
    """Tiny untrained cross-encoder with well-separated scores."""
    return spread_cross_encoder(tiny_models.cross_encoder_dir())


@pytest.fixture(scope="session")
def news_store(news_qa: Dataset, embeddings: KlueEmbeddings) -> KlueFAISS:
    """Flat FAISS index of the 32 news passages."""
    return KlueFAISS.from_mrc(news_qa, embeddings)


@pytest.fixture(scope="session")
def news_bm25(news_qa: Dataset) -> KiwiBM25Retriever:
    """Kiwi BM25 index of the 32 news passages."""
    return KiwiBM25Retriever.from_mrc(news_qa, k=5)
