"""A recall target instead of magic numbers: recall@10 of approximate search against exact
search, and the cheapest search setting that reaches a target — HNSW ``efSearch`` or IVF
``nprobe`` of a FAISS index (:func:`tune_faiss_search`), or any search with a cost knob
(:func:`cheapest_setting`).

The queries are a seeded sample of the corpus's own passage vectors (or vectors given, such as
the user's questions); the exact top 10 come from brute-force inner product over the same
normalised vectors. Build-time parameters (HNSW ``M``, IVF ``nlist``) are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from lc_klue.errors import RetrievalError

K = 10
DEFAULT_TARGET = 0.95
DEFAULT_QUERIES = 200
#: HNSW ``efSearch`` (and Qdrant ``hnsw_ef``) values tried, cheapest first.
EF_LADDER = (16, 32, 64, 128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class SearchTuning:
    """The cheapest search setting that reached a recall@10 target, and what it measured."""

    parameter: str
    """``ef_search`` (HNSW), ``nprobe`` (IVF) or ``hnsw_ef`` (Qdrant)."""
    value: int
    """The setting chosen."""
    recall_at_10: float
    """Recall@10 against exact search at that setting."""
    recall_target: float
    """The target it reached."""
    queries: int
    """Queries the recall was measured on."""

    def record(self) -> dict[str, Any]:
        """``recall_target``, ``recall_at_10``, the parameter and ``queries``, as a manifest or
        an index's config records them."""
        return {
            "recall_target": self.recall_target,
            "recall_at_10": round(self.recall_at_10, 4),
            self.parameter: self.value,
            "queries": self.queries,
        }

    def line(self) -> str:
        """One line for a log: the setting and the recall it measured."""
        return (
            f"{self.parameter} {self.value}: recall@10 {self.recall_at_10:.3f} against exact "
            f"search on {self.queries} queries (target {self.recall_target:g})"
        )


def check_target(target: float) -> float:
    """``target`` if it lies in (0, 1], else one :class:`RetrievalError` line."""
    if not 0 < target <= 1:
        raise RetrievalError(f"a recall target lies in (0, 1], got {target:g}")
    return float(target)


def sample_queries(vectors: np.ndarray, n: int = DEFAULT_QUERIES, seed: int = 0) -> np.ndarray:
    """A seeded sample of ``n`` rows of ``vectors`` (all of them when fewer), as queries."""
    rows = np.random.default_rng(seed).choice(len(vectors), min(n, len(vectors)), replace=False)
    return np.array(vectors[np.sort(rows)], dtype=np.float32)


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Positions of each query's exact top ``k`` (at most all vectors) by inner product."""
    base = np.ascontiguousarray(vectors, dtype=np.float32)  # a memory map stays one
    return faiss.knn(queries, base, min(k, len(base)), metric=faiss.METRIC_INNER_PRODUCT)[1]


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact neighbours that its row of ``found`` holds."""
    shares = [len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)]
    return float(np.mean(shares))


def cheapest_setting(
    search: Callable[[int], np.ndarray],
    exact: np.ndarray,
    ladder: Sequence[int],
    parameter: str,
    target: float = DEFAULT_TARGET,
) -> SearchTuning:
    """The first value of ``ladder`` (cheapest first) at which ``search(value)`` (the
    positions found for each query, one row each) holds ``target`` of ``exact``'s; one
    :class:`RetrievalError` line naming the best recall reached when none does."""
    target = check_target(target)
    best = (-1.0, ladder[0])
    for value in ladder:
        recall = recall_at_k(search(value), exact)
        if recall >= target:
            return SearchTuning(parameter, int(value), recall, target, len(exact))
        best = max(best, (recall, value))
    raise RetrievalError(
        f"recall@10 target {target:g} not reached: the best is {best[0]:.3f} at {parameter} "
        f"{best[1]} (of {', '.join(map(str, ladder))}); lower the target (--recall) or use "
        "exact search (--index-type flat)"
    )


def search_ladder(index: faiss.Index) -> tuple[str, list[int]]:
    """The search parameter of an HNSW or IVF index and its values, cheapest first: efSearch
    :data:`EF_LADDER`; nprobe 1, 2, 4, … up to ``nlist`` (exhaustive)."""
    if isinstance(index, faiss.IndexHNSW):
        return "ef_search", list(EF_LADDER)
    if isinstance(index, faiss.IndexIVF):
        nlist = int(index.nlist)
        return "nprobe", [2**i for i in range(nlist.bit_length()) if 2**i < nlist] + [nlist]
    raise RetrievalError("only an HNSW or IVF index has a search setting to tune (flat is exact)")


def set_search(index: faiss.Index, parameter: str, value: int) -> None:
    """Set an HNSW index's efSearch or an IVF index's nprobe."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = int(value)
    else:
        faiss.extract_index_ivf(index).nprobe = int(value)


def tune_faiss_search(
    index: faiss.Index,
    vectors: np.ndarray,
    target: float = DEFAULT_TARGET,
    *,
    queries: np.ndarray | None = None,
    ladder: Sequence[int] | None = None,
) -> SearchTuning:
    """Set ``index`` (HNSW or IVF, over the normalised ``vectors``) at the cheapest
    efSearch/nprobe of ``ladder`` (default :func:`search_ladder`) whose recall@10 against
    exact search reaches ``target``, and return it. ``queries``: default a seeded sample of
    :data:`DEFAULT_QUERIES` of ``vectors``; given ones (say the user's questions) are
    normalised. An unreachable target is one :class:`RetrievalError` line."""
    check_target(target)
    if queries is None:
        queries = sample_queries(vectors)
    else:
        queries = np.array(queries, dtype=np.float32)
        faiss.normalize_L2(queries)
    exact = exact_neighbours(vectors, queries)
    parameter, default = search_ladder(index)

    def search(value: int) -> np.ndarray:
        """Positions found by ``index`` at this setting."""
        set_search(index, parameter, value)
        return index.search(queries, exact.shape[1])[1]

    tuning = cheapest_setting(search, exact, ladder or default, parameter, target)
    set_search(index, parameter, tuning.value)
    return tuning
