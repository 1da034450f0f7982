"""A recall target instead of magic numbers: the cheapest efSearch/nprobe reaching it."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from lc_klue.errors import RetrievalError
from lc_klue.retrieval.recall import (
    EF_LADDER,
    cheapest_setting,
    check_target,
    exact_neighbours,
    recall_at_k,
    sample_queries,
    search_ladder,
    set_search,
    tune_faiss_search,
)

DIM = 64


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((3000, DIM)).astype(np.float32)
    faiss.normalize_L2(x)
    return x


def _hnsw(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexHNSWFlat(DIM, 8, faiss.METRIC_INNER_PRODUCT)  # small M: a long ladder
    index.hnsw.efConstruction = 40
    index.add(vectors)
    return index


def _ivf(vectors: np.ndarray, nlist: int = 64) -> faiss.Index:
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    return index


def _recall_at(index: faiss.Index, vectors: np.ndarray, parameter: str, value: int) -> float:
    """Recall@10 of ``index`` at one setting, on the default sample of the passages."""
    queries = sample_queries(vectors)
    set_search(index, parameter, value)
    return recall_at_k(index.search(queries, 10)[1], exact_neighbours(vectors, queries))


@pytest.mark.parametrize(("kind", "target"), [("hnsw", 0.95), ("ivf", 0.95), ("ivf", 0.8)])
def test_the_cheapest_setting_reaching_the_target_is_chosen(
    vectors: np.ndarray, kind: str, target: float
) -> None:
    index = _hnsw(vectors) if kind == "hnsw" else _ivf(vectors)
    parameter, ladder = search_ladder(index)
    assert ladder == (list(EF_LADDER) if kind == "hnsw" else [1, 2, 4, 8, 16, 32, 64])
    tuning = tune_faiss_search(index, vectors, target)
    assert tuning.parameter == parameter and tuning.queries == 200
    assert tuning.recall_at_10 >= target and tuning.recall_target == target
    rung = ladder.index(tuning.value)
    assert rung > 0  # the sample is hard enough that the cheapest rung misses
    assert _recall_at(index, vectors, parameter, ladder[rung - 1]) < target
    assert _recall_at(index, vectors, parameter, tuning.value) == pytest.approx(tuning.recall_at_10)
    assert tuning.record() == {
        "recall_target": target,
        "recall_at_10": round(tuning.recall_at_10, 4),
        parameter: tuning.value,
        "queries": 200,
    }
    # the index is left at the chosen setting
    if kind == "hnsw":
        assert index.hnsw.efSearch == tuning.value
    else:
        assert index.nprobe == tuning.value


def test_given_queries_are_normalised_and_counted(vectors: np.ndarray) -> None:
    noisy = 3 * (vectors[:50] + 0.05 * np.random.default_rng(1).standard_normal((50, DIM)))
    tuning = tune_faiss_search(_ivf(vectors), vectors, 0.9, queries=noisy.astype(np.float32))
    assert tuning.queries == 50 and tuning.recall_at_10 >= 0.9


def test_an_unreachable_target_is_one_line(vectors: np.ndarray) -> None:
    with pytest.raises(RetrievalError) as caught:
        tune_faiss_search(_ivf(vectors), vectors, 0.99, ladder=[1, 2])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("recall@10 target 0.99 not reached: the best is 0.")
    assert "at nprobe 2 (of 1, 2); lower the target (--recall) or use exact search" in message
    # the whole ladder reaches any target: nprobe = nlist is exhaustive
    assert tune_faiss_search(_ivf(vectors), vectors, 1.0).value == 64


def test_cheapest_setting_on_any_search() -> None:
    exact = np.arange(20).reshape(2, 10)
    half = np.concatenate([exact[:, :5], -np.ones((2, 5), dtype=int)], axis=1)
    found = {10: half, 20: exact}
    tuning = cheapest_setting(found.__getitem__, exact, [10, 20], "hnsw_ef", 0.9)
    assert (tuning.value, tuning.recall_at_10, tuning.queries) == (20, 1.0, 2)
    assert tuning.line() == (
        "hnsw_ef 20: recall@10 1.000 against exact search on 2 queries (target 0.9)"
    )
    assert cheapest_setting(found.__getitem__, exact, [10, 20], "hnsw_ef", 0.5).value == 10
    with pytest.raises(RetrievalError, match=r"the best is 0\.500 at hnsw_ef 10"):
        cheapest_setting(found.__getitem__, exact, [10], "hnsw_ef", 0.6)


def test_bad_targets_and_a_flat_index_are_refused(vectors: np.ndarray) -> None:
    for bad in (0.0, -0.5, 1.01):
        with pytest.raises(RetrievalError, match=r"lies in \(0, 1\]"):
            check_target(bad)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(vectors)
    with pytest.raises(RetrievalError, match="flat is exact"):
        tune_faiss_search(flat, vectors)
    assert len(sample_queries(vectors[:50])) == 50  # fewer passages than queries: all of them
