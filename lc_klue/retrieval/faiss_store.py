"""A FAISS vector store for LangChain: cosine similarity through normalised inner product.

Unlike ``langchain_community``'s FAISS it keeps its configuration on disk as JSON (no pickle),
records which embedding model built it and refuses another, and reports relevance scores in
[0, 1] that grow with similarity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever

from lc_klue.data import MrcSource, mrc_documents
from lc_klue.errors import DataError, ModelError, RetrievalError
from lc_klue.models.embeddings import (
    check_same_model,
    embed_passages,
    embed_queries,
    embedding_fingerprint,
)
from lc_klue.retrieval.base import (
    BatchedRetrieverMixin,
    check_k,
    check_query,
    check_search,
    passages_to_add,
    read_index_config,
    read_index_files,
    save_index,
    with_score,
)
from lc_klue.retrieval.recall import SearchTuning, tune_faiss_search

INDEX_TYPES = ("flat", "hnsw", "ivf")
#: ``{"title": "…"}`` (equality; a list means "one of") or a predicate on the metadata.
MetadataFilter = dict[str, Any] | Callable[[dict[str, Any]], bool]
FORMAT = "lc-klue-faiss"
FORMAT_VERSION = 1


def cosine_relevance(score: float) -> float:
    """Cosine similarity in [-1, 1] → relevance in [0, 1] (higher is more relevant)."""
    return min(1.0, max(0.0, (1.0 + float(score)) / 2.0))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.require(x, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])  # normalised in place
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D matrix of embeddings, got shape {x.shape}")
    faiss.normalize_L2(x)
    return x


class KlueFAISS(VectorStore):
    """FAISS index of passages with cosine scores, JSON metadata and a model check on load.

    ``index_type``: ``flat`` (exact), ``hnsw`` (graph, ``hnsw_m`` 64: at 1M passages it keeps
    recall@10 0.95 at efSearch 512 where 32 needs 2,048) or ``ivf`` (inverted lists, trained on
    the first vectors added; ``nlist`` about 4·√n; a single query's lists are split over the
    threads). ``similarity_search_with_score`` returns the cosine similarity,
    ``similarity_search_with_relevance_scores`` ``(1 + cos) / 2``. Adding an id already stored
    replaces that passage; ``k`` larger than the store returns every passage.
    """

    def __init__(
        self,
        embedding: Embeddings,
        index_type: str = "flat",
        *,
        hnsw_m: int = 64,
        ef_construction: int = 200,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int = 16,
    ) -> None:
        if index_type not in INDEX_TYPES:
            raise RetrievalError(
                f"unknown index_type {index_type!r}; choose from {', '.join(INDEX_TYPES)}"
            )
        self.embedding = embedding
        self.index_type = index_type
        self.params: dict[str, Any] = {
            "hnsw_m": hnsw_m,
            "ef_construction": ef_construction,
            "ef_search": ef_search,
            "nlist": nlist,
            "nprobe": nprobe,
        }
        self.recall: dict[str, Any] | None = None  # what tune_search measured, if it ran
        self.index: faiss.Index | None = None
        self._docs: list[Document] = []
        self._position: dict[str, int] = {}

    # -- LangChain VectorStore interface ------------------------------------------------------

    @property
    def embeddings(self) -> Embeddings:
        """The embedding model of the store."""
        return self.embedding

    def __len__(self) -> int:
        return len(self._docs)

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and add ``texts``; an id left out is ``metadata["context_id"]`` or the
        passage's :func:`~lc_klue.data.context_id`. An id already stored is replaced."""
        texts, metadatas, final = passages_to_add(texts, metadatas, ids)
        if not texts:
            return []
        return self.add_vectors(texts, embed_passages(self.embedding, texts), metadatas, ids=final)

    def add_vectors(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Add passages whose embeddings by the store's model are already computed (one row
        of ``vectors`` each), as :meth:`add_texts` does."""
        texts, metadatas, final = passages_to_add(texts, metadatas, ids)
        if not texts:
            return []
        vectors = _normalise(np.array(vectors, dtype=np.float32))  # a copy: the caller's stays
        if len(vectors) != len(texts):
            raise DataError(f"{len(texts)} texts but {len(vectors)} vectors")
        self.delete([i for i in final if i in self._position])
        self._add_vectors(vectors)
        for text, meta, doc_id in zip(texts, metadatas, final, strict=True):
            self._position[doc_id] = len(self._docs)
            self._docs.append(Document(page_content=text, metadata=meta, id=doc_id))
        return final

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Remove the passages with these ids (unknown ids are skipped); ``None`` removes all.

        The kept vectors are re-added to the emptied index (an IVF index keeps its training).
        """
        if ids is None:
            ids = list(self._position)
        drop = {self._position[i] for i in ids if i in self._position}
        if not drop:
            return True
        keep = [p for p in range(len(self._docs)) if p not in drop]
        assert self.index is not None
        vectors = _stored_vectors(self.index)[keep] if keep else None
        self.index.reset()
        if vectors is not None:
            self.index.add(vectors)
        self._docs = [self._docs[p] for p in keep]
        self._position = {str(d.id): i for i, d in enumerate(self._docs)}
        return True

    def vectors(self) -> np.ndarray:
        """Every stored vector (normalised), in the order of :meth:`documents`."""
        if self.index is None:
            return np.zeros((0, 0), dtype=np.float32)
        return _stored_vectors(self.index)

    def documents(self) -> list[Document]:
        """Copies of every stored passage, in index order."""
        return [self._doc(i) for i in range(len(self._docs))]

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored Documents with these ids (unknown ids are skipped)."""
        return [self._doc(self._position[i]) for i in ids if i in self._position]

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The ``k`` passages most similar to ``query`` (``filter=``, ``fetch_k=`` optional)."""
        return [d for d, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """``(Document, cosine similarity)`` pairs, most similar first."""
        return self.batch_search_with_score([query], k, **kwargs)[0]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` passages most similar to an embedding."""
        vec = np.asarray([embedding], dtype=np.float32)
        return [d for d, _ in self._search(vec, k, **kwargs)[0]]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return cosine_relevance

    def batch_search_with_score(
        self,
        queries: Sequence[str],
        k: int = 4,
        *,
        filter: MetadataFilter | None = None,
        fetch_k: int | None = None,
    ) -> list[list[tuple[Document, float]]]:
        """Search many queries: one embedding call, one FAISS search with a query matrix.

        ``filter`` (a dict of metadata values, or a predicate on the metadata) is applied to
        the best ``fetch_k`` hits (default ``max(50, 10 * k)``), so fewer than ``k`` may remain.
        """
        queries, k = check_search(queries, k, len(self))
        if not queries:
            return []
        if not len(self):
            return [[] for _ in queries]
        vectors = embed_queries(self.embedding, list(queries))
        return self._search(vectors, k, filter=filter, fetch_k=fetch_k)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> KlueFAISS:
        """Build a store from texts (``kwargs``: ``index_type`` and index parameters)."""
        if not list(texts):
            raise DataError("cannot build a FAISS index from an empty corpus")
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def from_mrc(cls, data: MrcSource, embedding: Embeddings, **kwargs: Any) -> KlueFAISS:
        """Build from MRC-format data: distinct passages, metadata ``context_id`` and ``title``."""
        docs = mrc_documents(data)
        return cls.from_texts(
            [d.page_content for d in docs],
            embedding,
            [d.metadata for d in docs],
            ids=[d.metadata["context_id"] for d in docs],
            **kwargs,
        )

    def as_retriever(self, **kwargs: Any) -> KlueFAISSRetriever:
        """A retriever (``k=`` or ``search_kwargs={"k": ...}``) whose ``batch`` is vectorised."""
        k = kwargs.pop("k", None)
        search_kwargs = dict(kwargs.pop("search_kwargs", None) or {})
        if k is not None:
            search_kwargs["k"] = k
        tags = kwargs.pop("tags", None) or [*self._get_retriever_tags()]
        return KlueFAISSRetriever(
            vectorstore=self, search_kwargs=search_kwargs, tags=tags, **kwargs
        )

    def tune_search(
        self, target: float = 0.95, *, queries: np.ndarray | None = None
    ) -> SearchTuning:
        """Serve at the cheapest efSearch/nprobe whose recall@10 reaches ``target`` on ``queries``
        (:func:`~lc_klue.retrieval.recall.tune_faiss_search`); saved, with :attr:`recall`."""
        if self.index is None:
            raise RetrievalError("cannot tune an empty FAISS index")
        tuning = tune_faiss_search(self.index, self.vectors(), target, queries=queries)
        self.params[tuning.parameter] = tuning.value
        self.recall = tuning.record()
        return tuning

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save atomically to directory ``path``: ``index.faiss``, ``documents.jsonl`` and
        ``config.json`` (settings and the embedding model's fingerprint). No pickle."""
        if self.index is None:
            raise RetrievalError("cannot save an empty FAISS index")
        index = self.index
        config = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "index_type": self.index_type,
            "params": self.params,
            "recall": self.recall,
            "dimension": int(index.d),
            "metric": "cosine (normalised inner product)",
            "embedding": embedding_fingerprint(self.embedding),
        }
        return save_index(
            path, self._docs, config, lambda d: faiss.write_index(index, str(d / "index.faiss"))
        )

    @classmethod
    def load(
        cls, path: str | Path, embedding: Embeddings, *, check_model: bool = True
    ) -> KlueFAISS:
        """Load an index saved by :meth:`save`.

        Raises :class:`RetrievalError` for a missing or foreign directory (a pickled
        ``index.pkl`` is never loaded) and :class:`ModelError` when ``embedding`` is not the
        model that built the index (unless ``check_model=False``).
        """
        root = Path(path).expanduser()
        config = read_index_config(root, FORMAT, FORMAT_VERSION, "FAISS index")
        if check_model:
            fix = "load it with the same model or rebuild the index"
            check_same_model(config["embedding"], embedding, f"{root}: the index", fix)
        store = cls(embedding, config["index_type"], **config["params"])
        docs, index = read_index_files(
            root, config, "FAISS index", lambda d: faiss.read_index(str(d / "index.faiss"))
        )
        if index.ntotal != len(docs):
            raise RetrievalError(
                f"{root}: damaged FAISS index ({index.ntotal} vectors, {len(docs)} documents)"
            )
        store.index, store._docs, store.recall = index, docs, config.get("recall")
        store._position = {str(d.id): i for i, d in enumerate(docs)}
        store._configure_search()
        return store

    # -- internals ---------------------------------------------------------------------------

    def _doc(self, position: int) -> Document:
        d = self._docs[position]
        return Document(page_content=d.page_content, metadata=dict(d.metadata), id=d.id)

    def _new_index(self, dim: int, n: int) -> faiss.Index:
        p = self.params
        if self.index_type == "flat":
            return faiss.IndexFlatIP(dim)
        if self.index_type == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(p["hnsw_m"]), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(p["ef_construction"])
            return index
        nlist = p["nlist"] or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
        if n < nlist:
            raise DataError(
                f"an IVF index with nlist={nlist} needs at least {nlist} passages to train, "
                f"got {n}; lower nlist or use index_type='flat'"
            )
        p["nlist"] = nlist
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)

    def _configure_search(self) -> None:
        if isinstance(self.index, faiss.IndexIVF):
            self.index.nprobe = min(int(self.params["nprobe"]), self.index.nlist)
        elif isinstance(self.index, faiss.IndexHNSW):
            self.index.hnsw.efSearch = int(self.params["ef_search"])

    def _add_vectors(self, vectors: np.ndarray) -> None:
        if self.index is None:
            self.index = self._new_index(vectors.shape[1], vectors.shape[0])
            self._configure_search()
        self._check_dimension(vectors, "embedding")
        if not self.index.is_trained:
            self.index.train(vectors)
        self.index.add(vectors)

    def _check_dimension(self, vectors: np.ndarray, what: str) -> None:
        """:class:`ModelError` when ``vectors`` are not as wide as the index's."""
        assert self.index is not None
        if vectors.shape[1] != self.index.d:
            raise ModelError(
                f"{what} dimension {vectors.shape[1]} does not match the index "
                f"({self.index.d}); was the index built with another model?"
            )

    def _search(
        self,
        vectors: np.ndarray,
        k: int,
        *,
        filter: MetadataFilter | None = None,
        fetch_k: int | None = None,
    ) -> list[list[tuple[Document, float]]]:
        k = check_k(k, len(self))
        if k == 0 or self.index is None:
            return [[] for _ in vectors]
        keep, k_final = _metadata_predicate(filter), k
        if keep is not None:
            k = min(len(self), max(k, fetch_k or max(50, 10 * k)))
        vectors = _normalise(vectors)
        self._check_dimension(vectors, "query embedding")
        if isinstance(self.index, faiss.IndexHNSW):
            self.index.hnsw.efSearch = max(int(self.params["ef_search"]), k)
        elif isinstance(self.index, faiss.IndexIVF):  # fewer queries than threads: split lists
            self.index.parallel_mode = int(len(vectors) < faiss.omp_get_max_threads())
        scores, positions = self.index.search(vectors, k)
        found = [
            [
                (self._doc(int(p)), float(s))
                for s, p in zip(row_s, row_p, strict=True)
                if p >= 0 and (keep is None or keep(self._docs[int(p)].metadata))
            ]
            for row_s, row_p in zip(scores, positions, strict=True)
        ]
        return [hits[:k_final] for hits in found]


def _stored_vectors(index: faiss.Index) -> np.ndarray:
    """Every vector of a flat, HNSW or IVF index, in insertion order."""
    if isinstance(index, faiss.IndexIVF):
        index.make_direct_map()
    return index.reconstruct_n(0, index.ntotal)


def _metadata_predicate(
    filter: MetadataFilter | None,
) -> Callable[[dict[str, Any]], bool] | None:
    if filter is None or callable(filter):
        return filter
    if not isinstance(filter, dict):
        raise RetrievalError(f"filter must be a dict or a callable, got {type(filter).__name__}")

    def match(meta: dict[str, Any]) -> bool:
        return all(
            meta.get(key) in want if isinstance(want, list | tuple | set) else meta.get(key) == want
            for key, want in filter.items()
        )

    return match


class KlueFAISSRetriever(BatchedRetrieverMixin, VectorStoreRetriever):
    """Dense retriever over :class:`KlueFAISS`; ``batch`` embeds all queries in one call."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        check_query(query)
        if self.search_type != "similarity" or kwargs:
            return super()._get_relevant_documents(query, run_manager=run_manager, **kwargs)
        return self._search_many([query])[0]

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        kwargs = dict(self.search_kwargs)
        k = int(kwargs.pop("k", 4))
        store: KlueFAISS = self.vectorstore  # type: ignore[assignment]
        hits = store.batch_search_with_score(queries, k, **kwargs)
        return [[with_score(d, s) for d, s in row] for row in hits]

    def _can_batch(self, kwargs: dict[str, Any]) -> bool:
        return self.search_type == "similarity" and not kwargs
