"""Rankings: order and top-k ties, RRF, metrics worked out by hand, and weight tuning."""

import math

import numpy as np
import pytest

from lc_klue.errors import DataError
from lc_klue.ranking import (
    fit_cascade_margin,
    gold_ranks,
    hit_at_k,
    mean_reciprocal_rank,
    minmax,
    mrr_at_k,
    ndcg_at_k,
    order,
    rank_positions,
    retrieval_metrics,
    rrf,
    rrf_fuse,
    tied_hit_at_1,
    top_k_indices,
    tune_weights,
)

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


def test_order_and_top_k_break_ties_by_the_lower_index() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9, 0.5])
    assert order(scores).tolist() == [1, 4, 0, 2, 5, 3]
    assert rank_positions(scores).tolist() == [3, 1, 4, 6, 2, 5]
    for k in range(1, 7):  # the partition path agrees with a full sort
        assert top_k_indices(scores, k).tolist() == order(scores)[:k].tolist()
    assert top_k_indices(scores, 10).tolist() == order(scores).tolist()


def test_rrf_scores_order_and_weights() -> None:
    fused = rrf([["a", "b", "c"], ["c", "d", "a"]], rrf_k=1)
    assert fused == pytest.approx({"a": 1 / 2 + 1 / 4, "c": 1 / 4 + 1 / 2, "b": 1 / 3, "d": 1 / 3})
    assert list(fused) == ["a", "c", "b", "d"]  # ties: first appearance
    assert list(rrf([["a", "b"], ["b", "a"]], [1.0, 3.0], rrf_k=0)) == ["b", "a"]
    with pytest.raises(DataError, match="2 weights for 1 rankings"):
        rrf([["a"]], [1.0, 1.0])


def test_rrf_fuse_is_rrf_over_the_orders_of_score_arrays() -> None:
    a, b = np.array([3.0, 1.0, 2.0]), np.array([0.0, 5.0, 5.0])
    fused = rrf_fuse([a, b], [1.0, 2.0], rrf_k=0)
    # a ranks 0,2,1; b ranks 1,2,0 (tie between 1 and 2: lower index first)
    assert fused.tolist() == pytest.approx([1 / 1 + 2 / 3, 1 / 3 + 2 / 1, 1 / 2 + 2 / 2])


def test_mean_reciprocal_rank_is_the_mrr_of_ranks() -> None:
    assert mean_reciprocal_rank(np.array([1, 2, 0, 11]), k=10) == pytest.approx((1 + 0.5) / 4)
    assert mean_reciprocal_rank(np.array([1, 2, 0, 3]), k=10) == pytest.approx(
        mrr_at_k([["g"], ["x", "g"], ["y"], ["x", "y", "g"]], ["g"] * 4, 10)
    )


def test_minmax_and_gold_ranks() -> None:
    f = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    assert minmax(f).tolist() == [[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]]
    scores = [np.array([0.1, 0.9, 0.5]), np.array([0.3, 0.3]), np.array([1.0])]
    assert gold_ranks(scores, [2, 1, -1]).tolist() == [2, 2, 0]
    assert gold_ranks(scores[:1], [2]).tolist() == [rank_positions(scores[0])[2]]


def test_tune_weights_finds_the_informative_feature() -> None:
    rng = np.random.default_rng(0)
    feats, gold = [], []
    for _ in range(40):
        f = rng.random((5, 3))
        f[:, 0] = np.linspace(1, 0, 5)  # first stage: gold usually not first
        g = int(rng.integers(1, 5))
        f[g, 2] = 1.5  # the third feature points at the gold passage
        feats.append(f)
        gold.append(g)
    names = ["first_stage", "noise", "signal"]
    weights, mrr = tune_weights(feats, gold, names)
    assert weights.get("signal", 0) > weights.get("noise", 0)
    assert mrr == pytest.approx(1.0)
    only, _ = tune_weights(feats, gold, names, tune=("noise",))
    assert "signal" not in only  # only the named features may change
    kept, _ = tune_weights(feats, gold, names, min_gain=1.0)
    assert kept == {"first_stage": 1.0}  # no change is worth a gain of 1.0
    with pytest.raises(DataError, match="no tuning questions"):
        tune_weights([], [], ["a"])


def test_fit_cascade_margin_skips_the_most_without_losing_hit_at_1() -> None:
    margins = [0.9, 0.8, 0.5, 0.3, 0.1, 0.05]
    first = [True, True, True, False, False, True]
    rerank = [True, True, False, True, True, False]
    fit = fit_cascade_margin(margins, first, rerank)
    # reranking all: 4/6; keeping the first stage above 0.5 gives 5/6, above 0.8 gives 4/6;
    # above 0.05 (all) 4/6 too, the most skipped at no loss
    assert fit["threshold"] == 0.05 and fit["skipped"] == 1.0
    assert fit["hit@1"] == pytest.approx(4 / 6) == fit["hit@1_always_rerank"]
    # a perfect reranker: skip only where the first stage is right too (margins >= 0.5)
    strong = fit_cascade_margin(margins, first, [True] * 6)
    assert strong["threshold"] == 0.5 and strong["skipped"] == 0.5 and strong["hit@1"] == 1.0
    never = fit_cascade_margin(margins, [False] * 6, [True] * 6)
    assert never["threshold"] is None and never["skipped"] == 0.0
    loose = fit_cascade_margin(margins, first, [True] * 6, tolerance=0.2)  # 5/6 >= 1 - 0.2
    assert loose["threshold"] == 0.3 and loose["skipped"] == pytest.approx(4 / 6)
    with pytest.raises(DataError, match="same non-zero number"):
        fit_cascade_margin([0.1], [True, False], [True])


def test_tied_hit_at_1_credits_a_tie_at_the_top_by_chance() -> None:
    scores = [np.array([0.5, 0.5, 0.2]), np.array([0.9, 0.1]), np.array([0.1, 0.9]), np.ones(4)]
    # tied with one other: 1/2; alone on top: 1; below: 0; all four tied: 1/4; absent: 0
    assert tied_hit_at_1(scores, [1, 0, 0, 3]) == pytest.approx((0.5 + 1 + 0 + 0.25) / 4)
    assert tied_hit_at_1(scores[:1], [-1]) == 0.0
    assert tied_hit_at_1([], []) == 0.0
