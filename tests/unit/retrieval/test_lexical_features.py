"""Lexical features of (query, passage) candidates."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset
from langchain_core.documents import Document

from lc_klue.data import mrc_documents
from lc_klue.errors import DataError, RetrievalError
from lc_klue.retrieval.lexical_features import LexicalFeatures, PassageWindows


def test_features_favour_the_gold_passage(news_qa: Dataset) -> None:
    docs = mrc_documents(news_qa)
    lexical = LexicalFeatures(docs, windows=(8,))
    assert lexical.names == ("bm25", "sentence", "sentence_coverage", "bigram", "char2", "window8")
    gold = next(d for d in docs if d.page_content == news_qa[0]["context"])
    other = next(d for d in docs if d.metadata["title"] != news_qa[0]["title"])
    (feats,) = lexical.features([news_qa[0]["question"]], [[gold, other]])
    assert feats.shape == (2, 6) and np.all(feats[0] >= feats[1]) and feats[0].sum() > 0
    assert feats[:, 2].min() >= 0 and feats[:, 2].max() <= 1  # coverage is a share
    with pytest.raises(RetrievalError, match="not in the corpus"):
        lexical.features(["질문"], [[Document(page_content="없는 문단")]])
    with pytest.raises(DataError, match="non-empty corpus"):
        LexicalFeatures([])
    with pytest.raises(DataError, match="window sizes must be positive"):
        LexicalFeatures(docs, windows=(0,))


def test_saved_features_load_without_kiwi_and_score_the_same(news_qa: Dataset, tmp_path) -> None:
    docs = mrc_documents(news_qa)
    built = LexicalFeatures(docs, windows=(8, 20))
    built.save(tmp_path / "lexical.json")
    loaded = LexicalFeatures.load(tmp_path / "lexical.json", docs)
    assert loaded.names == built.names and loaded.windows == (8, 20)
    questions = list(news_qa["question"][:5])
    candidates = [docs[:7]] * 5
    for a, b in zip(
        built.features(questions, candidates), loaded.features(questions, candidates), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DataError, match="not the lexical features of this corpus"):
        LexicalFeatures.load(tmp_path / "lexical.json", docs[:3])


def test_passage_windows_pick_the_covering_sentences() -> None:
    passage = (
        "서울시는 올해 도서관 열 곳을 새로 연다. "
        "시장은 예산이 부족하다고 말했다. "
        "부산 해상 풍력 단지는 내년 3월에 착공한다. "
        "공사는 2년 동안 이어진다."
    )
    windows = PassageWindows(budget=10)
    (chosen,) = windows.select(["부산 해상 풍력 단지 착공은 언제?"], [[passage, "짧은 문단."]])
    assert chosen[0] == "부산 해상 풍력 단지는 내년 3월에 착공한다."  # a span of the passage
    assert chosen[0] in passage
    assert chosen[1] == "짧은 문단."  # within the budget: the whole passage
    whole = PassageWindows(budget=1000).select(["풍력"], [[passage]])[0][0]
    assert whole == passage
    counted = PassageWindows(budget=4, count_tokens=lambda texts: [len(t) for t in texts])
    (long_sentence,) = counted.select(["예산"], [[passage]])  # one sentence over the budget
    assert long_sentence == ["시장은 예산이 부족하다고 말했다."]
    with pytest.raises(RetrievalError, match="window budget must be positive"):
        PassageWindows(budget=0)
    with pytest.raises(RetrievalError, match="1 queries but 2 candidate lists"):
        windows.select(["질문"], [[passage], [passage]])
