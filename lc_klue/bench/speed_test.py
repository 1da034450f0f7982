"""The benchmark's reranking speed test: the cross-encoder on the first protocol's questions,
the book's loop against its variants (another backend, windows, both, and a cascade fitted on
the tuning questions), through :func:`lc_klue.bench.speed.rerank_speed`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from lc_klue.bench.data import BenchData
from lc_klue.bench.settings import BenchmarkSettings
from lc_klue.bench.speed import ids, ranking_summary, rerank_speed
from lc_klue.models import onnx_backend
from lc_klue.models.reranker import load_cross_encoder
from lc_klue.ranking import fit_cascade_margin
from lc_klue.retrieval.bm25 import TUNED_BM25
from lc_klue.retrieval.compressor import CrossEncoderReranker, first_stage_margin
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import PipelineSpec, build_pipeline

logger = logging.getLogger(__name__)


@dataclass
class _Rerankers:
    """One reranker per (model, window), so that a window's passage analyses are made once per
    model; a cascade is a copy of it with the margin set (its window chooser shared)."""

    k: int
    """Candidates kept."""
    batch_size: int
    """Pairs per forward pass."""
    made: dict[tuple[int, int | None], CrossEncoderReranker] = field(default_factory=dict)
    """The rerankers made so far, by (model id, window)."""

    def get(self, model: Any, window: int | None, margin: float | None = None) -> Any:
        """The reranker of ``model`` on ``window``, with cascade ``margin`` when given."""
        key = (id(model), window)
        if key not in self.made:
            self.made[key] = CrossEncoderReranker(
                model=model, top_n=self.k, batch_size=self.batch_size, window=window
            )
        base = self.made[key]
        return base if margin is None else base.model_copy(update={"cascade_margin": margin})


def _first_stage(s: BenchmarkSettings, parts: PipelineParts) -> Any:
    """The candidates' pipeline: the MRC bi-encoder (the book's) or, without one, tuned BM25."""
    mrc = s.models.mrc_model
    fs = {"kind": "dense", "embedding_model": mrc} if mrc else {"kind": "bm25", **TUNED_BM25}
    return build_pipeline(PipelineSpec.checked(first_stage=fs, top_n=s.grid.k), parts)


def _fast_model(s: BenchmarkSettings, torch_model: Any) -> tuple[str | None, Any, float]:
    """The backend of the fast variants (None: torch only), its model and its load seconds."""
    wanted = None if s.speed.backend in ("torch", "none") else s.speed.backend
    if wanted == "auto":
        wanted = "int8" if onnx_backend.onnx_runtime_installed() else None
        if wanted is None:
            logger.info("speed test: no int8 variants (onnxruntime is not installed)")
    if wanted and not onnx_backend.exportable(
        torch_model
    ):  # e.g. KiwiInteraction: torch variants only
        logger.warning("speed test: no %s variants (the cross-encoder cannot be exported)", wanted)
        wanted = None
    if not wanted or s.models.cross_encoder is None:
        return None, torch_model, 0.0
    t0 = time.perf_counter()
    model = load_cross_encoder(s.models.cross_encoder, "cpu", s.models.max_length, backend=wanted)
    return wanted, model, time.perf_counter() - t0


def _plain_variants(
    s: BenchmarkSettings,
    rerankers: _Rerankers,
    torch_model: Any,
    fast: tuple[str | None, Any, float],
    passages: list[str],
) -> tuple[dict[str, Any], float]:
    """The backend, window and backend + window variants, and the seconds of the windows'
    passage analysis (index-time work, done once per corpus)."""
    backend, fast_model, _ = fast
    variants: dict[str, Any] = {}
    if backend:
        variants[backend] = rerankers.get(fast_model, None)
    window = s.speed.window
    if not window:
        return variants, 0.0
    variants[f"window{window}"] = rerankers.get(torch_model, window)
    if backend:
        variants[f"{backend}+window{window}"] = rerankers.get(fast_model, window)
    t0 = time.perf_counter()
    for v in variants.values():
        if v.window:
            v.windows().analyse(passages)
    return variants, time.perf_counter() - t0


def _fit_cascade(
    reranker: Any,
    train_cands: list[list[Any]],
    data: BenchData,
    margins: list[float],
    first_correct: list[bool],
) -> dict[str, Any]:
    """The cascade margin of ``reranker``, fitted on the train-title questions."""
    out = reranker.compress_documents_batch(train_cands, data.train_questions)
    reranked_correct = [
        bool(o) and ids(o)[0] == g for o, g in zip(out, data.train_gold, strict=True)
    ]
    fitted: dict[str, Any] = dict(fit_cascade_margin(margins, first_correct, reranked_correct))
    fitted["fitted_on"] = f"{len(data.train_questions)} train-title questions"
    return fitted


def _add_cascades(
    s: BenchmarkSettings,
    rerankers: _Rerankers,
    fast: tuple[str | None, Any, float],
    full_parts: PipelineParts,
    data: BenchData,
    variants: dict[str, Any],
) -> dict[str, Any]:
    """Fit the cascade on the windowed fast reranker (and, with windows, on the full passage
    too), add each one that found a margin to ``variants`` and return the fits."""
    backend, fast_model, _ = fast
    train_cands = _first_stage(s, full_parts).batch(data.train_questions)
    margins = [
        m if (m := first_stage_margin(c)) is not None else float("-inf") for c in train_cands
    ]
    first_correct = [
        bool(c) and ids(c)[0] == g for c, g in zip(train_cands, data.train_gold, strict=True)
    ]

    def fit(window: int | None) -> dict[str, Any]:
        """The cascade fitted on the fast reranker on ``window``."""
        reranker = rerankers.get(fast_model, window)
        return _fit_cascade(reranker, train_cands, data, margins, first_correct)

    prefix = [backend] if backend else []
    window = s.speed.window
    out: dict[str, Any] = {"cascade": None, "cascade_full_passage": None}
    if window:  # the full passage too: the cascade alone, without windows
        full = out["cascade_full_passage"] = fit(None)
        if full["threshold"] is not None:
            variants["+".join([*prefix, "cascade"])] = rerankers.get(
                fast_model, None, full["threshold"]
            )
    cascade = out["cascade"] = fit(window)
    if cascade["threshold"] is not None:
        name = "+".join([*prefix, *([f"window{window}"] if window else []), "cascade"])
        variants[name] = rerankers.get(fast_model, window, cascade["threshold"])
    return out


def speed_test(s: BenchmarkSettings, full_parts: PipelineParts, data: BenchData) -> dict[str, Any]:
    """The rerank-speed comparison (:func:`~lc_klue.bench.speed.rerank_speed`) on the first
    protocol's questions: candidates from the MRC bi-encoder (the book's pipeline) or, without
    one, tuned BM25; variants: the backend, windows, both, and both with a cascade fitted on
    the tuning questions."""
    assert s.models.cross_encoder is not None
    es = next(iter(data.eval_sets.values()))
    qs, gold = es.questions[: s.speed.queries], es.gold_ids()[: s.speed.queries]
    parts = full_parts if es.protocol == "full" else full_parts.with_documents(es.documents())
    cands = _first_stage(s, parts).batch(qs)
    torch_model = full_parts.cross_encoder(s.models.cross_encoder)
    fast = _fast_model(s, torch_model)
    rerankers = _Rerankers(s.grid.k, s.models.batch_size)
    passages = [d.page_content for d in parts.documents]
    variants, window_setup = _plain_variants(s, rerankers, torch_model, fast, passages)
    cascades: dict[str, Any] = {"cascade": None, "cascade_full_passage": None}
    if s.speed.cascade:
        cascades = _add_cascades(s, rerankers, fast, full_parts, data, variants)
    bs = s.models.batch_size
    speed = rerank_speed(torch_model, qs, cands, bs, gold=gold, variants=variants)
    first_ids = [ids(c) for c in cands]
    speed |= {
        "candidates_from": (
            f"{'MRC bi-encoder' if s.models.mrc_model else 'BM25-Kiwi (k1 0.9, b 0.4)'} "
            f"top {s.grid.k}, {es.protocol} protocol"
        ),
        "first_stage": ranking_summary(first_ids, first_ids, gold),
        "backend": fast[0],
        "backend_setup_s": fast[2],
        "window": s.speed.window,
        "window_analysis_s": window_setup,
        **cascades,
    }
    return speed
