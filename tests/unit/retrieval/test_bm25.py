"""Kiwi tokenisation and the Korean BM25 retriever."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset
from langchain_core.documents import Document

from lc_klue.errors import DataError, RetrievalError
from lc_klue.retrieval import KiwiBM25Retriever


def test_questions_find_their_passages(news_bm25: KiwiBM25Retriever, news_qa: Dataset) -> None:
    results = news_bm25.batch(list(news_qa["question"]))
    hits = sum(r[0].page_content == c for r, c in zip(results, news_qa["context"], strict=True))
    assert hits / len(news_qa) >= 0.8  # lexical overlap makes BM25 strong on MRC questions
    assert all(len(r) == 5 for r in results)
    assert {"context_id", "title"} <= set(results[0][0].metadata)


def test_batch_equals_invoke_and_scores_descend(news_bm25, news_qa) -> None:
    queries = list(news_qa["question"][:6])
    batched = news_bm25.batch(queries)
    assert [[d.id for d in r] for r in batched] == [
        [d.id for d in news_bm25.invoke(q)] for q in queries
    ]
    scored = news_bm25.search_with_scores(queries, k=10)
    for hits in scored:
        scores = [s for _, s in hits]
        assert scores == sorted(scores, reverse=True)


def test_ties_are_broken_by_corpus_order() -> None:
    docs = [
        Document(page_content=f"서울 문서 {i}번", metadata={"context_id": str(i)}) for i in range(6)
    ]
    bm25 = KiwiBM25Retriever.from_documents(docs, k=4)
    assert [d.metadata["context_id"] for d in bm25.invoke("서울")] == ["0", "1", "2", "3"]
    # no known term: every score is 0 and the first passages come back, in order
    assert [d.metadata["context_id"] for d in bm25.invoke("바나나")] == ["0", "1", "2", "3"]


def test_save_load_round_trip(news_bm25, news_qa, tmp_path: Path) -> None:
    news_bm25.save(tmp_path / "bm25")
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "bm25").rglob("*"))
    loaded = KiwiBM25Retriever.load(tmp_path / "bm25")
    assert loaded.k == 5 and loaded.k1 == news_bm25.k1
    queries = list(news_qa["question"][:8])
    a = news_bm25.search_with_scores(queries)
    b = loaded.search_with_scores(queries)
    assert [[(d.id, d.metadata, s) for d, s in r] for r in a] == [
        [(d.id, d.metadata, s) for d, s in r] for r in b
    ]
    assert KiwiBM25Retriever.load(tmp_path / "bm25", k=2).k == 2


def test_bad_input(news_bm25, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty corpus"):
        KiwiBM25Retriever.from_texts([])
    assert len(news_bm25.search_with_scores(["서울"], k=100)[0]) == 32  # k > corpus: all of it
    with pytest.raises(RetrievalError, match="k must be a positive integer"):
        news_bm25.search_with_scores(["서울"], k=0)
    with pytest.raises(RetrievalError, match="query is empty"):
        news_bm25.invoke("")
    with pytest.raises(RetrievalError, match="directory not found"):
        KiwiBM25Retriever.load(tmp_path / "nothing")
