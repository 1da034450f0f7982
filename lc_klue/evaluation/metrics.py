"""Ranking metrics over ranked id lists: hit@k, MRR@k, nDCG@k (binary relevance).

``ranked[i]`` is the ranked list of document ids returned for query ``i``; ``gold[i]`` is the
relevant id (or a set of relevant ids) of that query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lc_klue.errors import DataError

DEFAULT_KS: tuple[int, ...] = (1, 5, 10)


def _gold_sets(gold: Sequence[str | Iterable[str]]) -> list[set[str]]:
    return [{g} if isinstance(g, str) else set(g) for g in gold]


def _check(ranked: Sequence[Sequence[str]], gold: Sequence[object], k: int) -> None:
    if k <= 0:
        raise DataError(f"k must be a positive integer, got {k}")
    if len(ranked) != len(gold):
        raise DataError(f"{len(ranked)} rankings for {len(gold)} gold answers")
    if not ranked:
        raise DataError("no queries to evaluate")


def first_relevant_rank(
    ranked: Sequence[Sequence[str]], gold: Sequence[str | Iterable[str]]
) -> np.ndarray:
    """1-based rank of the first relevant id per query; 0 where none is retrieved."""
    out = np.zeros(len(ranked), dtype=np.int64)
    for i, (ids, rel) in enumerate(zip(ranked, _gold_sets(gold), strict=True)):
        for r, doc in enumerate(ids, start=1):
            if doc in rel:
                out[i] = r
                break
    return out


def hit_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str | Iterable[str]], k: int) -> float:
    """Fraction of queries with a relevant id among the first ``k``."""
    _check(ranked, gold, k)
    rank = first_relevant_rank(ranked, gold)
    return float(np.mean((rank > 0) & (rank <= k)))


def mrr_at_k(
    ranked: Sequence[Sequence[str]], gold: Sequence[str | Iterable[str]], k: int = 10
) -> float:
    """Mean reciprocal rank of the first relevant id, 0 when it is not in the first ``k``."""
    _check(ranked, gold, k)
    rank = first_relevant_rank(ranked, gold)
    rr = np.where((rank > 0) & (rank <= k), 1.0 / np.maximum(rank, 1), 0.0)
    return float(rr.mean())


def ndcg_at_k(
    ranked: Sequence[Sequence[str]], gold: Sequence[str | Iterable[str]], k: int = 10
) -> float:
    """Mean nDCG@k with binary gains: DCG = Σ rel_i / log2(i + 1), ideal = all relevant first."""
    _check(ranked, gold, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    scores = []
    for ids, rel in zip(ranked, _gold_sets(gold), strict=True):
        seen: set[str] = set()
        gains = []
        for doc in list(ids)[:k]:
            gains.append(1.0 if doc in rel and doc not in seen else 0.0)
            seen.add(doc)
        dcg = float(np.dot(gains, discounts[: len(gains)]))
        ideal = float(discounts[: min(len(rel), k)].sum())
        scores.append(dcg / ideal if ideal > 0 else 0.0)
    return float(np.mean(scores))


def retrieval_metrics(
    ranked: Sequence[Sequence[str]],
    gold: Sequence[str | Iterable[str]],
    ks: Sequence[int] = DEFAULT_KS,
    k_rank: int = 10,
) -> dict[str, float]:
    """``hit@k`` for every k in ``ks`` plus ``mrr@k_rank`` and ``ndcg@k_rank``."""
    out = {f"hit@{k}": hit_at_k(ranked, gold, k) for k in ks}
    out[f"mrr@{k_rank}"] = mrr_at_k(ranked, gold, k_rank)
    out[f"ndcg@{k_rank}"] = ndcg_at_k(ranked, gold, k_rank)
    return out
