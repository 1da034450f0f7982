"""The scale benchmark's whole run: every store at every size (smallest first), each in its own
process, stopping a store projected to run past the time or memory budget."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.bench.scale.corpus import Source, prepare_size
from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings
from lc_klue.bench.scale.measure import Measurement
from lc_klue.bench.scale.stores import DEFAULT_STORES, STORES, TEXT_STORES
from lc_klue.errors import DataError

logger = logging.getLogger(__name__)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class ScaleSettings:
    """What the scale benchmark measures, and its budgets."""

    sizes: Sequence[int] = DEFAULT_SIZES
    """Corpus sizes (passages), measured smallest first."""
    stores: Sequence[str] = DEFAULT_STORES
    """Stores measured (:data:`~lc_klue.bench.scale.stores.STORES`)."""
    dimension: int = 128
    """Dense vector size."""
    threads: int = 1
    """Threads each measurement may use (FAISS and BLAS; Kiwi analysis uses every core)."""
    hnsw_m: int = 64
    """FAISS HNSW: neighbours linked per node (more: a slower build, a cheaper search)."""
    queries: int = 200
    """Real questions whose recall@10 is measured."""
    latency_queries: int = 100
    """Single-query timings per store."""
    latency_budget_s: float = 30.0
    """Seconds after which the recall and latency queries stop (at least 20 run)."""
    budget_s: float = 300.0
    """Stop a store whose next build is projected to take longer."""
    memory_gb: float = 8.0
    """Stop a store projected to hold more memory."""
    length_scale: float = 0.5
    """Synthetic passage length, as a share of a real passage's."""
    seed: int = 0
    """Seed of the synthetic passages and of the hash embedding."""
    recall: float = 0.95
    """FAISS HNSW/IVF and Qdrant Edge dense serve at the cheapest efSearch/nprobe/hnsw_ef whose
    recall@10 against exact search reaches this on held-out questions (as many as
    ``queries``, never measured)."""


def check_run(sizes: Sequence[int], stores: Sequence[str]) -> None:
    """Raise :class:`DataError` for an unknown store or a size under 100 passages (what
    :func:`run` refuses, checked before any work)."""
    unknown = [s for s in stores if s not in STORES]
    if unknown or not stores:
        raise DataError(f"unknown store(s) {unknown or list(stores)}; choose from {STORES}")
    if not sizes or min(sizes) < 100:
        raise DataError(f"sizes must be at least 100 passages, got {list(sizes)}")


def _child(
    job: dict[str, Any], timeout_s: float, threads: int = 1
) -> tuple[Measurement | None, str | None]:
    """Run one measurement in its own process (``threads`` for OpenMP and BLAS): the
    measurement, or why there is none."""
    cmd = [sys.executable, "-m", "lc_klue.bench.scale.measure", json.dumps(job)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env["PYTHONWARNINGS"] = ""
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"build and queries ran past {timeout_s:.0f} s"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"failed: {tail[:200]}"
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1])), None


def _projection(history: list[Measurement], n: int) -> tuple[float, float]:
    """Build seconds and memory (MB) at ``n``, extrapolated from the last two sizes' growth
    (from the last one, linearly, when there is one)."""
    last = history[-1]
    exp_t, exp_m = 1.0, 1.0
    if len(history) >= 2:
        prev = history[-2]
        ratio = math.log(last.passages / prev.passages)
        exp_t = max(1.0, math.log(max(last.build_s, 1e-3) / max(prev.build_s, 1e-3)) / ratio)
        exp_m = max(1.0, math.log(max(last.store_mb, 1) / max(prev.store_mb, 1)) / ratio)
    grow = n / last.passages
    return last.build_s * grow**exp_t, last.store_mb * grow**exp_m


def _order(stores: Sequence[str]) -> list[str]:
    """``stores`` in measuring order, with ``bm25s`` (the exact BM25 reference) before the
    first sparse store that needs it."""
    order = [s for s in STORES if s in stores]
    sparse = [s for s in order if s.endswith("-bm25") and s not in TEXT_STORES]
    if sparse and "bm25s" not in order:
        order.insert(order.index(sparse[0]), "bm25s")
    return order


@dataclass
class _Progress:
    """What the run has measured and stopped so far."""

    order: list[str]
    history: dict[str, list[Measurement]]
    rows: list[Measurement]
    stopped: list[dict[str, Any]]

    def due(self, n: int, s: ScaleSettings) -> list[str]:
        """The stores to measure at ``n`` passages; a store projected past the budget at ``n``
        is stopped there, with the reason."""
        todo = []
        for store in self.order:
            past = self.history.setdefault(store, [])
            if store in {x["store"] for x in self.stopped}:
                continue
            if past:
                t, m = _projection(past, n)
                if t > s.budget_s or m > s.memory_gb * 1024:
                    reason = (
                        f"projected build {t:.0f} s (budget {s.budget_s:.0f} s), "
                        f"memory {m / 1024:.1f} GiB (limit {s.memory_gb:g} GiB)"
                    )
                    self.stopped.append({"store": store, "passages": n, "reason": reason})
                    continue
            todo.append(store)
        return todo


def _prepare(work: Path, source: Source, s: ScaleSettings) -> None:
    """Write the vocabulary, the queries' morphemes and their vectors under ``work``."""
    emb = MorphemeHashEmbeddings(s.dimension, s.seed)
    (work / "vocab.json").write_text(json.dumps(source.vocab, ensure_ascii=False))
    (work / "queries.json").write_text(
        json.dumps(
            {"tokens": source.question_tokens, "texts": source.questions}, ensure_ascii=False
        )
    )
    (work / "sentences.json").write_text(json.dumps(source.sentences, ensure_ascii=False))
    np.save(work / "query_vectors.npy", emb.embed_tokens(source.question_tokens))
    if source.tune_tokens:
        np.save(work / "tune_vectors.npy", emb.embed_tokens(source.tune_tokens))


def _job_settings(s: ScaleSettings) -> dict[str, Any]:
    """The settings every measurement job carries."""
    return {
        "dimension": s.dimension,
        "seed": s.seed,
        "length_scale": s.length_scale,
        "recall_queries": s.queries,
        "latency_queries": s.latency_queries,
        "latency_budget_s": s.latency_budget_s,
        "recall_target": s.recall,
        "hnsw_m": s.hnsw_m,
    }


def _measure_all(
    work: Path,
    source: Source,
    s: ScaleSettings,
    on_result: Callable[[Measurement], None] | None,
) -> _Progress:
    """Measure every due store at every size, smallest first."""
    order = _order(s.stores)
    progress = _Progress(order, {x: [] for x in s.stores}, [], [])
    settings = _job_settings(s)
    for n in sorted(s.sizes):
        todo = progress.due(n, s)
        if not todo:
            continue
        logger.info("corpus of %d passages", n)
        if any(store not in TEXT_STORES for store in todo):  # text stores make their own
            prepare_size(work, source, n, settings)
        for store in todo:
            job = {**settings, "store": store, "passages": n, "work_dir": str(work)}
            logger.info("measuring %s at %d passages", store, n)
            got, why = _child(job, timeout_s=max(60.0, 3 * s.budget_s), threads=s.threads)
            if got is None:
                progress.stopped.append({"store": store, "passages": n, "reason": why})
                continue
            progress.history[store].append(got)
            progress.rows.append(got)
            if on_result is not None:
                on_result(got)
        shutil.rmtree(work / f"corpus-{n}", ignore_errors=True)
    return progress


def _config(data: str | Path, source: Source, s: ScaleSettings, order: list[str]) -> dict[str, Any]:
    """The ``config`` of a report: what was measured, and how."""
    return {
        "data": Path(data).name,
        "sizes": sorted(s.sizes),
        "stores": order,
        "embedding": f"MorphemeHashEmbeddings(dimension={s.dimension}, seed={s.seed})",
        "synthetic_passages": "45 % morphemes of one real passage, 25 % of a second, 30 % "
        f"from the file's morpheme frequencies; length {s.length_scale} × a real passage's",
        "queries": f"{len(source.question_tokens)} real questions (Kiwi morphemes)",
        "budget_s": s.budget_s,
        "memory_gb": s.memory_gb,
        "source_passages": len(source.offsets) - 1,
        "vocabulary": len(source.vocab),
        "faiss": f"KlueFAISS: HNSW M {s.hnsw_m}, efConstruction 200; IVF nlist ~4·sqrt(n); "
        f"efSearch/nprobe: the cheapest reaching recall@10 {s.recall:g} against exact search "
        f"on {len(source.tune_tokens)} held-out questions (each row's tuning)",
        "qdrant": "qdrant-dense/-bm25: KlueQdrant on qdrant-client's embedded local mode "
        "(QdrantClient(path=...)); qdrant-edge-*: Qdrant Edge (qdrant-edge-py), the Qdrant "
        "engine in process, its defaults (HNSW m 16, ef_construct 100); dense hnsw_ef: the "
        f"cheapest reaching recall@10 {s.recall:g} likewise",
        "recall_target": s.recall,
        "text_stores": "kiwi-bm25/-word: synthetic passages of the file's real sentences "
        f"(running sentences of two passages, length {s.length_scale} × a real passage's), "
        "KiwiBM25Retriever with Kiwi analysis (context/word) in the build and in each query",
    }


def run(
    data: str | Path,
    settings: ScaleSettings | None = None,
    *,
    work_dir: str | Path | None = None,
    on_result: Callable[[Measurement], None] | None = None,
) -> dict[str, Any]:
    """Measure every store at every size (smallest first) and return the report; each
    measurement goes to ``on_result`` as it comes. ``work_dir``: scratch space (default: a
    temporary directory, removed afterwards)."""
    s = settings or ScaleSettings()
    check_run(s.sizes, s.stores)
    started = time.perf_counter()
    work = Path(work_dir or tempfile.mkdtemp(prefix="lc-klue-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    source = Source.from_mrc(data, s.queries)
    _prepare(work, source, s)
    try:
        progress = _measure_all(work, source, s, on_result)
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "config": _config(data, source, s, progress.order),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "threads": s.threads},
        "kiwi_passages_per_s": source.kiwi_passages_per_s,
        "rows": [asdict(r) for r in progress.rows],
        "stopped": progress.stopped,
        "total_s": time.perf_counter() - started,
    }
