"""Qdrant as lc-klue's scale-out vector database, through ``langchain-qdrant``.

One collection holds the passages (payload ``page_content``, ``metadata``, ``doc_id``), their
dense vectors (``dense``, cosine) and their Kiwi BM25 sparse vectors (``bm25``, Qdrant's IDF
modifier; :mod:`lc_klue.retrieval.sparse`). :class:`KlueQdrant` is a LangChain-Qdrant
``QdrantVectorStore`` over it that searches densely, sparsely (BM25 inside the database) or
both fused by Qdrant's reciprocal-rank fusion query, answers ``batch`` with one
``query_batch_points`` call, and refuses to open a collection with another embedding model.

Where the collection lives is a *location*: a directory (embedded Qdrant, no server:
``QdrantClient(path=...)``), ``:memory:``, or the URL of a Qdrant server or cluster (API key
from the ``QDRANT_API_KEY`` environment variable). Collections are written under a fresh name
and published by pointing an alias at them, so an interrupted build leaves the previous one in
place and no half-written collection behind.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStoreRetriever
from langchain_qdrant import QdrantVectorStore, RetrievalMode
from qdrant_client import QdrantClient, models

from lc_klue.data import mrc_documents
from lc_klue.errors import DataError, ModelError, RetrievalError
from lc_klue.models.embeddings import (
    PROGRESS_MIN_TEXTS,
    embed_passages,
    embed_queries,
    embedding_fingerprint,
    fingerprint_mismatch,
)
from lc_klue.ranking import RRF_K
from lc_klue.retrieval.base import (
    BatchedRetrieverMixin,
    check_k,
    check_query,
    check_search,
    passages_to_add,
)
from lc_klue.retrieval.sparse import KiwiBM25Sparse
from lc_klue.text import kiwi_tokenize

API_KEY_ENV = "QDRANT_API_KEY"
DENSE = "dense"
SPARSE = "bm25"
FORMAT = "lc-klue-qdrant"
FORMAT_VERSION = 1
#: Seconds a Qdrant server has to answer before the connection counts as failed.
CONNECT_TIMEOUT = 5
#: Namespace of the UUIDs that stand for passage ids (Qdrant ids are UUIDs or integers).
POINT_NAMESPACE = uuid.UUID("6f1f6c1e-4a4b-5c1b-9e1f-6c6b6c75652d")
MODES = {"dense": RetrievalMode.DENSE, "bm25": RetrievalMode.SPARSE, "hybrid": RetrievalMode.HYBRID}


def is_url(location: str | Path) -> bool:
    """Whether a location names a Qdrant server (``http://`` or ``https://``)."""
    return str(location).startswith(("http://", "https://"))


def point_id(doc_id: str) -> str:
    """The Qdrant point id (a UUID) of a passage id."""
    return str(uuid.uuid5(POINT_NAMESPACE, str(doc_id)))


# --------------------------------------------------------------------------- connecting

_embedded: weakref.WeakValueDictionary[tuple[str, int], QdrantClient] = (
    weakref.WeakValueDictionary()
)
_embedded_lock = threading.Lock()


def connect(
    location: str | Path, *, timeout: int = CONNECT_TIMEOUT, api_key_env: str = API_KEY_ENV
) -> QdrantClient:
    """A client of the Qdrant at ``location`` (URL, ``:memory:`` or a directory).

    A server must answer within ``timeout`` seconds, else one :class:`RetrievalError` line; the
    API key is read from the environment variable ``api_key_env``, never from an argument. An
    embedded directory is opened once per process and shared (Qdrant locks it).
    """
    loc = str(location)
    if is_url(loc):
        client = QdrantClient(
            url=loc,
            api_key=os.environ.get(api_key_env) or None,
            timeout=timeout,
            check_compatibility=False,
        )
        try:
            client.get_collections()
        except Exception as e:
            status = getattr(e, "status_code", None)
            if status in (401, 403):
                raise RetrievalError(
                    f"Qdrant at {loc} refused access (HTTP {status}); set {api_key_env}"
                ) from None
            raise RetrievalError(
                f"cannot reach Qdrant at {loc} within {timeout} s ({_reason(e)})"
            ) from None
        return client
    if loc == ":memory:":
        return QdrantClient(location=":memory:")
    path = Path(loc).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise RetrievalError(f"{path}: not a directory (an embedded Qdrant is a directory)")
    path.mkdir(parents=True, exist_ok=True)
    key = (str(path), path.stat().st_ino)
    with _embedded_lock:
        shared = _embedded.get(key)
        if shared is None:
            try:
                shared = QdrantClient(path=str(path))
            except RuntimeError as e:
                raise RetrievalError(f"{path}: {str(e).splitlines()[0]}") from None
            _embedded[key] = shared
    return shared


@atexit.register
def _close_embedded() -> None:
    """Close the shared embedded clients before the interpreter tears its modules down (their
    ``__del__`` would print a traceback at exit)."""
    with _embedded_lock:
        clients = list(_embedded.values())
        _embedded.clear()
    for client in clients:
        client.close()


def close(client: QdrantClient) -> None:
    """Close a client (an embedded one releases its directory's lock)."""
    with _embedded_lock:
        for key, c in list(_embedded.items()):
            if c is client:
                del _embedded[key]
    client.close()


def _reason(error: Exception) -> str:
    source = getattr(error, "source", None) or error.__cause__ or error
    text = str(source).splitlines()[0] if str(source) else type(source).__name__
    return text[:160]


# --------------------------------------------------------------------------- collections


def collection_config(client: QdrantClient, name: str) -> dict[str, Any]:
    """The lc-klue settings kept in collection ``name``'s metadata (:class:`RetrievalError`
    when it does not exist or was not written by lc-klue)."""
    if not client.collection_exists(name):
        raise RetrievalError(f"Qdrant has no collection {name!r}")
    info = client.get_collection(name)
    config = (info.config.metadata or {}).get("lc_klue")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise RetrievalError(f"Qdrant collection {name!r} was not written by lc-klue")
    if int(config.get("version", 0)) > FORMAT_VERSION:
        raise RetrievalError(f"Qdrant collection {name!r} was written by a newer lc-klue")
    return config


def _alias_target(client: QdrantClient, alias: str) -> str | None:
    for a in client.get_aliases().aliases:
        if a.alias_name == alias:
            return str(a.collection_name)
    return None


def _publish(client: QdrantClient, alias: str, collection: str) -> None:
    """Point ``alias`` at ``collection`` in one step and drop the collection it named before."""
    old = _alias_target(client, alias)
    ops: list[Any] = []
    if old is not None:
        ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    ops.append(
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
        )
    )
    client.update_collection_aliases(ops)
    if old is not None and old != collection:
        client.delete_collection(old)


# --------------------------------------------------------------------------- the store


class KlueQdrant(QdrantVectorStore):
    """A Qdrant collection of passages: dense, BM25-sparse or hybrid search.

    ``mode`` (``dense``, ``bm25`` or ``hybrid``; default: all the collection has) picks the
    search; ``hybrid`` fuses both rankings inside Qdrant (``RrfQuery``: ``rrf_k``, ``weights`` =
    dense, BM25; ``fetch_k`` candidates from each). Scores: cosine for dense (relevance
    ``(1 + cos) / 2`` as :class:`~lc_klue.retrieval.faiss_store.KlueFAISS`), BM25 for sparse,
    RRF for hybrid. Build with :meth:`from_documents`/:meth:`from_mrc`, open with :meth:`open`.
    """

    def __init__(
        self,
        client: QdrantClient,
        collection_name: str,
        embedding: Embeddings | None = None,
        *,
        sparse: KiwiBM25Sparse | None = None,
        mode: str | None = None,
        rrf_k: int = RRF_K,
        weights: Sequence[float] | None = None,
        fetch_k: int | None = None,
        batch_size: int = 256,
    ) -> None:
        mode = mode or ("hybrid" if embedding and sparse else "dense" if embedding else "bm25")
        if mode not in MODES:
            raise RetrievalError(f"unknown Qdrant search mode {mode!r}; choose dense, bm25, hybrid")
        if mode != "bm25" and embedding is None:
            raise RetrievalError(f"Qdrant search mode {mode!r} needs an embedding model")
        if mode != "dense" and sparse is None:
            raise RetrievalError(f"Qdrant search mode {mode!r} needs the collection's BM25 vectors")
        if weights is not None and len(weights) != 2:
            raise RetrievalError(f"hybrid weights are (dense, BM25), got {list(weights)}")
        super().__init__(
            client,
            collection_name,
            embedding,
            retrieval_mode=MODES[mode],
            vector_name=DENSE,
            sparse_embedding=sparse,
            sparse_vector_name=SPARSE,
            distance=models.Distance.COSINE,
            validate_embeddings=False,
            validate_collection_config=False,
        )
        self.mode = mode
        self.sparse = sparse
        self.rrf_k, self.weights, self.fetch_k = rrf_k, weights, fetch_k
        self.batch_size = batch_size
        self._writes = {"dense": embedding is not None, "bm25": sparse is not None}

    # -- building and opening -----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        client: QdrantClient,
        collection_name: str,
        embedding: Embeddings | None = None,
        *,
        bm25: bool = True,
        k1: float = 1.5,
        b: float = 0.75,
        **kwargs: Any,
    ) -> KlueQdrant:
        """An empty collection for ``embedding``'s vectors and/or BM25 vectors (``bm25``);
        ``avgdl`` is measured on the first passages added."""
        if embedding is None and not bm25:
            raise RetrievalError("a Qdrant collection needs dense vectors, BM25 vectors or both")
        if client.collection_exists(collection_name):
            raise RetrievalError(f"Qdrant collection {collection_name!r} already exists")
        sparse = KiwiBM25Sparse(k1, b) if bm25 else None
        fingerprint = embedding_fingerprint(embedding) if embedding is not None else None
        client.create_collection(
            collection_name,
            vectors_config=(
                {
                    DENSE: models.VectorParams(
                        size=fingerprint["dimension"], distance=models.Distance.COSINE
                    )
                }
                if fingerprint
                else {}
            ),
            sparse_vectors_config=(
                {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)} if bm25 else None
            ),
            metadata={"lc_klue": _config(fingerprint, sparse)},
        )
        return cls(client, collection_name, embedding, sparse=sparse, **kwargs)

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[Document],
        embedding: Embeddings | None = None,
        *,
        client: QdrantClient | None = None,
        location: str | Path = ":memory:",
        collection_name: str = "lc_klue",
        bm25: bool = True,
        k1: float = 1.5,
        b: float = 0.75,
        show_progress: bool = False,
        **kwargs: Any,
    ) -> KlueQdrant:
        """Write Documents (ids: ``Document.id``, else ``metadata["context_id"]``, else
        :func:`~lc_klue.data.context_id`) to a new collection published as ``collection_name``
        (an alias; an earlier collection of that name is replaced only once this one is
        complete). ``client`` or ``location`` says where (:func:`connect`)."""
        docs = list(documents)
        if not docs:
            raise DataError("cannot build a Qdrant collection from an empty corpus")
        client = client or connect(location)
        if client.collection_exists(collection_name) and (
            _alias_target(client, collection_name) is None
        ):
            raise RetrievalError(
                f"Qdrant collection {collection_name!r} exists and was not published by lc-klue "
                "(an alias); choose another collection name"
            )
        staging = f"{collection_name}-{uuid.uuid4().hex[:12]}"
        store = cls.create(client, staging, embedding, bm25=bm25, k1=k1, b=b, **kwargs)
        try:
            store.add_documents(docs, show_progress=show_progress)
            _publish(client, collection_name, staging)
        except BaseException:
            client.delete_collection(staging)
            raise
        store.collection_name = collection_name
        return store

    @classmethod
    def from_texts(  # type: ignore[override]
        cls,
        texts: Iterable[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict] | None = None,
        *,
        ids: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> KlueQdrant:
        """:meth:`from_documents` of plain texts."""
        texts = list(texts)
        metas = metadatas or [{} for _ in texts]
        given = list(ids) if ids is not None else [None] * len(texts)
        docs = [
            Document(page_content=t, metadata=m, id=i)
            for t, m, i in zip(texts, metas, given, strict=True)
        ]
        return cls.from_documents(docs, embedding, **kwargs)

    @classmethod
    def from_mrc(cls, data: Any, embedding: Embeddings | None = None, **kwargs: Any) -> KlueQdrant:
        """:meth:`from_documents` of the distinct passages of MRC-format data."""
        return cls.from_documents(mrc_documents(data), embedding, **kwargs)

    @classmethod
    def open(
        cls,
        client: QdrantClient | str | Path,
        collection_name: str = "lc_klue",
        embedding: Embeddings | None = None,
        *,
        check_model: bool = True,
        **kwargs: Any,
    ) -> KlueQdrant:
        """Open a collection written by lc-klue. ``embedding`` must be the model that built it
        (else :class:`ModelError`, unless ``check_model=False``); without one only BM25 search
        is possible."""
        client = client if isinstance(client, QdrantClient) else connect(client)
        config = collection_config(client, collection_name)
        saved = config.get("embedding")
        if embedding is not None and saved is None:
            raise RetrievalError(f"Qdrant collection {collection_name!r} has no dense vectors")
        if embedding is not None and saved is not None and check_model:
            reason = fingerprint_mismatch(saved, embedding_fingerprint(embedding))
            if reason:
                raise ModelError(
                    f"Qdrant collection {collection_name!r} was built with embedding model "
                    f"{saved.get('name')!r}, not "
                    f"{getattr(embedding, 'model_name_or_path', type(embedding).__name__)!r} "
                    f"({reason}); open it with the same model or rebuild it"
                )
        sparse = (
            KiwiBM25Sparse.from_config(config["sparse"], f"Qdrant collection {collection_name!r}")
            if config.get("sparse")
            else None
        )
        if embedding is None and sparse is None:
            raise ModelError(
                f"Qdrant collection {collection_name!r} holds only dense vectors: "
                "give the embedding model that built it"
            )
        store = cls(client, collection_name, embedding, sparse=sparse, **kwargs)
        store._writes = {"dense": saved is not None, "bm25": sparse is not None}
        return store

    def view(self, mode: str, **kwargs: Any) -> KlueQdrant:
        """The same collection searched in another ``mode`` (settings in ``kwargs``)."""
        settings = {
            "rrf_k": self.rrf_k,
            "weights": self.weights,
            "fetch_k": self.fetch_k,
            "batch_size": self.batch_size,
        }
        other = type(self)(
            self.client,
            self.collection_name,
            self.embeddings,
            sparse=self.sparse,
            mode=mode,
            **(settings | kwargs),
        )
        other._writes = dict(self._writes)
        return other

    # -- writing ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.client.count(self.collection_name, exact=True).count)

    def add_texts(  # type: ignore[override]
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: Sequence[str | None] | None = None,
        *,
        show_progress: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and upsert ``texts`` in batches of :attr:`batch_size`; an id left out is
        ``metadata["context_id"]`` or the passage's :func:`~lc_klue.data.context_id`. An id
        already stored is replaced."""
        texts, metas, final = passages_to_add(texts, metadatas, ids)
        if not texts:
            return []
        tokens = kiwi_tokenize(texts, show_progress=show_progress) if self._writes["bm25"] else None
        if tokens is not None and self.sparse is not None and self.sparse.avgdl is None:
            self.fit_bm25(tokens)
        bar = _progress(len(texts), show_progress)
        for start in range(0, len(texts), self.batch_size):
            end = start + self.batch_size
            self.upsert_vectors(
                texts[start:end],
                metas[start:end],
                final[start:end],
                dense=(
                    embed_passages(self._require_embeddings("dense vectors"), texts[start:end])
                    if self._writes["dense"]
                    else None
                ),
                tokens=tokens[start:end] if tokens is not None else None,
            )
            if bar is not None:
                bar.update(min(end, len(texts)) - start)
        if bar is not None:
            bar.close()
        return final

    def fit_bm25(self, token_lists: Sequence[Sequence[str]]) -> None:
        """Measure the BM25 ``avgdl`` on tokenised passages and keep it with the collection
        (done by the first :meth:`add_texts`; call it before :meth:`upsert_vectors`)."""
        if self.sparse is None:
            raise RetrievalError(f"Qdrant collection {self.collection_name!r} has no BM25 vectors")
        self.sparse.fit_tokens(token_lists)
        config = collection_config(self.client, self.collection_name)
        config["sparse"] = self.sparse.config()
        self.client.update_collection(self.collection_name, metadata={"lc_klue": config})

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Add Documents (ids from ``ids=``, else each ``Document.id``, else as
        :meth:`add_texts`)."""
        ids = kwargs.pop("ids", None)
        if ids is None:
            ids = [d.id for d in documents]
        return self.add_texts(
            [d.page_content for d in documents], [d.metadata for d in documents], ids, **kwargs
        )

    def upsert_vectors(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        ids: Sequence[str],
        *,
        dense: np.ndarray | None = None,
        tokens: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Upsert passages whose vectors are already computed: ``dense`` (one row each) and/or
        their Kiwi morphemes ``tokens`` (BM25-weighted here). One request."""
        if self._writes["dense"] and dense is None:
            raise DataError("this collection stores dense vectors: pass dense=...")
        if self._writes["bm25"] and tokens is None:
            raise DataError("this collection stores BM25 vectors: pass tokens=...")
        rows = np.asarray(dense, dtype=np.float32).tolist() if dense is not None else None
        sparse = (
            self.sparse.document_vectors(tokens)
            if tokens is not None and self.sparse is not None
            else None
        )
        points = []
        for i, (text, meta, doc_id) in enumerate(zip(texts, metadatas, ids, strict=True)):
            vector: dict[str, Any] = {}
            if rows is not None:
                vector[DENSE] = rows[i]
            if sparse is not None:
                vector[SPARSE] = models.SparseVector(
                    indices=sparse[i].indices, values=sparse[i].values
                )
            points.append(
                models.PointStruct(
                    id=point_id(doc_id),
                    vector=vector,
                    payload={
                        self.content_payload_key: text,
                        self.metadata_payload_key: meta,
                        "doc_id": doc_id,
                    },
                )
            )
        try:
            self.client.upsert(self.collection_name, points=points, wait=True)
        except ValueError as e:  # local mode checks the dimension
            raise ModelError(f"Qdrant collection {self.collection_name!r}: {e}") from None

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:  # type: ignore[override]
        """Remove the passages with these ids (unknown ids are skipped); ``None`` removes all."""
        selector: Any = (
            models.FilterSelector(filter=models.Filter())
            if ids is None
            else models.PointIdsList(points=[point_id(i) for i in ids])
        )
        self.client.delete(self.collection_name, points_selector=selector, wait=True)
        return True

    def get_by_ids(self, ids: Sequence[str | int], /) -> list[Document]:
        """The stored passages with these ids (unknown ids are skipped)."""
        points = self.client.retrieve(
            self.collection_name, [point_id(str(i)) for i in ids], with_payload=True
        )
        return [
            self._document_from_point(
                p, self.collection_name, self.content_payload_key, self.metadata_payload_key
            )
            for p in points
        ]

    @classmethod
    def _document_from_point(
        cls,
        scored_point: Any,
        collection_name: str,
        content_payload_key: str,
        metadata_payload_key: str,
    ) -> Document:
        payload = scored_point.payload or {}
        return Document(
            page_content=payload.get(content_payload_key, ""),
            metadata=dict(payload.get(metadata_payload_key) or {}),
            id=str(payload.get("doc_id", scored_point.id)),
        )

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored dense vectors of the passages with these ids, one row each, in order."""
        points = self.client.retrieve(
            self.collection_name, [point_id(i) for i in ids], with_vectors=[DENSE]
        )
        found = {str(p.id): p.vector.get(DENSE) for p in points if isinstance(p.vector, dict)}
        rows = [found.get(point_id(i)) for i in ids]
        if any(r is None for r in rows):
            missing = next(i for i, r in zip(ids, rows, strict=True) if r is None)
            raise RetrievalError(
                f"Qdrant collection {self.collection_name!r} has no dense vector of {missing!r}"
            )
        return np.asarray(rows, dtype=np.float32)

    # -- searching -------------------------------------------------------------------------------

    def similarity_search_with_score(  # type: ignore[override]
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """``(Document, score)`` pairs, best first (``kwargs``: ``filter``, a Qdrant Filter)."""
        return self.batch_search_with_score([query], k, **kwargs)[0]

    def similarity_search(  # type: ignore[override]
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` best passages for ``query``."""
        return [d for d, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self.mode != "dense":
            raise RetrievalError(f"relevance scores are defined for dense search, not {self.mode}")
        from lc_klue.retrieval.faiss_store import cosine_relevance

        return cosine_relevance

    def batch_search_with_score(
        self,
        queries: Sequence[str],
        k: int = 4,
        *,
        filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
    ) -> list[list[tuple[Document, float]]]:
        """Search many queries in one ``query_batch_points`` call (queries embedded in one
        batch, morphemes analysed in one Kiwi call)."""
        queries, k = check_search(queries, k, sys.maxsize)
        if not queries:
            return []
        dense = (
            embed_queries(self._require_embeddings(f"{self.mode} search"), list(queries))
            if self.mode != "bm25"
            else None
        )
        sparse = (
            self.sparse.embed_queries(list(queries))
            if self.mode != "dense" and self.sparse is not None
            else None
        )
        return self.search_vectors(
            dense, sparse, k, filter=filter, search_params=search_params, n=len(queries)
        )

    def search_vectors(
        self,
        dense: np.ndarray | None,
        sparse: Sequence[Any] | None,
        k: int = 4,
        *,
        filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
        n: int | None = None,
    ) -> list[list[tuple[Document, float]]]:
        """Search with query vectors already computed: ``dense`` rows and/or ``sparse``
        vectors (:meth:`KiwiBM25Sparse.query_vectors`) as the mode needs, in one request."""
        if (self.mode != "bm25" and dense is None) or (self.mode != "dense" and sparse is None):
            raise RetrievalError(f"{self.mode} search needs its query vectors")
        n = n if n is not None else len(dense if dense is not None else sparse or [])
        requests = [
            self._request(
                dense[i] if dense is not None else None,
                sparse[i] if sparse is not None else None,
                k,
                filter,
                search_params,
            )
            for i in range(n)
        ]
        try:
            responses = self.client.query_batch_points(self.collection_name, requests=requests)
        except ValueError as e:  # local mode checks the dimension
            raise ModelError(f"Qdrant collection {self.collection_name!r}: {e}") from None
        return [
            [
                (
                    self._document_from_point(
                        p, self.collection_name, self.content_payload_key, self.metadata_payload_key
                    ),
                    float(p.score),
                )
                for p in r.points
            ]
            for r in responses
        ]

    def _request(
        self,
        dense: np.ndarray | None,
        sparse: Any,
        k: int,
        filter: models.Filter | None,
        params: models.SearchParams | None,
    ) -> models.QueryRequest:
        sparse_q = (
            models.SparseVector(indices=sparse.indices, values=sparse.values)
            if sparse is not None
            else None
        )
        common: dict[str, Any] = {"limit": k, "with_payload": True, "filter": filter}
        if self.mode == "dense":
            assert dense is not None
            return models.QueryRequest(query=dense.tolist(), using=DENSE, params=params, **common)
        if self.mode == "bm25":
            return models.QueryRequest(query=sparse_q, using=SPARSE, **common)
        assert dense is not None
        fetch = max(self.fetch_k or k, k)
        return models.QueryRequest(
            prefetch=[
                models.Prefetch(
                    query=dense.tolist(), using=DENSE, limit=fetch, filter=filter, params=params
                ),
                models.Prefetch(query=sparse_q, using=SPARSE, limit=fetch, filter=filter),
            ],
            query=models.RrfQuery(
                rrf=models.Rrf(k=self.rrf_k, weights=list(self.weights) if self.weights else None)
            ),
            **common,
        )

    def as_retriever(self, **kwargs: Any) -> KlueQdrantRetriever:
        """A retriever (``k=`` or ``search_kwargs={"k": ...}``) whose ``batch`` is one request."""
        k = kwargs.pop("k", None)
        search_kwargs = dict(kwargs.pop("search_kwargs", None) or {})
        if k is not None:
            search_kwargs["k"] = k
        tags = kwargs.pop("tags", None) or [*self._get_retriever_tags(), f"qdrant:{self.mode}"]
        return KlueQdrantRetriever(
            vectorstore=self, search_kwargs=search_kwargs, tags=tags, **kwargs
        )

    def hybrid_retriever(
        self, k: int = 30, weights: Sequence[float] | None = None, rrf_k: int = RRF_K
    ) -> KlueQdrantRetriever:
        """Dense and BM25 fused inside Qdrant, ``k`` passages (the pipeline's ``hybrid`` first
        stage with ``fusion="store"``)."""
        return self.view("hybrid", weights=weights, rrf_k=rrf_k, fetch_k=k).as_retriever(k=k)


class KlueQdrantRetriever(BatchedRetrieverMixin, VectorStoreRetriever):
    """Retriever over :class:`KlueQdrant`; ``batch`` sends all queries in one request."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        check_query(query)
        if self.search_type == "similarity":
            search = {**self.search_kwargs, **kwargs}
            k = check_k(int(search.pop("k", 4)), sys.maxsize)
            store: KlueQdrant = self.vectorstore  # type: ignore[assignment]
            return [d for d, _ in store.batch_search_with_score([query], k, **search)[0]]
        return super()._get_relevant_documents(query, run_manager=run_manager, **kwargs)

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        kwargs = dict(self.search_kwargs)
        k = int(kwargs.pop("k", 4))
        store: KlueQdrant = self.vectorstore  # type: ignore[assignment]
        return [[d for d, _ in row] for row in store.batch_search_with_score(queries, k, **kwargs)]

    def _can_batch(self, kwargs: dict[str, Any]) -> bool:
        return self.search_type == "similarity" and not kwargs


def _config(fingerprint: dict[str, Any] | None, sparse: KiwiBM25Sparse | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "embedding": fingerprint,
        "sparse": sparse.config() if sparse is not None else None,
    }


def _progress(n: int, show: bool) -> Any:
    if not show or n <= PROGRESS_MIN_TEXTS:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, desc="Qdrant", unit="passage")


# --------------------------------------------------------------------------- index directories

#: Where an index directory keeps its embedded Qdrant when ``--store qdrant`` names no place.
EMBEDDED_DIR = "qdrant"


def write_qdrant_index(
    docs: Sequence[Document],
    index_dir: Path,
    location: str | None,
    embeddings: Embeddings | None,
    *,
    bm25: tuple[float, float] | None,
    collection: str = "lc_klue",
    show_progress: bool = False,
) -> dict[str, Any]:
    """Write the passages of an index directory being built (``index_dir``) to Qdrant: at
    ``location``, or embedded under ``index_dir/qdrant``, with BM25 vectors of ``bm25``'s
    ``(k1, b)`` (None: none). Returns the manifest's ``store``."""
    where = location or str(index_dir / EMBEDDED_DIR)
    k1, b = bm25 or (1.5, 0.75)  # (unused without BM25 vectors)
    client = connect(where)
    try:
        store = KlueQdrant.from_documents(
            docs,
            embeddings,
            client=client,
            collection_name=collection,
            bm25=bm25 is not None,
            k1=k1,
            b=b,
            show_progress=show_progress,
        )
        sparse = store.sparse.config() if store.sparse is not None else None
    finally:
        if not is_url(where):
            close(client)
    recorded = location if location is None or is_url(location) else str(Path(where).resolve())
    return {"kind": "qdrant", "location": recorded, "collection": collection, "sparse": sparse}


def open_qdrant_index(
    root: Path, manifest: dict[str, Any], embeddings: Embeddings | None, mode: str
) -> KlueQdrant:
    """The collection of index directory ``root`` (its manifest's ``store``), searched in
    ``mode``; ``embeddings`` must be the model that built it."""
    info = manifest["store"]
    location = info.get("location") or str(root / EMBEDDED_DIR)
    if not is_url(location) and not Path(location).is_dir():
        raise RetrievalError(f"{location}: the index's embedded Qdrant directory is missing")
    store = KlueQdrant.open(connect(location), info.get("collection", "lc_klue"), embeddings)
    return store.view(mode)
