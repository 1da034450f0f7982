"""Training-time evaluation: dense ranking and the candidates a reranker reorders."""

import pytest
from datasets import Dataset

from lc_klue.data import unique_contexts
from lc_klue.errors import DataError
from training.evaluation import candidate_lists, candidate_metrics, rank_passages


def test_rank_passages_clamps_k(tiny_models, news_qa: Dataset) -> None:
    passages = sorted(set(news_qa["context"]))[:3]
    top = rank_passages(tiny_models.bi_encoder(), ["질문"], passages, k=10)
    assert top.shape == (1, 3) and sorted(top[0].tolist()) == [0, 1, 2]
    with pytest.raises(DataError, match="no passages"):
        rank_passages(tiny_models.bi_encoder(), ["질문"], [], k=10)


def test_random_candidates_hold_gold_and_other_titles(news_qa: Dataset) -> None:
    corpus = unique_contexts(news_qa)
    questions = news_qa.select(range(6))
    cands = candidate_lists(questions, corpus, n=5, seed=1)
    texts, titles = list(corpus["context"]), list(corpus["title"])
    for row, q in zip(cands, questions, strict=True):
        assert len(row) == 5 and len(set(row)) == 5
        assert sum(texts[j] == q["context"] for j in row) == 1
        assert sum(titles[j] == q["title"] for j in row) == 1
    gold_first = [
        sorted(row, key=lambda j: texts[j] != q["context"])
        for row, q in zip(cands, questions, strict=True)
    ]
    assert candidate_metrics(questions, corpus, gold_first)["hit@1"] == 1.0
