"""The stores the scale benchmark measures: each one built over a cached synthetic corpus, with
its search (query number → passage numbers), save and load."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.bench.scale.corpus import K
from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings
from lc_klue.retrieval.recall import (
    DEFAULT_TARGET,
    EF_LADDER,
    SearchTuning,
    cheapest_setting,
    exact_neighbours,
    sample_queries,
    tune_faiss_search,
)

STORES = (
    "faiss-flat",
    "faiss-hnsw",
    "faiss-ivf",
    "bm25s",
    "qdrant-dense",
    "qdrant-bm25",
    "qdrant-edge-dense",
    "qdrant-edge-bm25",
    "kiwi-bm25",
    "kiwi-bm25-word",
)
#: Stores over synthetic text made of real sentences, built with Kiwi's analysis included
#: (:func:`~lc_klue.bench.scale.corpus.synthetic_texts`), in ``context`` or ``word`` analysis.
TEXT_STORES = ("kiwi-bm25", "kiwi-bm25-word")
DENSE_STORES = ("faiss-flat", "faiss-hnsw", "faiss-ivf", "qdrant-dense", "qdrant-edge-dense")
#: Measured unless ``stores`` says otherwise (Qdrant Edge needs ``pip install qdrant-edge-py``).
DEFAULT_STORES = STORES[:6]


@dataclass
class Corpus:
    """One size's passages and the queries, as every store takes them."""

    texts: list[str]
    """Passages (morphemes joined by spaces)."""
    ids: list[str]
    """Passage ids ``p0``, ``p1``, …"""
    tokens: list[list[str]] | None
    """Passage morphemes (the sparse stores)."""
    vectors: np.ndarray | None
    """Passage vectors (the dense stores)."""
    query_tokens: list[list[str]]
    """Query morphemes."""
    query_vectors: np.ndarray
    """Query vectors."""
    query_texts: list[str]
    """Query texts (the text stores analyse them)."""
    path: Path
    """Where the store is saved."""
    tune_vectors: np.ndarray | None = None
    """Held-out question vectors the approximate dense stores' search setting is tuned on
    (None: a sample of 200 passages)."""
    metas: list[dict[str, Any]] = field(init=False)
    """Each passage's metadata (its ``context_id``)."""
    position: dict[str, int] = field(init=False)
    """Passage id → passage number."""

    def __post_init__(self) -> None:
        """Derive the metadata and positions from the ids."""
        self.metas = [{"context_id": i} for i in self.ids]
        self.position = {doc_id: i for i, doc_id in enumerate(self.ids)}


@dataclass
class Built:
    """A store built: its build seconds, search, save and load, and notes for the report."""

    build_s: float
    """Seconds to build it (in memory, or on disk where the store writes as it goes)."""
    search: Callable[[int], list[int]]
    """Query number → the passage numbers of its top :data:`K`."""
    save: Callable[[], object]
    """Write it to :attr:`Corpus.path`."""
    load: Callable[[], object]
    """Read it back from :attr:`Corpus.path`."""
    notes: list[str] = field(default_factory=list)
    """What the report says of it."""
    tuning: dict[str, Any] | None = None
    """The search setting chosen for the recall target, what it measured on the tuning
    queries, and ``tune_s`` (:mod:`lc_klue.retrieval.recall`); None for an exact store."""


def _tuned(tuning: SearchTuning, start: float, notes: list[str]) -> dict[str, Any]:
    """``tuning``'s record with the seconds since ``start``, its line added to ``notes``."""
    tune_s = time.perf_counter() - start
    notes.append(f"{tuning.line()}, chosen in {tune_s:.1f} s")
    return {**tuning.record(), "tune_s": round(tune_s, 3)}


def _faiss(
    store: str, c: Corpus, embeddings: MorphemeHashEmbeddings, target: float, hnsw_m: int
) -> Built:
    """FAISS flat, HNSW (``hnsw_m`` links per node) or IVF
    (:class:`~lc_klue.retrieval.faiss_store.KlueFAISS`); HNSW and IVF serve at the cheapest
    efSearch/nprobe reaching recall@10 ``target`` (tuned on :attr:`Corpus.tune_vectors`)."""
    from lc_klue.retrieval.faiss_store import KlueFAISS

    start = time.perf_counter()
    faiss_store = KlueFAISS(embeddings, store.removeprefix("faiss-"), hnsw_m=hnsw_m)
    faiss_store.add_vectors(c.texts, np.asarray(c.vectors), c.metas, ids=c.ids)
    build_s = time.perf_counter() - start
    notes, tuning = [], None
    if faiss_store.index_type == "ivf":
        notes.append(f"nlist {faiss_store.params['nlist']}")
    if faiss_store.index is not None and faiss_store.index_type != "flat":
        start = time.perf_counter()  # on the corpus's vectors: no copy of the index's
        tuned = tune_faiss_search(
            faiss_store.index, np.asarray(c.vectors), target, queries=c.tune_vectors
        )
        faiss_store.params[tuned.parameter] = tuned.value
        faiss_store.recall = tuning = _tuned(tuned, start, notes)

    def search(i: int) -> list[int]:
        """The passage numbers of query ``i``'s top K."""
        hits = faiss_store.similarity_search_by_vector(c.query_vectors[i].tolist(), K)
        return [c.position[str(d.id)] for d in hits]

    return Built(
        build_s,
        search,
        lambda: faiss_store.save(c.path),
        lambda: KlueFAISS.load(c.path, embeddings),
        notes,
        tuning,
    )


def _bm25s(c: Corpus) -> Built:
    """Kiwi BM25 on bm25s (:class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever`), exact."""
    import bm25s
    from langchain_core.documents import Document

    from lc_klue.ranking import top_k_indices
    from lc_klue.retrieval.bm25 import KiwiBM25Retriever

    start = time.perf_counter()
    index = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    index.index(c.tokens, show_progress=False)
    docs = [Document(page_content=t, metadata=m) for t, m in zip(c.texts, c.metas, strict=True)]
    bm25 = KiwiBM25Retriever(docs=docs, index=index, k=K)
    build_s = time.perf_counter() - start

    def search(i: int) -> list[int]:
        """The passage numbers of query ``i``'s top K."""
        scores = bm25.scores(c.query_tokens[i])
        return [int(j) for j in top_k_indices(scores, K) if scores[j] > 0]

    return Built(
        build_s,
        search,
        lambda: bm25.save(c.path),
        lambda: KiwiBM25Retriever.load(c.path),
        ["build excludes Kiwi analysis (see kiwi_passages_per_s)"],
    )


def _kiwi_bm25(c: Corpus, analysis: str) -> Built:
    """Kiwi BM25 on bm25s over text (:class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever` with
    ``analysis``, the shipped k1 and b): the build analyses every passage, a search its query."""
    from lc_klue.retrieval.bm25 import TUNED_BM25, KiwiBM25Retriever

    start = time.perf_counter()
    bm25 = KiwiBM25Retriever.from_texts(
        c.texts, c.metas, c.ids, k=K, analysis=analysis, **TUNED_BM25
    )
    build_s = time.perf_counter() - start

    def search(i: int) -> list[int]:
        """The passage numbers of query ``i``'s top K (its analysis included)."""
        hits = bm25.search_with_scores([c.query_texts[i]], K)[0]
        return [c.position[str(d.id)] for d, score in hits if score > 0]

    notes = [f"build includes Kiwi analysis ({analysis}) of every passage"]
    return Built(
        build_s, search, lambda: bm25.save(c.path), lambda: KiwiBM25Retriever.load(c.path), notes
    )


def _qdrant(c: Corpus, embeddings: MorphemeHashEmbeddings) -> Built:
    """Embedded Qdrant, dense or BM25 (:class:`~lc_klue.retrieval.qdrant_store.KlueQdrant`)."""
    from lc_klue.retrieval.qdrant_store import KlueQdrant, close, connect

    dense = c.vectors is not None
    start = time.perf_counter()
    client = connect(c.path)
    qdrant = KlueQdrant.create(client, "bench", embeddings if dense else None, bm25=not dense)
    if not dense:
        qdrant.fit_bm25(c.tokens or [])
    for s in range(0, len(c.texts), 1000):
        qdrant.upsert_vectors(
            c.texts[s : s + 1000],
            c.metas[s : s + 1000],
            c.ids[s : s + 1000],
            dense=np.asarray(c.vectors[s : s + 1000]) if c.vectors is not None else None,
            tokens=c.tokens[s : s + 1000] if c.tokens is not None else None,
        )
    build_s = time.perf_counter() - start
    query_sparse = qdrant.sparse.query_vectors(c.query_tokens) if qdrant.sparse else None

    def search(i: int) -> list[int]:
        """The passage numbers of query ``i``'s top K."""
        hits = qdrant.search_vectors(
            c.query_vectors[i : i + 1] if dense else None,
            query_sparse[i : i + 1] if query_sparse is not None else None,
            K,
        )[0]
        return [c.position[str(d.id)] for d, _ in hits]

    def load() -> None:
        """Open the saved collection and close it."""
        close(KlueQdrant.open(c.path, "bench", embeddings if dense else None).client)

    notes = ["embedded (QdrantClient(path=...)); build includes its disk writes"]
    return Built(build_s, search, lambda: close(client), load, notes)  # points already on disk


def _edge_shard(c: Corpus) -> Any:
    """A Qdrant Edge shard at :attr:`Corpus.path` holding the corpus: dense vectors, or BM25
    sparse vectors with the IDF modifier."""
    import qdrant_edge as edge

    from lc_klue.retrieval.qdrant_store import DENSE, SPARSE, point_id
    from lc_klue.retrieval.sparse import KiwiBM25Sparse

    vectors = c.vectors
    config = edge.EdgeConfig(
        vectors={DENSE: edge.EdgeVectorParams(size=vectors.shape[1], distance=edge.Distance.Cosine)}
        if vectors is not None
        else None,
        sparse_vectors=None
        if vectors is not None
        else {SPARSE: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )
    shard = edge.EdgeShard.create(str(c.path), config)
    encoder = KiwiBM25Sparse().fit_tokens(c.tokens) if c.tokens is not None else None
    for s in range(0, len(c.texts), 1000):
        end = min(len(c.texts), s + 1000)
        if vectors is not None:
            rows: list[Any] = [{DENSE: v} for v in np.asarray(vectors[s:end]).tolist()]
        else:
            assert encoder is not None and c.tokens is not None
            rows = [
                {SPARSE: edge.SparseVector(indices=v.indices, values=v.values)}
                for v in encoder.document_vectors(c.tokens[s:end])
            ]
        payloads = [
            {"page_content": c.texts[i], "metadata": c.metas[i], "doc_id": c.ids[i]}
            for i in range(s, end)
        ]
        points = [
            edge.Point(id=point_id(c.ids[i]), vector=rows[i - s], payload=payloads[i - s])
            for i in range(s, end)
        ]
        shard.update(edge.UpdateOperation.upsert_points(points))
    shard.optimize()
    return shard


def _edge_search(shard: Any, c: Corpus, query: Any, hnsw_ef: int | None = None) -> list[int]:
    """The passage numbers of a Qdrant Edge query's top K (at ``hnsw_ef``, if given)."""
    import qdrant_edge as edge

    params = edge.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef is not None else None
    hits = shard.query(edge.QueryRequest(limit=K, query=query, with_payload=True, params=params))
    return [c.position[(h.payload or {})["doc_id"]] for h in hits]


def _edge_ef(shard: Any, c: Corpus, target: float, notes: list[str]) -> dict[str, Any]:
    """The cheapest ``hnsw_ef`` of :data:`~lc_klue.retrieval.recall.EF_LADDER` whose recall@10
    against exact search reaches ``target`` on :attr:`Corpus.tune_vectors`, as
    :attr:`Built.tuning`."""
    import qdrant_edge as edge

    from lc_klue.retrieval.qdrant_store import DENSE

    start = time.perf_counter()
    vectors = np.asarray(c.vectors)
    queries = sample_queries(vectors) if c.tune_vectors is None else c.tune_vectors
    exact = exact_neighbours(vectors, queries)

    def search(ef: int) -> np.ndarray:
        """Positions found at ``hnsw_ef`` = ``ef``."""
        rows = [
            _edge_search(shard, c, edge.Query.Nearest(q.tolist(), using=DENSE), ef) for q in queries
        ]
        return np.asarray([r + [-1] * (exact.shape[1] - len(r)) for r in rows])

    tuning = cheapest_setting(search, exact, EF_LADDER, "hnsw_ef", target)
    return _tuned(tuning, start, notes)


def _qdrant_edge(c: Corpus, target: float) -> Built:
    """Qdrant Edge (``qdrant-edge-py``): the Qdrant engine in process; dense search at the
    cheapest ``hnsw_ef`` reaching recall@10 ``target``, tuned likewise."""
    import qdrant_edge as edge

    from lc_klue.retrieval.qdrant_store import DENSE, SPARSE
    from lc_klue.retrieval.sparse import KiwiBM25Sparse

    start = time.perf_counter()
    shard = _edge_shard(c)
    build_s = time.perf_counter() - start
    sparse_q = KiwiBM25Sparse.query_vectors(c.query_tokens)
    notes = ["Qdrant Edge: the Qdrant engine in process (HNSW m 16, ef_construct 100)"]
    tuning = _edge_ef(shard, c, target, notes) if c.vectors is not None else None
    ef = tuning["hnsw_ef"] if tuning is not None else None

    def search(i: int) -> list[int]:
        """The passage numbers of query ``i``'s top K."""
        query = (
            edge.Query.Nearest(c.query_vectors[i].tolist(), using=DENSE)
            if c.vectors is not None
            else edge.Query.Nearest(
                edge.SparseVector(indices=sparse_q[i].indices, values=sparse_q[i].values),
                using=SPARSE,
            )
        )
        return _edge_search(shard, c, query, ef)

    def load() -> None:
        """Open the saved shard and close it."""
        edge.EdgeShard.load(str(c.path)).close()

    return Built(build_s, search, shard.close, load, notes, tuning)


def build_store(
    store: str,
    c: Corpus,
    embeddings: MorphemeHashEmbeddings,
    target: float = DEFAULT_TARGET,
    hnsw_m: int = 64,
) -> Built:
    """Build ``store`` (one of :data:`STORES`) over ``c``; an approximate dense store serves
    at the cheapest search setting reaching recall@10 ``target`` (:attr:`Built.tuning`);
    FAISS HNSW links ``hnsw_m`` neighbours per node."""
    if store.startswith("faiss"):
        return _faiss(store, c, embeddings, target, hnsw_m)
    if store == "bm25s":
        return _bm25s(c)
    if store in TEXT_STORES:
        return _kiwi_bm25(c, "word" if store.endswith("-word") else "context")
    if store.startswith("qdrant-edge"):
        return _qdrant_edge(c, target)
    return _qdrant(c, embeddings)
