"""Inverse-cloze pairs: questions made from documents alone."""

from __future__ import annotations

import pytest
from datasets import Dataset

from lc_klue.data import inverse_cloze_pairs, unique_contexts
from lc_klue.errors import DataError


def test_a_sentence_asks_for_its_passage(news_qa: Dataset) -> None:
    passages = unique_contexts(news_qa)
    pairs = inverse_cloze_pairs(passages, keep=0.0, seed=1)
    assert 0 < len(pairs) <= len(passages)
    for row in pairs:
        assert row["question"] in row["context"]
        assert row["question"] not in row["positive"]  # keep=0: always removed
        assert row["title"] in set(passages["title"])
    again = inverse_cloze_pairs(passages, keep=0.0, seed=1)
    assert again["question"] == pairs["question"]  # seeded


def test_keep_leaves_the_sentence_in_and_bad_input_is_one_line(news_qa: Dataset) -> None:
    passages = unique_contexts(news_qa)
    kept = inverse_cloze_pairs(passages, keep=1.0)
    assert all(q in p for q, p in zip(kept["question"], kept["positive"], strict=True))
    one = Dataset.from_dict({"title": ["a"], "context": ["문장이 하나뿐인 짧은 문서입니다."]})
    with pytest.raises(DataError, match="two or more sentences"):
        inverse_cloze_pairs(one)
    with pytest.raises(DataError, match="per_passage"):
        inverse_cloze_pairs(passages, per_passage=0)
