"""One measurement of the scale benchmark, in its own process (clean peak memory): build, query,
save and reload one store over one cached corpus (``python -m lc_klue.bench.scale.measure JOB``
prints the :class:`Measurement` as JSON)."""

from __future__ import annotations

import json
import logging
import resource
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.bench.scale.corpus import synthetic_texts
from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings
from lc_klue.bench.scale.stores import DENSE_STORES, TEXT_STORES, Built, Corpus, build_store
from lc_klue.retrieval.recall import DEFAULT_TARGET


@dataclass
class Measurement:
    """The cost of one store at one corpus size."""

    store: str
    passages: int
    build_s: float
    peak_rss_mb: float
    store_mb: float
    disk_mb: float | None
    save_s: float | None
    load_s: float | None
    query_p50_ms: float
    query_p95_ms: float
    latency_queries: int
    recall_at_10: float | None
    recall_queries: int = 0
    notes: list[str] = field(default_factory=list)
    tuning: dict[str, Any] | None = None


def _rss_mb() -> float:
    """Resident memory of this process now, MB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    """Peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _du_mb(path: Path) -> float:
    """Size of the files under ``path``, MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _latencies(search: Callable[[int], Any], n: int, budget_s: float) -> list[float]:
    """Milliseconds of ``search(i)`` for queries 0…n−1, after one warm-up call."""
    search(0)

    def timed(i: int) -> float:
        """Milliseconds of ``search(i)``."""
        start = time.perf_counter()
        search(i)
        return (time.perf_counter() - start) * 1000

    return _timed_map(timed, n, budget_s)


def _timed_map(search: Callable[[int], Any], n: int, budget_s: float) -> list[Any]:
    """``search(i)`` for i = 0…n−1, stopping after ``budget_s`` (at least 20 queries)."""
    out = []
    start = time.perf_counter()
    for i in range(n):
        out.append(search(i))
        if i >= 19 and time.perf_counter() - start > budget_s:
            break
    return out


def _recall(found: Sequence[Sequence[int]], exact: Sequence[Sequence[int]]) -> float | None:
    """Mean share of each query's exact top 10 that ``found`` holds."""
    scores = [len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True) if len(e)]
    return float(np.mean(scores)) if scores else None


def _passages(job: dict[str, Any]) -> tuple[list[str], list[list[str]] | None]:
    """The texts of the job's passages, and their morphemes for a store that takes them (None
    for a dense store, and for a text store: it analyses text of real sentences)."""
    work, store, n = Path(job["work_dir"]), job["store"], int(job["passages"])
    if store in TEXT_STORES:
        sentences = json.loads((work / "sentences.json").read_text(encoding="utf-8"))
        texts = synthetic_texts(sentences, n, seed=job["seed"], length_scale=job["length_scale"])
        return texts, None
    cached = work / f"corpus-{n}"
    words = np.asarray(json.loads((work / "vocab.json").read_text(encoding="utf-8")), dtype=object)
    token_ids = np.load(cached / "token_ids.npy", mmap_mode="r")
    offsets = np.load(cached / "offsets.npy")

    def row(i: int) -> np.ndarray:
        """Passage ``i``'s morphemes."""
        return words[token_ids[offsets[i] : offsets[i + 1]]]

    texts = [" ".join(row(i)) for i in range(n)]
    return texts, None if store in DENSE_STORES else [list(row(i)) for i in range(n)]


def _corpus(job: dict[str, Any]) -> Corpus:
    """The job's cached corpus of its size, as its store takes it."""
    work = Path(job["work_dir"])
    store, n = job["store"], int(job["passages"])
    cached = work / f"corpus-{n}"
    queries = json.loads((work / "queries.json").read_text(encoding="utf-8"))
    texts, tokens = _passages(job)
    dense = store in DENSE_STORES
    return Corpus(
        texts=texts,
        ids=[f"p{i}" for i in range(n)],
        tokens=tokens,
        vectors=np.load(cached / "vectors.npy", mmap_mode="r") if dense else None,
        query_tokens=queries["tokens"],
        query_vectors=np.load(work / "query_vectors.npy"),
        query_texts=queries.get("texts", []),
        path=work / f"store-{store}-{n}",
        tune_vectors=np.load(tune)
        if dense and (tune := work / "tune_vectors.npy").exists()
        else None,
    )


def _warm_up(embeddings: MorphemeHashEmbeddings) -> None:
    """Import every store and load Kiwi, so neither counts in a store's time or memory."""
    import lc_klue.retrieval.bm25
    import lc_klue.retrieval.faiss_store
    import lc_klue.retrieval.qdrant_store  # noqa: F401

    embeddings.embed_query("서울의 날씨")


def _use(built: Built, c: Corpus, job: dict[str, Any]) -> dict[str, Any]:
    """Query ``built`` (recall and latency queries), then save and reload it, timed."""
    n_q = len(c.query_tokens)
    budget = job["latency_budget_s"]
    found = _timed_map(built.search, min(n_q, job["recall_queries"]), budget)
    lat = _latencies(built.search, min(n_q, job["latency_queries"]), budget)
    start = time.perf_counter()
    built.save()
    save_s = time.perf_counter() - start
    disk = _du_mb(c.path) if c.path.exists() else None
    start = time.perf_counter()
    built.load()
    return {
        "found": found,
        "latencies": lat,
        "save_s": save_s,
        "disk_mb": disk,
        "load_s": time.perf_counter() - start,
    }


def _exact(job: dict[str, Any], found: list[Any], notes: list[str]) -> list[Any]:
    """The exact top 10 that recall is measured against (none for ``bm25s``: it is exact, and
    its results become the reference of the sparse stores)."""
    dense = job["store"] in DENSE_STORES
    cached = Path(job["work_dir"]) / f"corpus-{int(job['passages'])}"
    reference = cached / f"exact-{'dense' if dense else 'bm25'}.json"
    if job["store"] == "bm25s":  # exact: the reference of the sparse stores
        reference.write_text(json.dumps(found))
        notes.append("exact (the reference of recall@10 for qdrant-bm25)")
        return []
    if job["store"] in TEXT_STORES:  # exact over its own analysis, on its own corpus
        notes.append("exact BM25 over its own analysis (quality: KorQuAD hit@1)")
        return []
    return list(json.loads(reference.read_text()))


def measure(job: dict[str, Any]) -> Measurement:
    """Build, save, reload and query one store over one cached corpus
    (see :func:`lc_klue.bench.scale.run.run`)."""
    store = job["store"]
    c = _corpus(job)
    embeddings = MorphemeHashEmbeddings(job["dimension"], job["seed"])
    _warm_up(embeddings)
    baseline = _rss_mb()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target = job.get("recall_target", DEFAULT_TARGET)
        built = build_store(store, c, embeddings, target, job.get("hnsw_m", 64))
        used = _use(built, c, job)
    notes = built.notes + sorted({str(w.message).splitlines()[0][:120] for w in caught})
    found, lat = used["found"], used["latencies"]
    exact = _exact(job, found, notes)
    shutil.rmtree(c.path, ignore_errors=True)
    return Measurement(
        store=store,
        passages=len(c.texts),
        build_s=built.build_s,
        peak_rss_mb=_peak_mb(),
        store_mb=max(0.0, _peak_mb() - baseline),
        disk_mb=used["disk_mb"],
        save_s=None if store.startswith("qdrant") else used["save_s"],
        load_s=used["load_s"],
        query_p50_ms=float(np.percentile(lat, 50)),
        query_p95_ms=float(np.percentile(lat, 95)),
        latency_queries=len(lat),
        recall_at_10=_recall(found, exact[: len(found)]) if exact else None,
        recall_queries=len(found) if exact else 0,
        notes=notes,
        tuning=built.tuning,
    )


if __name__ == "__main__":  # one measurement, in its own process (see run._child)
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asdict(measure(json.loads(sys.argv[1])))))
