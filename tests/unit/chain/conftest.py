"""Fixtures of the chain tests: real retrievers over the bundled news corpus, a tiny causal LM."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from datasets import Dataset
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from lc_klue.data import mrc_documents
from lc_klue.models import KlueEmbeddings
from tests.kit import TinyModelFactory

LM_TEXT = "서울시는 새 버스 노선을 발표했다. 노선은 3월부터 운행된다."


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


@pytest.fixture(scope="session")
def tiny_causal_lm(tiny_models: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT-2 with the tiny Korean tokenizer, fitted to continue :data:`LM_TEXT`."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_models.base("bert"))
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    ids = tok(LM_TEXT, return_tensors="pt")["input_ids"][:, 1:-1]  # no [CLS]/[SEP]
    optim = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(15):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    out = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
