"""Training-time evaluation: dense ranking and the candidates a reranker reorders."""

import pytest
from datasets import Dataset

from lc_klue.data import unique_contexts
from lc_klue.errors import DataError
from training.evaluation import (
    book_pairs,
    candidate_lists,
    candidate_metrics,
    eval_question_count,
    rank_passages,
)


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


def test_the_pair_evaluation_names_its_flag_when_one_title_is_not_enough(news_qa: Dataset) -> None:
    titles = news_qa["title"]
    by_title = news_qa.select(sorted(range(len(titles)), key=titles.__getitem__))
    first = by_title[0]["title"]
    n_first = sum(t == first for t in by_title["title"])
    with pytest.raises(
        DataError,
        match=rf"--pair-questions 3\).*all come from '{first}'; use --pair-questions "
        rf"{n_first + 1} or more",
    ):
        book_pairs(by_title, 3)
    one = by_title.filter(lambda r: r["title"] == first)
    with pytest.raises(DataError, match="one title only: give --test-data"):
        book_pairs(one, 3)
    pairs = book_pairs(by_title, n_first + 1)
    assert len(pairs) == 2 * (n_first + 1) and sum(pairs["label"]) == n_first + 1


def test_a_capped_run_evaluates_fewer_questions_unless_told(caplog) -> None:
    assert eval_question_count(None, -1) == 1000 and not caplog.records
    assert eval_question_count(24, 50) == 24 and not caplog.records  # the user's number
    assert eval_question_count(None, 50) == 200
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "--max-steps 50 caps training"
    ]
