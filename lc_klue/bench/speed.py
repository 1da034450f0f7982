"""Cross-encoder reranking speed: the book's one-``predict``-per-query loop against batched
scoring and faster variants (another backend, windows, a cascade) on the same candidates, and
which of them is a speed-up at the book's quality."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document

from lc_klue.data import context_id
from lc_klue.models.reranker import score_pairs_batched, score_pairs_per_query
from lc_klue.ranking import order, retrieval_metrics


def ids(docs: Sequence[Any]) -> list[str]:
    """The context ids of ``docs``."""
    return [context_id(d) for d in docs]


def ranking_summary(
    ranked: list[list[str]], book: list[list[str]], gold: Sequence[str] | None
) -> dict[str, Any]:
    """Quality (hit@1, nDCG@10 against ``gold``) and agreement with the book's rankings."""
    pairs = list(zip(ranked, book, strict=True))
    out: dict[str, Any] = {
        "top1_agreement": float(np.mean([a[:1] == b[:1] for a, b in pairs])),
        "overlap@10": float(
            np.mean([len(set(a[:10]) & set(b[:10])) / max(1, len(b[:10])) for a, b in pairs])
        ),
    }
    if gold is not None:
        m = retrieval_metrics(ranked, list(gold), ks=(1,))
        out |= {"hit@1": m["hit@1"], "mrr@10": m["mrr@10"], "ndcg@10": m["ndcg@10"]}
    return out


#: How far a faster reranking's hit@1 and MRR@10 may be from the book's loop (either way) and
#: still count as the same quality, so that its time ratio counts as a speed-up.
QUALITY_TOLERANCE = 0.005


def _quality_gap(config: dict[str, Any], reference: dict[str, Any], tolerance: float) -> str | None:
    """Why ``config``'s quality is not ``reference``'s (None when it is): no pairs scored, or
    hit@1 / MRR@10 further than ``tolerance`` from the reference's (without gold passages: a
    top 1 other than the reference's for more than ``tolerance`` of the queries)."""
    if config["pairs_scored"] == 0:
        return "scored no pairs (its time is that of skipping the reranker, not of reranking)"
    for key in ("hit@1", "mrr@10"):
        if key in reference and abs(config[key] - reference[key]) > tolerance + 1e-9:
            return f"{key} {config[key]:.3f} vs {reference[key]:.3f}: not the same quality"
    if "hit@1" not in reference and config["top1_agreement"] < 1 - tolerance - 1e-9:
        return f"the same top 1 for only {config['top1_agreement']:.3f} of the queries"
    return None


def equal_quality_speedups(
    configs: dict[str, dict[str, Any]],
    reference: str = "book",
    tolerance: float = QUALITY_TOLERANCE,
) -> dict[str, Any]:
    """Give each configuration its ``time_ratio`` (the reference's seconds over its own) and a
    ``speedup``: that ratio only at the reference's quality (:func:`_quality_gap`), else None
    with the reason in ``speedup_note``. Returns the headline: the fastest configuration at
    that quality (``fastest``, ``fastest_s``, ``speedup``; None and a ``speedup_note`` when
    none is) and the fastest of all (``fastest_overall``, its ``time_ratio``)."""
    ref = configs[reference]
    for name, c in configs.items():
        c["time_ratio"] = ref["seconds"] / c["seconds"] if c["seconds"] > 0 else None
        gap = None if name == reference else _quality_gap(c, ref, tolerance)
        if c["time_ratio"] is None:
            gap = gap or "no measurable time"
        c["speedup"] = None if gap else c["time_ratio"]
        c.pop("speedup_note", None)
        if gap:
            c["speedup_note"] = gap
        for key in ("hit@1", "mrr@10"):
            if key in ref:
                c[f"{key}_change"] = c[key] - ref[key]
    others = [n for n in configs if n != reference]
    overall = min(others, key=lambda n: configs[n]["seconds"])
    kept = [n for n in others if configs[n]["speedup"] is not None]
    fastest = min(kept, key=lambda n: configs[n]["seconds"]) if kept else None
    out: dict[str, Any] = {
        "quality_tolerance": tolerance,
        "fastest": fastest,
        "fastest_s": configs[fastest]["seconds"] if fastest else None,
        "speedup": configs[fastest]["speedup"] if fastest else None,
        "fastest_overall": overall,
        "fastest_overall_time_ratio": configs[overall]["time_ratio"],
    }
    if fastest is None:
        out["speedup_note"] = (
            f"no variant reranked at the quality of {reference!r} (hit@1 and MRR@10 within "
            f"{tolerance}, pairs scored): no speed-up to report"
        )
    return out


def _book_and_batched(
    model: Any, queries: list[str], texts: list[list[str]], batch_size: int
) -> dict[str, Any]:
    """Scores and seconds of the book's per-query loop and of batched scoring (after a warm-up
    of both on the first queries), whether they rank alike and how far their scores are."""
    warm = min(4, len(queries))
    score_pairs_batched(model, queries[:warm], texts[:warm], batch_size=batch_size)
    score_pairs_per_query(model, queries[:warm], texts[:warm], batch_size=batch_size)
    t0 = time.perf_counter()
    loop = score_pairs_per_query(model, queries, texts, batch_size=batch_size)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = score_pairs_batched(model, queries, texts, batch_size=batch_size)
    t_batched = time.perf_counter() - t0
    same = [
        np.array_equal(np.argsort(-a, kind="stable"), np.argsort(-b, kind="stable"))
        for a, b in zip(loop, batched, strict=True)
    ]
    diff = max(
        (float(np.max(np.abs(a - b))) for a, b in zip(loop, batched, strict=True) if len(a)),
        default=0,
    )
    return {
        "loop": loop,
        "batched": batched,
        "per_query_s": t_loop,
        "batched_s": t_batched,
        "identical_rankings": int(sum(same)),
        "max_abs_score_diff": diff,
    }


def _variant(
    reranker: Any,
    docs: list[list[Document]],
    queries: list[str],
    book: list[list[str]],
    gold: Sequence[str] | None,
) -> dict[str, Any]:
    """Seconds, pairs scored, quality and agreement of one reranking variant (after a warm-up
    on the first queries)."""
    warm = min(4, len(queries))
    reranker = reranker.model_copy(update={"top_n": max(len(c) for c in docs)})
    reranker.compress_documents_batch(docs[:warm], queries[:warm])
    t0 = time.perf_counter()
    out = reranker.compress_documents_batch(docs, queries)
    seconds = time.perf_counter() - t0
    scored = sum(
        len(cs)
        for cs, o in zip(docs, out, strict=True)
        if o and o[0].metadata.get("reranked", True)
    )
    return {
        "seconds": seconds,
        "pairs_scored": scored,
        **ranking_summary([ids(o) for o in out], book, gold),
    }


def rerank_speed(
    model: Any,
    queries: list[str],
    candidates: list[list[Any]],
    batch_size: int,
    *,
    gold: Sequence[str] | None = None,
    variants: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The book's loop against faster reranking on the same queries and candidates, one run.

    ``candidates`` are Documents (or texts). The book's loop is one ``predict`` per query on the
    whole passages (fp32 as loaded); ``batched`` scores all pairs in one length-sorted stream;
    each of ``variants`` (name → :class:`~lc_klue.retrieval.compressor.CrossEncoderReranker`:
    another backend, windows, a cascade) reranks through ``compress_documents_batch``. Each gets
    seconds, pairs scored, hit@1 and nDCG@10 (with ``gold`` context ids) and agreement with the
    book's rankings (same top 1, overlap of the top 10). ``speedup`` is the book's time over
    the fastest variant's at the book's quality (:func:`equal_quality_speedups`); a variant
    that scores no pairs or changes hit@1 or MRR@10 has a ``time_ratio`` but no speed-up.
    """
    docs = [
        [c if isinstance(c, Document) else Document(page_content=c) for c in cs]
        for cs in candidates
    ]
    texts = [[d.page_content for d in cs] for cs in docs]
    pairs = sum(len(c) for c in texts)
    timed = _book_and_batched(model, queries, texts, batch_size)

    def ranked(scores: list[np.ndarray]) -> list[list[str]]:
        """Each query's candidate ids in the order of ``scores``."""
        return [[ids(cs)[int(i)] for i in order(sc)] for cs, sc in zip(docs, scores, strict=True)]

    book = ranked(timed.pop("loop"))
    batched = ranked(timed.pop("batched"))
    configs: dict[str, dict[str, Any]] = {
        "book": {"seconds": timed["per_query_s"], "pairs_scored": pairs}
        | ranking_summary(book, book, gold),
        "batched": {"seconds": timed["batched_s"], "pairs_scored": pairs}
        | ranking_summary(batched, book, gold),
    }
    for name, reranker in (variants or {}).items():
        configs[name] = _variant(reranker, docs, queries, book, gold)
    headline = equal_quality_speedups(configs)
    return {
        "queries": len(queries),
        "pairs": pairs,
        "batch_size": batch_size,
        "per_query_s": timed["per_query_s"],
        "batched_s": timed["batched_s"],
        **headline,
        "identical_rankings": timed["identical_rankings"],
        "max_abs_score_diff": timed["max_abs_score_diff"],
        "configs": configs,
    }
