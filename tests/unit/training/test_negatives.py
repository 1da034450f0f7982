"""Negative mining."""

from datasets import Dataset

from training.negatives import hard_negative_pairs


def test_hard_negatives_come_from_other_titles(tiny_models, news_qa: Dataset) -> None:
    pairs = hard_negative_pairs(tiny_models.bi_encoder(), news_qa, num_negatives=2)
    assert len(pairs) == 3 * len(news_qa)
    title_of = dict(zip(news_qa["context"], news_qa["title"], strict=False))
    q_title = dict(zip(news_qa["question"], news_qa["title"], strict=False))
    for q, c, label in zip(pairs["question"], pairs["context"], pairs["label"], strict=True):
        assert (title_of[c] == q_title[q]) == (label == 1.0)
