"""Pipeline parts: one Kiwi analysis of the corpus serves BM25 and the lexical features."""

from __future__ import annotations

import pytest
from datasets import Dataset

from lc_klue.data import mrc_documents
from lc_klue.retrieval import KiwiBM25Retriever, PipelineParts
from lc_klue.retrieval import parts as parts_module
from lc_klue.retrieval.lexical_features import analyse_corpus, passage_morphemes
from lc_klue.text import kiwi_tokenize, split_sentences


def test_analyse_corpus_groups_each_passage_by_sentence() -> None:
    texts = [
        "부산시는 해상 풍력 단지를 조성한다. 2027년까지 완공한다.",
        "  ",
        "기준금리를 동결했다",
    ]
    sentence_tokens, owners = analyse_corpus(texts)
    assert owners == [0, 0, 1, 2]  # a passage without sentences is one empty sentence
    assert len(split_sentences(texts[0])) == 2 and sentence_tokens[2] == []
    # the passage read whole (in context), grouped by sentence: the morphemes BM25 indexes
    assert passage_morphemes((sentence_tokens, owners), 3) == kiwi_tokenize(texts)


def test_one_kiwi_analysis_serves_bm25_and_the_lexical_features(
    news_qa: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(texts: list[str], show_progress: bool = False):
        calls.append(len(texts))
        return analyse_corpus(texts, show_progress)

    monkeypatch.setattr(parts_module, "analyse_corpus", counted)
    docs = mrc_documents(news_qa)
    parts = PipelineParts(docs)
    shared = parts.bm25(0.9, 0.4)
    parts.bm25(1.5, 0.75)
    parts.lexical([12, 25])
    assert calls == [len(docs)]
    alone = KiwiBM25Retriever(docs=docs, k1=0.9, b=0.4)  # analyses the passages itself
    queries = list(news_qa["question"])
    assert [[d.id for d in r] for r in shared.batch(queries)] == [
        [d.id for d in r] for r in alone.batch(queries)
    ]
    assert parts.with_documents(docs[:5]).analysis()[1][-1] == 4  # another corpus, its own
