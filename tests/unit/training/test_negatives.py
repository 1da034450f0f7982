"""Negative mining: BM25 candidates (same article allowed) and the loss rows built on them."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from lc_klue.data import unique_contexts
from training.negatives import (
    bm25_candidates,
    gold_ids,
    listwise_examples,
    negatives_for,
    pair_examples,
)


@pytest.fixture(scope="module")
def corpus(news_qa: Dataset) -> Dataset:
    return unique_contexts(news_qa)


def test_bm25_negatives_keep_same_article_paragraphs(news_qa: Dataset, corpus) -> None:
    texts, ids, titles = list(corpus["context"]), list(corpus["context_id"]), list(corpus["title"])
    found = bm25_candidates(news_qa["question"], texts, k=5)
    assert all(len(c) == 5 for c in found)
    assert all(c[0][1] >= c[-1][1] for c in found)  # best first
    picked = negatives_for(found, gold_ids(news_qa), ids, 3)
    gold = gold_ids(news_qa)
    assert all(ids[j] != g for negs, g in zip(picked, gold, strict=True) for j, _ in negs)
    own = [
        titles[j] == t for negs, t in zip(picked, news_qa["title"], strict=True) for j, _ in negs
    ]
    assert any(own)  # the bundled articles have several paragraphs: some negatives share a title


def test_pairs_and_lists(news_qa: Dataset, corpus) -> None:
    texts, ids = list(corpus["context"]), list(corpus["context_id"])
    found = bm25_candidates(news_qa["question"], texts, k=5)
    picked = negatives_for(found, gold_ids(news_qa), ids, 2)
    pairs = pair_examples(news_qa, texts, picked)
    assert pairs.column_names == ["question", "context", "label"]
    assert sum(pairs["label"]) == len(news_qa)

    onehot = listwise_examples(news_qa, texts, picked)
    assert onehot.column_names == ["query", "docs", "labels"]
    first = np.exp(onehot["labels"][0])
    assert onehot["docs"][0][0] == news_qa["context"][0]
    assert first[0] == pytest.approx(1.0, abs=1e-4)  # softmax(labels) is the target
