"""Fixtures of the chain tests: real retrievers over the bundled news corpus."""

from __future__ import annotations

import pytest
from datasets import Dataset
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from lc_klue.data import mrc_documents
from lc_klue.models import KlueEmbeddings
from tests.kit import TinyModelFactory


@pytest.fixture(scope="session")
def news_docs(news_qa: Dataset) -> list[Document]:
    """The distinct passages of the news corpus (metadata: context_id, title)."""
    return mrc_documents(news_qa)


@pytest.fixture(scope="session")
def dense_retriever(tiny_models: TinyModelFactory, news_docs: list[Document]):
    """A real dense retriever: the tiny bi-encoder in LangChain's in-memory vector store."""
    store = InMemoryVectorStore(KlueEmbeddings.from_model(tiny_models.bi_encoder(), "tiny"))
    store.add_documents(news_docs)
    return store.as_retriever(search_kwargs={"k": 3})


@pytest.fixture(scope="session")
def empty_retriever(tiny_models: TinyModelFactory):
    """A retriever over an empty store: every search finds nothing."""
    store = InMemoryVectorStore(KlueEmbeddings.from_model(tiny_models.bi_encoder(), "tiny"))
    return store.as_retriever()
