"""Rankings: ordering scores, fusing rankings, measuring them and tuning fusion weights.

The one home of every ranking rule in lc-klue, pure NumPy (no models, no LangChain):

- **Order**: :func:`order`, :func:`rank_positions` and :func:`top_k_indices` break ties by the
  lower index, so every ranking is deterministic.
- **Reciprocal-rank fusion**: :func:`rrf` over ranked key lists, :func:`rrf_fuse` over score
  arrays of the same items: ``score = Σ weight / (rrf_k + rank)``.
- **Metrics** (binary relevance): hit@k, MRR@k, nDCG@k from ranked id lists
  (:func:`retrieval_metrics`), all from the 1-based rank of the first relevant item;
  :func:`mean_reciprocal_rank` is the one MRR formula, also the objective of the tuning.
- **Tuning**: :func:`tune_weights`, coordinate ascent on MRR@10 over normalised features.
- **Term weights**: :func:`bm25_idf`, the IDF of BM25 (Lucene's, never negative).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np

from lc_klue.errors import DataError

K = TypeVar("K", bound=Hashable)

DEFAULT_KS: tuple[int, ...] = (1, 5, 10)
#: The RRF constant of Cormack et al. (2009).
RRF_K = 60
#: The cut-off of the MRR that :func:`tune_weights` raises (fusion reports MRR@10).
TUNE_K = 10
#: Weight values :func:`tune_weights` tries for each feature.
DEFAULT_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)

# --------------------------------------------------------------------------- term weights


def bm25_idf(doc_freq: np.ndarray | float, n_docs: int) -> np.ndarray:
    """BM25's inverse document frequency ``log(1 + (N - df + 0.5) / (df + 0.5))``."""
    df = np.asarray(doc_freq, dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


# --------------------------------------------------------------------------- order


def order(scores: np.ndarray) -> np.ndarray:
    """Indices of ``scores`` from best to worst; ties go to the lower index."""
    scores = np.asarray(scores)
    return np.lexsort((np.arange(scores.shape[0]), -scores))


def rank_positions(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every item under ``scores`` (ties: the lower index ranks first)."""
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order(scores)] = np.arange(1, len(scores) + 1)
    return ranks


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest ``scores``, best first; ties go to the lower index.

    Selects with a partition first, so it is linear in the number of scores.
    """
    k = min(k, scores.shape[0])
    if k == scores.shape[0]:
        return order(scores)
    kth = np.partition(scores, -k)[-k]
    above = np.flatnonzero(scores > kth)
    tied = np.flatnonzero(scores == kth)[: k - above.size]
    cand = np.concatenate([above, tied])
    return cand[order(scores[cand])]


# --------------------------------------------------------------------------- fusion


def rrf(
    rankings: Sequence[Sequence[K]],
    weights: Sequence[float] | None = None,
    rrf_k: int = RRF_K,
) -> dict[K, float]:
    """Reciprocal-rank fusion of ranked key lists: ``Σ weight_i / (rrf_k + rank_i(key))``.

    Returns the fused score of every key, best first; ties keep the order of first appearance
    (earlier list, then earlier rank). ``weights`` default to 1 each.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise DataError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[K, float] = {}
    for keys, w in zip(rankings, weights, strict=True):
        for rank, key in enumerate(keys, start=1):
            scores[key] = scores.get(key, 0.0) + w / (rrf_k + rank)
    ranked = sorted(scores, key=lambda key: -scores[key])  # stable: first appearance on ties
    return {key: scores[key] for key in ranked}


def rrf_fuse(
    scores: Sequence[np.ndarray], weights: Sequence[float] | None = None, rrf_k: int = RRF_K
) -> np.ndarray:
    """:func:`rrf` of several score arrays over the same items: the fused score per item."""
    fused = rrf([order(s).tolist() for s in scores], weights, rrf_k)
    out = np.zeros(len(scores[0]) if scores else 0, dtype=np.float64)
    for item, value in fused.items():
        out[item] = value
    return out


def minmax(features: np.ndarray) -> np.ndarray:
    """Scale each column to [0, 1] over the rows (a constant column becomes 0)."""
    lo = features.min(axis=0, keepdims=True)
    span = features.max(axis=0, keepdims=True) - lo
    return np.where(span > 0, (features - lo) / np.where(span > 0, span, 1.0), 0.0)


# --------------------------------------------------------------------------- metrics


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


def gold_ranks(scores: Sequence[np.ndarray], gold_index: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's gold candidate under ``scores`` (ties: lower index first);
    0 where the gold passage is not among the candidates (``gold_index`` -1)."""
    out = np.zeros(len(scores), dtype=np.int64)
    for i, (s, g) in enumerate(zip(scores, gold_index, strict=True)):
        if g >= 0:
            out[i] = 1 + int(np.sum(s > s[g])) + int(np.sum(s[:g] == s[g]))
    return out


def tied_hit_at_1(scores: Sequence[np.ndarray], gold_index: Sequence[int]) -> float:
    """Mean hit@1 when ties are broken at random: a gold candidate tied for the top with
    ``m - 1`` others earns ``1 / m`` (its chance), so the candidates' order never earns a hit;
    a gold absent (``gold_index`` -1) or below the top earns 0."""
    hits = [
        float(s[g] == s.max()) / int(np.sum(s == s[g])) if g >= 0 else 0.0
        for s, g in zip(scores, gold_index, strict=True)
    ]
    return float(np.mean(hits)) if hits else 0.0


def mean_reciprocal_rank(ranks: np.ndarray, k: int = 10) -> float:
    """MRR@k from 1-based ranks (0 = not retrieved): mean of 1/rank, 0 beyond rank ``k``."""
    ranks = np.asarray(ranks)
    return float(np.mean(np.where((ranks > 0) & (ranks <= k), 1.0 / np.maximum(ranks, 1), 0.0)))


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
    return mean_reciprocal_rank(first_relevant_rank(ranked, gold), k)


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


# --------------------------------------------------------------------------- tuning


def tune_weights(
    features: Sequence[np.ndarray],
    gold_index: Sequence[int],
    names: Sequence[str],
    start: dict[str, float] | None = None,
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 3,
    tune: Sequence[str] | None = None,
    min_gain: float = 0.0,
) -> tuple[dict[str, float], float]:
    """Coordinate ascent on MRR@10 (:data:`TUNE_K`) over normalised candidate features.

    ``features[i]`` is query ``i``'s ``(n_candidates, len(names))`` matrix (already
    normalised), ``gold_index[i]`` the row of its gold passage or -1. Starts from ``start``
    (default: the first feature only) and changes one weight of ``tune`` (default: all) at a
    time to the grid value that raises the objective by more than ``min_gain`` (a guard against
    fitting noise); returns the non-zero weights and their MRR@10.
    """
    if not features:
        raise DataError("no tuning questions")
    names = list(names)
    w = np.array([float((start or {names[0]: 1.0}).get(n, 0.0)) for n in names])
    free = [j for j, n in enumerate(names) if tune is None or n in tune]

    def objective(weights: np.ndarray) -> float:
        ranks = gold_ranks([f @ weights for f in features], gold_index)
        return mean_reciprocal_rank(ranks, TUNE_K)

    best = objective(w)
    for _ in range(rounds):
        improved = False
        for j in free:
            for v in grid:
                trial = w.copy()
                trial[j] = v
                if not trial.any():
                    continue
                score = objective(trial)
                if score > best + max(min_gain, 1e-12):
                    best, w, improved = score, trial, True
        if not improved:
            break
    return {n: float(x) for n, x in zip(names, w, strict=True) if x}, best


def fit_cascade_margin(
    margins: Sequence[float],
    first_correct: Sequence[bool],
    reranked_correct: Sequence[bool],
    tolerance: float = 0.0,
) -> dict[str, float | None]:
    """The first-stage score margin above which reranking is skipped (a cascade).

    Per training query: the first stage's top-1 minus top-2 score (``margins``), whether its
    top-1 is right (``first_correct``) and whether the reranked top-1 is
    (``reranked_correct``). Every observed margin is tried as the threshold ``t`` (a query
    with margin ≥ t keeps the first stage's top-1); the chosen ``t`` skips the most queries
    while hit@1 stays at least the always-rerank hit@1 minus ``tolerance``. Returns the
    threshold (None: never skip), the skipped share and hit@1 with and without the cascade.
    """
    m = np.asarray(margins, dtype=np.float64)
    first = np.asarray(first_correct, dtype=bool)
    rerank = np.asarray(reranked_correct, dtype=bool)
    if not (len(m) == len(first) == len(rerank)) or not len(m):
        raise DataError("cascade fitting needs the same non-zero number of margins and outcomes")
    base = float(rerank.mean())
    best: dict[str, float | None] = {
        "threshold": None,
        "skipped": 0.0,
        "hit@1": base,
        "hit@1_always_rerank": base,
    }
    for t in np.unique(m):  # ascending: the first that passes skips the most
        skip = m >= t
        hit = float(np.where(skip, first, rerank).mean())
        if hit >= base - tolerance - 1e-12:
            best |= {"threshold": float(t), "skipped": float(skip.mean()), "hit@1": hit}
            break
    return best
