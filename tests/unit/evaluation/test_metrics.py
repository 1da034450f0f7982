"""Metrics on hand-made rankings whose values are worked out by hand."""

import math

import pytest

from lc_klue.errors import DataError
from lc_klue.evaluation.metrics import hit_at_k, mrr_at_k, ndcg_at_k, retrieval_metrics

RANKED = [["a", "b", "c"], ["x", "gold", "y"], ["p", "q", "r"], ["g", "h", "i"]]
GOLD = ["a", "gold", "zzz", "i"]


def test_hit_at_k_known_values() -> None:
    assert hit_at_k(RANKED, GOLD, 1) == pytest.approx(1 / 4)
    assert hit_at_k(RANKED, GOLD, 2) == pytest.approx(2 / 4)
    assert hit_at_k(RANKED, GOLD, 3) == pytest.approx(3 / 4)


def test_mrr_known_values() -> None:
    assert mrr_at_k(RANKED, GOLD, 10) == pytest.approx((1 + 1 / 2 + 0 + 1 / 3) / 4)
    assert mrr_at_k(RANKED, GOLD, 2) == pytest.approx((1 + 1 / 2) / 4)


def test_ndcg_known_values() -> None:
    expected = (1 + 1 / math.log2(3) + 0 + 1 / math.log2(4)) / 4
    assert ndcg_at_k(RANKED, GOLD, 10) == pytest.approx(expected)


def test_ndcg_with_two_relevant_ids() -> None:
    # relevant at ranks 1 and 3; ideal puts them at ranks 1 and 2
    value = ndcg_at_k([["a", "x", "b"]], [{"a", "b"}], 10)
    assert value == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))


def test_duplicate_ids_count_once() -> None:
    assert ndcg_at_k([["a", "a"]], ["a"], 10) == pytest.approx(1.0)


def test_retrieval_metrics_keys() -> None:
    out = retrieval_metrics(RANKED, GOLD, ks=(1, 3))
    assert set(out) == {"hit@1", "hit@3", "mrr@10", "ndcg@10"}


@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_positive(k: int) -> None:
    with pytest.raises(DataError, match="positive"):
        hit_at_k(RANKED, GOLD, k)


def test_no_queries() -> None:
    with pytest.raises(DataError, match="no queries"):
        mrr_at_k([], [], 10)


def test_length_mismatch() -> None:
    with pytest.raises(DataError, match="rankings"):
        ndcg_at_k(RANKED, GOLD[:2], 10)
