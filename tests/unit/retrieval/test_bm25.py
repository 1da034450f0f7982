"""Kiwi tokenisation and the Korean BM25 retriever."""

from __future__ import annotations

import json
import logging
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


def _rerecord(index: Path, **tokenizer: str | None) -> None:
    """Pretend ``index`` was built with another Kiwi (None drops a field, as older indexes)."""
    path = index / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer"].update(tokenizer)
    config["tokenizer"] = {k: v for k, v in config["tokenizer"].items() if v is not None}
    path.write_text(json.dumps(config), encoding="utf-8")


def test_an_index_of_another_kiwi_warns_or_is_refused(news_bm25, tmp_path: Path, caplog) -> None:
    import kiwipiepy

    from lc_klue.text import kiwi_model_version

    index = news_bm25.save(tmp_path / "bm25")
    recorded = json.loads((index / "config.json").read_text(encoding="utf-8"))["tokenizer"]
    assert recorded["kiwipiepy_model"] == kiwi_model_version()
    with caplog.at_level(logging.WARNING):
        KiwiBM25Retriever.load(index)
    assert not caplog.records  # the same Kiwi: nothing to say
    series = ".".join(kiwipiepy.__version__.split(".")[:2])
    _rerecord(index, kiwipiepy=f"{series}.999")  # another patch release, the same model
    with caplog.at_level(logging.WARNING):
        assert KiwiBM25Retriever.load(index).invoke("해상 풍력")
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"built with kiwipiepy {series}.999, this is {kiwipiepy.__version__}" in warning
    _rerecord(index, kiwipiepy_model="0.1.0")  # another Kiwi model
    with pytest.raises(RetrievalError, match=r"built with kiwipiepy-model 0\.1\.0, but") as e:
        KiwiBM25Retriever.load(index)
    assert "\n" not in str(e.value) and "kiwipiepy-model==0.1.0" in str(e.value)
    _rerecord(index, kiwipiepy="0.1.5", kiwipiepy_model=None)  # an older index: its series
    with pytest.raises(RetrievalError, match=r"built with kiwipiepy 0\.1\.5 \(model 0\.1\.\*\)"):
        KiwiBM25Retriever.load(index)


def test_word_analysis_is_saved_and_used_for_queries(news_qa, tmp_path: Path) -> None:
    import bm25s

    from lc_klue.data import mrc_documents
    from lc_klue.text import kiwi_tokenize

    docs = mrc_documents(news_qa)
    word = KiwiBM25Retriever(docs=docs, k=5, analysis="word")
    reference = bm25s.BM25(k1=word.k1, b=word.b)  # the same corpus read word by word
    reference.index(kiwi_tokenize([d.page_content for d in docs], analysis="word"))
    assert word.index.vocab_dict == reference.vocab_dict
    queries = list(news_qa["question"][:8])
    loaded = KiwiBM25Retriever.load(word.save(tmp_path / "word"))
    assert loaded.analysis == "word"
    assert [[d.id for d in r] for r in loaded.batch(queries)] == [
        [d.id for d in r] for r in word.batch(queries)
    ]
    _rerecord(tmp_path / "word", analysis=None)  # an index from before the analysis was saved
    assert KiwiBM25Retriever.load(tmp_path / "word").analysis == "context"
    _rerecord(tmp_path / "word", analysis="sentencepiece")
    with pytest.raises(RetrievalError, match="unknown Kiwi analysis 'sentencepiece'"):
        KiwiBM25Retriever.load(tmp_path / "word")
    with pytest.raises(DataError, match="unknown Kiwi analysis 'fast'"):
        KiwiBM25Retriever(docs=docs, analysis="fast")
