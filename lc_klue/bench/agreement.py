"""Do the stores agree? Qdrant against FAISS flat (dense) and bm25s (BM25) on one MRC data set,
and hybrid fusion inside Qdrant against fusion in the package.

Dense: the top-``k`` passages of every question must be the same (a difference counts as a
tie when the scores it swaps are within ``tie_tolerance``). BM25 and hybrid: hit@k, MRR and
latency of each retriever through :func:`lc_klue.evaluation.evaluate`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datasets import Dataset
from langchain_core.embeddings import Embeddings

from lc_klue.evaluation import EvalSet, EvalSettings, build_eval_set, evaluate
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.hybrid import HybridRetriever
from lc_klue.retrieval.qdrant_store import KlueQdrant, connect

logger = logging.getLogger(__name__)

#: Two cosine scores closer than this are a tie (float32 summation order differs by store).
TIE_TOLERANCE = 1e-5


def dense_agreement(
    faiss_hits: Sequence[Sequence[tuple[Any, float]]],
    qdrant_hits: Sequence[Sequence[tuple[Any, float]]],
    tie_tolerance: float = TIE_TOLERANCE,
) -> dict[str, Any]:
    """Compare two stores' ranked ``(Document, score)`` lists question by question."""
    same = ties = 0
    differing: list[int] = []
    max_gap = 0.0
    for i, (a, b) in enumerate(zip(faiss_hits, qdrant_hits, strict=True)):
        ids_a, ids_b = [d.id for d, _ in a], [d.id for d, _ in b]
        gap = max((abs(sa - sb) for (_, sa), (_, sb) in zip(a, b, strict=False)), default=0.0)
        max_gap = max(max_gap, gap)
        if ids_a == ids_b:
            same += 1
            continue
        score = {d.id: s for d, s in [*a, *b]}
        swapped = [x for x, y in zip(ids_a, ids_b, strict=False) if x != y]
        swapped += [y for x, y in zip(ids_a, ids_b, strict=False) if x != y]
        spread = max(score[x] for x in swapped) - min(score[x] for x in swapped)
        if len(ids_a) == len(ids_b) and spread <= tie_tolerance:
            ties += 1
        else:
            differing.append(i)
    return {
        "questions": len(faiss_hits),
        "identical": same,
        "tie_swaps_only": ties,
        "different": len(differing),
        "different_questions": differing[:20],
        "max_score_gap": max_gap,
    }


@dataclass(frozen=True)
class AgreementSettings:
    """What :func:`store_agreement` compares, on how many questions."""

    questions: int | None = None
    """Questions sampled (None: every question)."""
    seed: int = 42
    """Seed of the sample."""
    k: int = 10
    """Passages each retriever returns."""
    k1: float = 1.5
    """BM25 term-frequency saturation (both BM25 stores)."""
    b: float = 0.75
    """BM25 length normalisation (both BM25 stores)."""
    latency_queries: int = 200
    """Single-query timings per retriever."""
    hybrid: bool = True
    """Also measure the two places of fusion (in Qdrant, in the package)."""
    show_progress: bool = False
    """Show progress bars."""


def _build(docs: list[Any], embeddings: Embeddings, s: AgreementSettings) -> dict[str, Any]:
    """FAISS flat, Kiwi BM25 and one Qdrant collection (embedded, in memory) over ``docs``,
    with their build seconds (``timings``)."""
    from lc_klue.retrieval.bm25 import KiwiBM25Retriever

    timings: dict[str, float] = {}
    start = time.perf_counter()
    faiss = KlueFAISS.from_texts(
        [d.page_content for d in docs],
        embeddings,
        [d.metadata for d in docs],
        ids=[d.metadata["context_id"] for d in docs],
    )
    timings["faiss_flat_build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    bm25 = KiwiBM25Retriever(docs=docs, k1=s.k1, b=s.b, k=s.k)
    timings["kiwi_bm25_build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    qdrant = KlueQdrant.from_documents(
        docs, embeddings, client=connect(":memory:"), k1=s.k1, b=s.b, show_progress=s.show_progress
    )
    timings["qdrant_build_s"] = time.perf_counter() - start
    logger.info("built the stores over %d passages: %s", len(docs), timings)
    return {"faiss": faiss, "bm25": bm25, "qdrant": qdrant, "timings": timings}


def _retrievers(stores: dict[str, Any], k: int, hybrid: bool) -> dict[str, Any]:
    """The retrievers compared, by name: each store alone, and (``hybrid``) the fusions."""
    faiss, bm25, qdrant = stores["faiss"], stores["bm25"], stores["qdrant"]
    out = {
        "FAISS flat (dense)": faiss.as_retriever(k=k),
        "Qdrant dense": qdrant.view("dense").as_retriever(k=k),
        "Kiwi BM25 (bm25s)": bm25,
        "Qdrant BM25 (sparse, IDF modifier)": qdrant.view("bm25").as_retriever(k=k),
    }
    if not hybrid:
        return out
    return out | {
        "hybrid, fused in Qdrant (RRF query)": qdrant.hybrid_retriever(k=k),
        "hybrid, fused in the package (RRF over 2 Qdrant searches)": HybridRetriever(
            retrievers=[
                qdrant.view("dense").as_retriever(k=k),
                qdrant.view("bm25").as_retriever(k=k),
            ],
            k=k,
        ),
        "hybrid, package RRF over FAISS + bm25s": HybridRetriever(
            retrievers=[faiss.as_retriever(k=k), bm25], k=k
        ),
    }


def store_agreement(
    data: Dataset, embeddings: Embeddings, settings: AgreementSettings | None = None
) -> dict[str, Any]:
    """Build FAISS flat, Kiwi BM25 and one Qdrant collection (embedded, in memory) over the
    distinct passages of ``data`` and compare them on its questions (all, or a sample of
    ``settings.questions``); ``settings.hybrid`` also measures the two places of fusion."""
    s = settings or AgreementSettings()
    es = build_eval_set(data, "full", s.questions, seed=s.seed)
    stores = _build(es.documents(), embeddings, s)
    dense = dense_agreement(
        stores["faiss"].batch_search_with_score(es.questions, s.k),
        stores["qdrant"].view("dense").batch_search_with_score(es.questions, s.k),
    )
    results = {
        name: _evaluate(r, es, name, s) for name, r in _retrievers(stores, s.k, s.hybrid).items()
    }
    sparse = results["Qdrant BM25 (sparse, IDF modifier)"]["metrics"]
    lexical = results["Kiwi BM25 (bm25s)"]["metrics"]
    return {
        "eval_set": es.describe(),
        "embedding": getattr(embeddings, "model_name_or_path", type(embeddings).__name__),
        "bm25": {"k1": s.k1, "b": s.b},
        "build": stores["timings"],
        "dense_top_k": dense,
        "bm25_hit_differences": {
            f"hit@{n}": abs(sparse[f"hit@{n}"] - lexical[f"hit@{n}"]) for n in (1, s.k)
        },
        "retrievers": results,
    }


def _evaluate(retriever: Any, es: EvalSet, name: str, s: AgreementSettings) -> dict[str, Any]:
    """Quality and latency of one retriever (:func:`lc_klue.evaluation.evaluate`)."""
    settings = EvalSettings(
        ks=(1, 5, s.k),
        batch_size=256,
        latency_queries=s.latency_queries,
        show_progress=s.show_progress,
    )
    result = evaluate(retriever, es, name=name, settings=settings).to_dict()
    keep = ("metrics", "latency_p50_ms", "latency_p95_ms", "total_s", "queries_per_s")
    return {key: result[key] for key in keep if key in result}
