"""How the stores grow: build time, peak memory, size on disk, query latency and recall@10 of
FAISS (flat, HNSW, IVF), Kiwi BM25 (bm25s) and embedded Qdrant (dense, BM25) as the corpus
grows from thousands to millions of passages.

The corpus is synthetic Korean: each passage is a bag of Kiwi content morphemes drawn from two
real passages of a source MRC file (its topics) and from the file's morpheme frequencies, with
the length of half a real passage. No text of the source is copied: only its morphemes, shuffled.
Queries are the source's real questions, analysed by Kiwi. Dense vectors come from
:class:`MorphemeHashEmbeddings` (a deterministic random projection of the morphemes: cheap, no
model needed), since the point is the stores' cost, not a model's quality; the same vectors go
into every dense store.

Each (store, size) is built in its own process (clean peak memory). A store whose next size is
projected, from its last two measurements, to take longer than ``budget_s`` to build or more
than ``memory_gb`` to hold is not run and is reported as stopped, with the reason.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from lc_klue.errors import DataError

logger = logging.getLogger(__name__)

STORES = (
    "faiss-flat",
    "faiss-hnsw",
    "faiss-ivf",
    "bm25s",
    "qdrant-dense",
    "qdrant-bm25",
    "qdrant-edge-dense",
    "qdrant-edge-bm25",
)
DENSE_STORES = ("faiss-flat", "faiss-hnsw", "faiss-ivf", "qdrant-dense", "qdrant-edge-dense")
#: Measured unless ``stores`` says otherwise (Qdrant Edge needs ``pip install qdrant-edge-py``).
DEFAULT_STORES = STORES[:6]
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
K = 10


# --------------------------------------------------------------------------- the embedding


class MorphemeHashEmbeddings(Embeddings):
    """A deterministic bag-of-morphemes embedding: each Kiwi content morpheme has a fixed
    Gaussian random vector (seeded by its hash), a text is the normalised sum of its morphemes'
    vectors weighted by ``1 + log(tf)``. A random projection of lexical overlap; no training."""

    def __init__(self, dimension: int = 128, seed: int = 0) -> None:
        self.dimension, self.seed = int(dimension), int(seed)
        self.model_name_or_path = f"morpheme-hash-{self.dimension}-seed{self.seed}"
        self._rows: dict[str, np.ndarray] = {}

    def token_matrix(self, tokens: Sequence[str]) -> np.ndarray:
        """The vectors of ``tokens`` (one row each)."""
        from lc_klue.retrieval.sparse import term_id

        out = np.empty((len(tokens), self.dimension), dtype=np.float32)
        for i, t in enumerate(tokens):
            row = self._rows.get(t)
            if row is None:
                rng = np.random.default_rng([self.seed, term_id(t)])
                row = self._rows[t] = rng.standard_normal(self.dimension).astype(np.float32)
            out[i] = row
        return out

    def embed_token_ids(
        self, token_ids: np.ndarray, offsets: np.ndarray, vocab: Sequence[str]
    ) -> np.ndarray:
        """Embed a corpus given as morpheme ids (``token_ids[offsets[i]:offsets[i+1]]``) of
        ``vocab``: one sparse-matrix product, normalised rows."""
        from scipy.sparse import csr_matrix

        n = len(offsets) - 1
        rows = np.repeat(np.arange(n), np.diff(offsets))
        counts = csr_matrix(
            (np.ones(len(token_ids), dtype=np.float32), (rows, token_ids)), shape=(n, len(vocab))
        )
        counts.sum_duplicates()
        counts.data = 1.0 + np.log(counts.data)
        out = np.asarray(counts @ self.token_matrix(vocab), dtype=np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def embed_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Embed tokenised texts."""
        vocab = sorted({t for tokens in token_lists for t in tokens})
        index = {t: i for i, t in enumerate(vocab)}
        ids = np.asarray([index[t] for tokens in token_lists for t in tokens], dtype=np.int64)
        offsets = np.cumsum([0, *(len(t) for t in token_lists)])
        if not vocab:
            return np.zeros((len(token_lists), self.dimension), dtype=np.float32)
        return self.embed_token_ids(ids, offsets, vocab)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts (Kiwi content morphemes)."""
        from lc_klue.text import kiwi_tokenize

        return self.embed_tokens(kiwi_tokenize(list(texts))).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed_documents([text])[0]


# --------------------------------------------------------------------------- the corpus


@dataclass
class Source:
    """The morphemes of a real MRC file: vocabulary, passages as ids, and its questions."""

    vocab: list[str]
    token_ids: np.ndarray
    offsets: np.ndarray
    question_tokens: list[list[str]]
    kiwi_passages_per_s: float

    @classmethod
    def from_mrc(cls, path: str | Path, n_questions: int = 200, seed: int = 42) -> Source:
        """Analyse the distinct passages and a sample of questions of an MRC file with Kiwi."""
        from lc_klue.data import load_mrc, sample_questions, unique_contexts
        from lc_klue.text import kiwi_tokenize

        data = load_mrc(path)
        passages = list(unique_contexts(data)["context"])
        start = time.perf_counter()
        tokens = kiwi_tokenize(passages)
        rate = len(passages) / (time.perf_counter() - start)
        vocab = sorted({t for ts in tokens for t in ts})
        index = {t: i for i, t in enumerate(vocab)}
        questions = list(sample_questions(data, min(n_questions, len(data)), seed=seed)["question"])
        return cls(
            vocab=vocab,
            token_ids=np.asarray([index[t] for ts in tokens for t in ts], dtype=np.int32),
            offsets=np.cumsum([0, *(len(ts) for ts in tokens)]).astype(np.int64),
            question_tokens=kiwi_tokenize(questions),
            kiwi_passages_per_s=rate,
        )


def synthetic_corpus(
    source: Source, n: int, *, seed: int = 0, length_scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic passages as morpheme ids and offsets: 45 % of each passage's morphemes
    drawn from one real passage, 25 % from a second one, 30 % from the whole file's morpheme
    frequencies; length ``length_scale`` × the first passage's (±25 %)."""
    rng = np.random.default_rng([seed, n])
    lengths_src = np.diff(source.offsets)
    a = rng.integers(0, len(lengths_src), n)
    b = rng.integers(0, len(lengths_src), n)
    lengths = np.maximum(
        8, np.round(lengths_src[a] * length_scale * rng.uniform(0.75, 1.25, n))
    ).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    owner = np.repeat(np.arange(n), lengths)
    pick = rng.random(total)
    unigram = np.bincount(source.token_ids, minlength=len(source.vocab)).astype(np.float64)
    cdf = np.cumsum(unigram / unigram.sum())
    out = np.searchsorted(cdf, rng.random(total), side="right").astype(np.int32)
    for src, mask in ((a, pick < 0.45), (b, (pick >= 0.45) & (pick < 0.70))):
        docs = src[owner[mask]]
        pos = source.offsets[docs] + (rng.random(int(mask.sum())) * lengths_src[docs]).astype(
            np.int64
        )
        out[mask] = source.token_ids[pos]
    return np.minimum(out, len(source.vocab) - 1), offsets


# --------------------------------------------------------------------------- one measurement


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


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _latencies(search: Callable[[int], Any], n: int, budget_s: float) -> list[float]:
    """Milliseconds of ``search(i)`` for queries 0…n−1, after one warm-up call."""
    search(0)

    def timed(i: int) -> float:
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
    scores = [len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True) if len(e)]
    return float(np.mean(scores)) if scores else None


def _qdrant_edge(
    path: Path,
    texts: list[str],
    metas: list[dict[str, Any]],
    ids: list[str],
    vectors: np.ndarray | None,
    tokens: list[list[str]] | None,
    query_tokens: list[list[str]],
    query_vectors: np.ndarray,
) -> tuple[float, Callable[[int], list[int]], Callable[[], None], Callable[[], None]]:
    """Build a Qdrant Edge shard (dense or BM25 with the IDF modifier) and its search."""
    import qdrant_edge as edge

    from lc_klue.retrieval.qdrant_store import DENSE, SPARSE, point_id
    from lc_klue.retrieval.sparse import KiwiBM25Sparse

    start = time.perf_counter()
    dense = vectors is not None
    config = edge.EdgeConfig(
        vectors={DENSE: edge.EdgeVectorParams(size=vectors.shape[1], distance=edge.Distance.Cosine)}
        if vectors is not None
        else None,
        sparse_vectors=None
        if dense
        else {SPARSE: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )
    shard = edge.EdgeShard.create(str(path), config)
    encoder = KiwiBM25Sparse().fit_tokens(tokens) if tokens is not None else None
    for s in range(0, len(texts), 1000):
        end = min(len(texts), s + 1000)
        if vectors is not None:
            rows: list[Any] = [{DENSE: v} for v in np.asarray(vectors[s:end]).tolist()]
        else:
            assert encoder is not None and tokens is not None
            rows = [
                {SPARSE: edge.SparseVector(indices=v.indices, values=v.values)}
                for v in encoder.document_vectors(tokens[s:end])
            ]
        points = [
            edge.Point(
                id=point_id(ids[i]),
                vector=rows[i - s],
                payload={"page_content": texts[i], "metadata": metas[i], "doc_id": ids[i]},
            )
            for i in range(s, end)
        ]
        shard.update(edge.UpdateOperation.upsert_points(points))
    shard.optimize()
    build_s = time.perf_counter() - start
    sparse_q = KiwiBM25Sparse.query_vectors(query_tokens)
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    holder = {"shard": shard}

    def search(i: int) -> list[int]:
        query = (
            edge.Query.Nearest(query_vectors[i].tolist(), using=DENSE)
            if dense
            else edge.Query.Nearest(
                edge.SparseVector(indices=sparse_q[i].indices, values=sparse_q[i].values),
                using=SPARSE,
            )
        )
        hits = holder["shard"].query(edge.QueryRequest(limit=K, query=query, with_payload=True))
        return [position[(h.payload or {})["doc_id"]] for h in hits]

    def save() -> None:
        holder["shard"].close()

    def load() -> None:
        edge.EdgeShard.load(str(path)).close()

    return build_s, search, save, load


def _warm_up(embeddings: MorphemeHashEmbeddings) -> None:
    """Import every store and load Kiwi, so neither counts in a store's time or memory."""
    import lc_klue.retrieval.bm25
    import lc_klue.retrieval.faiss_store
    import lc_klue.retrieval.qdrant_store  # noqa: F401

    embeddings.embed_query("서울의 날씨")


def measure(job: dict[str, Any]) -> Measurement:
    """Build, save, reload and query one store over one cached corpus (see :func:`run`)."""
    work = Path(job["work_dir"])
    store, n = job["store"], int(job["passages"])
    corpus = work / f"corpus-{n}"
    vocab = json.loads((work / "vocab.json").read_text(encoding="utf-8"))
    queries = json.loads((work / "queries.json").read_text(encoding="utf-8"))
    token_ids = np.load(corpus / "token_ids.npy", mmap_mode="r")
    offsets = np.load(corpus / "offsets.npy")
    words = np.asarray(vocab, dtype=object)
    texts = [" ".join(words[token_ids[offsets[i] : offsets[i + 1]]]) for i in range(n)]
    ids = [f"p{i}" for i in range(n)]
    metas = [{"context_id": i} for i in ids]
    embeddings = MorphemeHashEmbeddings(job["dimension"], job["seed"])
    dense = store in DENSE_STORES
    vectors = np.load(corpus / "vectors.npy", mmap_mode="r") if dense else None
    query_vectors = np.load(work / "query_vectors.npy")
    tokens = (
        [list(words[token_ids[offsets[i] : offsets[i + 1]]]) for i in range(n)]
        if not dense
        else None
    )
    path = work / f"store-{store}-{n}"
    _warm_up(embeddings)
    baseline = _rss_mb()
    notes: list[str] = []
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if store.startswith("faiss"):
            from lc_klue.retrieval.faiss_store import KlueFAISS

            start = time.perf_counter()
            faiss_store = KlueFAISS(embeddings, store.removeprefix("faiss-"))
            faiss_store.add_vectors(texts, np.asarray(vectors), metas, ids=ids)
            build_s = time.perf_counter() - start
            if faiss_store.index_type == "ivf":
                notes.append(f"nlist {faiss_store.params['nlist']}, nprobe 16")

            def search(i: int) -> list[int]:
                vec = query_vectors[i].tolist()
                hits = faiss_store.similarity_search_by_vector(vec, K)
                return [position[str(d.id)] for d in hits]

            def save() -> None:
                faiss_store.save(path)

            def load() -> None:
                KlueFAISS.load(path, embeddings)

        elif store == "bm25s":
            import bm25s
            from langchain_core.documents import Document

            from lc_klue.ranking import top_k_indices
            from lc_klue.retrieval.bm25 import KiwiBM25Retriever

            start = time.perf_counter()
            index = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
            index.index(tokens, show_progress=False)
            docs = [Document(page_content=t, metadata=m) for t, m in zip(texts, metas, strict=True)]
            bm25 = KiwiBM25Retriever(docs=docs, index=index, k=K)
            build_s = time.perf_counter() - start
            notes.append("build excludes Kiwi analysis (see kiwi_passages_per_s)")

            def search(i: int) -> list[int]:
                scores = bm25.scores(queries["tokens"][i])
                return [int(j) for j in top_k_indices(scores, K) if scores[j] > 0]

            def save() -> None:
                bm25.save(path)

            def load() -> None:
                KiwiBM25Retriever.load(path)

        elif store.startswith("qdrant-edge"):
            build_s, edge_search, edge_save, edge_load = _qdrant_edge(
                path, texts, metas, ids, vectors, tokens, queries["tokens"], query_vectors
            )

            def search(i: int) -> list[int]:
                return edge_search(i)

            def save() -> None:
                edge_save()

            def load() -> None:
                edge_load()

            notes.append("Qdrant Edge: the Qdrant engine in process (HNSW m 16, ef_construct 100)")
        else:
            from lc_klue.retrieval.qdrant_store import KlueQdrant, close, connect

            start = time.perf_counter()
            client = connect(path)
            qdrant = KlueQdrant.create(
                client, "bench", embeddings if dense else None, bm25=not dense
            )
            if not dense:
                qdrant.fit_bm25(tokens or [])
            for s in range(0, n, 1000):
                qdrant.upsert_vectors(
                    texts[s : s + 1000],
                    metas[s : s + 1000],
                    ids[s : s + 1000],
                    dense=np.asarray(vectors[s : s + 1000]) if vectors is not None else None,
                    tokens=tokens[s : s + 1000] if tokens is not None else None,
                )
            build_s = time.perf_counter() - start
            notes.append("embedded (QdrantClient(path=...)); build includes its disk writes")
            query_sparse = qdrant.sparse.query_vectors(queries["tokens"]) if qdrant.sparse else None

            def search(i: int) -> list[int]:
                hits = qdrant.search_vectors(
                    query_vectors[i : i + 1] if dense else None,
                    query_sparse[i : i + 1] if query_sparse is not None else None,
                    K,
                )[0]
                return [position[str(d.id)] for d, _ in hits]

            def save() -> None:
                close(client)  # the points are already on disk

            def load() -> None:
                close(KlueQdrant.open(path, "bench", embeddings if dense else None).client)

        n_q = len(queries["tokens"])
        found = _timed_map(search, min(n_q, job["recall_queries"]), job["latency_budget_s"])
        lat = _latencies(search, min(n_q, job["latency_queries"]), job["latency_budget_s"])
        start = time.perf_counter()
        save()
        save_s = time.perf_counter() - start
        disk = _du_mb(path) if path.exists() else None
        start = time.perf_counter()
        load()
        load_s = time.perf_counter() - start
    notes += sorted({str(w.message).splitlines()[0][:120] for w in caught})
    reference = corpus / f"exact-{'dense' if dense else 'bm25'}.json"
    if store == "bm25s":  # exact: the reference of the sparse stores
        reference.write_text(json.dumps(found))
        notes.append("exact (the reference of recall@10 for qdrant-bm25)")
    exact = [] if store == "bm25s" else json.loads(reference.read_text())
    shutil.rmtree(path, ignore_errors=True)
    return Measurement(
        store=store,
        passages=n,
        build_s=build_s,
        peak_rss_mb=_peak_mb(),
        store_mb=max(0.0, _peak_mb() - baseline),
        disk_mb=disk,
        save_s=None if store.startswith("qdrant") else save_s,
        load_s=load_s,
        query_p50_ms=float(np.percentile(lat, 50)),
        query_p95_ms=float(np.percentile(lat, 95)),
        latency_queries=len(lat),
        recall_at_10=_recall(found, exact[: len(found)]) if exact else None,
        recall_queries=len(found) if exact else 0,
        notes=notes,
    )


# --------------------------------------------------------------------------- the whole run


def _prepare_size(work: Path, source: Source, n: int, args: dict[str, Any]) -> None:
    """Write the corpus of size ``n`` (morpheme ids, dense vectors, exact dense top-10)."""
    out = work / f"corpus-{n}"
    out.mkdir(parents=True, exist_ok=True)
    token_ids, offsets = synthetic_corpus(
        source, n, seed=args["seed"], length_scale=args["length_scale"]
    )
    np.save(out / "token_ids.npy", token_ids)
    np.save(out / "offsets.npy", offsets)
    emb = MorphemeHashEmbeddings(args["dimension"], args["seed"])
    vectors = emb.embed_token_ids(token_ids, offsets, source.vocab)
    np.save(out / "vectors.npy", vectors)
    queries = np.load(work / "query_vectors.npy")
    scores = np.empty((n, len(queries)), dtype=np.float32)
    for s in range(0, n, 100_000):
        scores[s : s + 100_000] = vectors[s : s + 100_000] @ queries.T
    top = np.argpartition(-scores, K, axis=0)[:K]  # (K, queries), unordered
    best = np.argsort(-np.take_along_axis(scores, top, axis=0), axis=0, kind="stable")
    exact = np.take_along_axis(top, best, axis=0).T
    (out / "exact-dense.json").write_text(json.dumps(exact.tolist()))
    (out / "exact-bm25.json").write_text(json.dumps([]))


def _child(job: dict[str, Any], timeout_s: float) -> tuple[Measurement | None, str | None]:
    cmd = [sys.executable, "-m", "lc_klue.evaluation.scale", json.dumps(job)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": ""}
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


def check_run(sizes: Sequence[int], stores: Sequence[str]) -> None:
    """Raise :class:`DataError` for an unknown store or a size under 100 passages (what
    :func:`run` refuses, checked before any work)."""
    unknown = [s for s in stores if s not in STORES]
    if unknown or not stores:
        raise DataError(f"unknown store(s) {unknown or list(stores)}; choose from {STORES}")
    if not sizes or min(sizes) < 100:
        raise DataError(f"sizes must be at least 100 passages, got {list(sizes)}")


def run(
    data: str | Path,
    sizes: Sequence[int] = DEFAULT_SIZES,
    stores: Sequence[str] = DEFAULT_STORES,
    *,
    dimension: int = 128,
    queries: int = 200,
    latency_queries: int = 100,
    latency_budget_s: float = 30.0,
    budget_s: float = 300.0,
    memory_gb: float = 8.0,
    length_scale: float = 0.5,
    seed: int = 0,
    work_dir: str | Path | None = None,
    on_result: Callable[[Measurement], None] | None = None,
) -> dict[str, Any]:
    """Measure every store at every size (smallest first) and return the report."""
    check_run(sizes, stores)
    started = time.perf_counter()
    work = Path(work_dir or tempfile.mkdtemp(prefix="lc-klue-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    source = Source.from_mrc(data, queries)
    emb = MorphemeHashEmbeddings(dimension, seed)
    (work / "vocab.json").write_text(json.dumps(source.vocab, ensure_ascii=False))
    (work / "queries.json").write_text(
        json.dumps({"tokens": source.question_tokens}, ensure_ascii=False)
    )
    np.save(work / "query_vectors.npy", emb.embed_tokens(source.question_tokens))
    settings = {
        "dimension": dimension,
        "seed": seed,
        "length_scale": length_scale,
        "recall_queries": queries,
        "latency_queries": latency_queries,
        "latency_budget_s": latency_budget_s,
    }
    rows: list[Measurement] = []
    stopped: list[dict[str, Any]] = []
    history: dict[str, list[Measurement]] = {s: [] for s in stores}
    order = [s for s in STORES if s in stores]
    sparse = [s for s in order if s.endswith("-bm25")]
    if sparse and "bm25s" not in order:
        order.insert(order.index(sparse[0]), "bm25s")  # the exact BM25 reference
    try:
        for n in sorted(sizes):
            todo = []
            for store in order:
                past = history.setdefault(store, [])
                if store in {s["store"] for s in stopped}:
                    continue
                if past:
                    t, m = _projection(past, n)
                    if t > budget_s or m > memory_gb * 1024:
                        stopped.append(
                            {
                                "store": store,
                                "passages": n,
                                "reason": f"projected build {t:.0f} s (budget {budget_s:.0f} s), "
                                f"memory {m / 1024:.1f} GiB (limit {memory_gb:g} GiB)",
                            }
                        )
                        continue
                todo.append(store)
            if not todo:
                continue
            logger.info("corpus of %d passages", n)
            _prepare_size(work, source, n, settings)
            for store in todo:
                job = {**settings, "store": store, "passages": n, "work_dir": str(work)}
                logger.info("measuring %s at %d passages", store, n)
                got, why = _child(job, timeout_s=max(60.0, 3 * budget_s))
                if got is None:
                    stopped.append({"store": store, "passages": n, "reason": why})
                    continue
                history[store].append(got)
                rows.append(got)
                if on_result is not None:
                    on_result(got)
            shutil.rmtree(work / f"corpus-{n}", ignore_errors=True)
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "config": {
            "data": Path(data).name,
            "sizes": sorted(sizes),
            "stores": order,
            "embedding": f"MorphemeHashEmbeddings(dimension={dimension}, seed={seed})",
            "synthetic_passages": "45 % morphemes of one real passage, 25 % of a second, 30 % "
            f"from the file's morpheme frequencies; length {length_scale} × a real passage's",
            "queries": f"{len(source.question_tokens)} real questions (Kiwi morphemes)",
            "budget_s": budget_s,
            "memory_gb": memory_gb,
            "source_passages": len(source.offsets) - 1,
            "vocabulary": len(source.vocab),
            "faiss": "KlueFAISS defaults: HNSW M 32, efConstruction 200, efSearch 128; "
            "IVF nlist ~4·sqrt(n), nprobe 16",
            "qdrant": "qdrant-dense/-bm25: KlueQdrant on qdrant-client's embedded local mode "
            "(QdrantClient(path=...)); qdrant-edge-*: Qdrant Edge (qdrant-edge-py), the Qdrant "
            "engine in process, its defaults (HNSW m 16, ef_construct 100)",
        },
        "machine": {"cpus": len(os.sched_getaffinity(0)), "torch_threads": 1},
        "kiwi_passages_per_s": source.kiwi_passages_per_s,
        "rows": [asdict(r) for r in rows],
        "stopped": stopped,
        "total_s": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- reporting


def markdown(report: dict[str, Any]) -> str:
    """The report's rows as a markdown table, and the stopped stores."""
    head = (
        "| store | passages | build s | peak RSS MB | store MB | disk MB | load s "
        "| p50 ms | p95 ms | recall@10 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )

    def cell(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    lines = [
        f"| {r['store']} | {r['passages']:,} | {r['build_s']:.1f} | {r['peak_rss_mb']:.0f} "
        f"| {r['store_mb']:.0f} | {cell(r['disk_mb'], '.0f')} | {cell(r['load_s'], '.1f')} "
        f"| {r['query_p50_ms']:.2f} | {r['query_p95_ms']:.2f} | {cell(r['recall_at_10'], '.3f')} |"
        for r in report["rows"]
    ]
    stops = [f"- {s['store']} at {s['passages']:,}: {s['reason']}" for s in report["stopped"]]
    return (
        head + "\n".join(lines) + "\n" + ("\nStopped:\n" + "\n".join(stops) + "\n" if stops else "")
    )


def plot(report: dict[str, Any], path: str | Path) -> Path:
    """Log-log plot of build time, memory, disk and query latency against corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("build_s", "build time (s)"),
        ("store_mb", "memory held by the store (MB)"),
        ("disk_mb", "size on disk (MB)"),
        ("query_p50_ms", "query latency p50 (ms)"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for store in report["config"]["stores"]:
            pts = [
                (r["passages"], r[key])
                for r in report["rows"]
                if r["store"] == store and r[key] is not None and r[key] > 0
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=store)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    cpus = report["machine"]["cpus"]
    fig.suptitle(f"lc-klue stores: cost against corpus size ({cpus} CPU core(s), one thread)")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":  # one measurement, in its own process (see _child)
    job = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asdict(measure(job))))
