"""Where lc-klue's Qdrant collections live, what they record, and how they are published.

A *location* is a directory (embedded Qdrant, no server: ``QdrantClient(path=...)``, opened once
per process and shared, since Qdrant locks it), ``:memory:``, or the URL of a Qdrant server or
cluster (API key from the ``QDRANT_API_KEY`` environment variable). Collections are written under
a fresh name and published by pointing an alias at them, so an interrupted build leaves the
previous one in place and no half-written collection behind. Passage ids become Qdrant point ids
(UUIDs) through :func:`point_id`. A collection records, in its metadata, the embedding model's
fingerprint and the BM25 settings with the Kiwi version; :func:`check_collection` compares them
on opening.
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseVector
from qdrant_client import QdrantClient, models

from lc_klue.errors import LcKlueError, ModelError, RetrievalError
from lc_klue.models.embeddings import check_same_model, embedding_fingerprint
from lc_klue.ranking import RRF_K
from lc_klue.retrieval.sparse import KiwiBM25Sparse

API_KEY_ENV = "QDRANT_API_KEY"
DENSE = "dense"
SPARSE = "bm25"
MODES = {"dense": RetrievalMode.DENSE, "bm25": RetrievalMode.SPARSE, "hybrid": RetrievalMode.HYBRID}
#: Where an index directory keeps its embedded Qdrant when ``--store qdrant`` names no place.
EMBEDDED_DIR = "qdrant"
CONTENT_KEY = QdrantVectorStore.CONTENT_KEY
METADATA_KEY = QdrantVectorStore.METADATA_KEY
FORMAT = "lc-klue-qdrant"
FORMAT_VERSION = 1
#: Seconds a Qdrant server has to answer before the connection counts as failed.
CONNECT_TIMEOUT = 5
#: Namespace of the UUIDs that stand for passage ids (Qdrant ids are UUIDs or integers).
POINT_NAMESPACE = uuid.UUID("6f1f6c1e-4a4b-5c1b-9e1f-6c6b6c75652d")

_embedded: weakref.WeakValueDictionary[tuple[str, int], QdrantClient] = (
    weakref.WeakValueDictionary()
)
_embedded_lock = threading.Lock()


def rrf_fusion(rrf_k: int = RRF_K, weights: Sequence[float] | None = None) -> models.RrfQuery:
    """Qdrant's reciprocal-rank fusion query: ``rrf_k``, ``weights`` = (dense, BM25)."""
    if weights is not None and len(weights) != 2:
        raise RetrievalError(f"hybrid weights are (dense, BM25), got {list(weights)}")
    return models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=list(weights) if weights else None))


def search_mode(mode: str | None, dense: bool, sparse: bool) -> str:
    """``mode`` (``dense``, ``bm25`` or ``hybrid``; None: all there is) if the vectors it
    searches are there (:class:`RetrievalError` if not)."""
    mode = mode or ("hybrid" if dense and sparse else "dense" if dense else "bm25")
    if mode not in MODES:
        raise RetrievalError(f"unknown Qdrant search mode {mode!r}; choose dense, bm25, hybrid")
    if mode != "bm25" and not dense:
        raise RetrievalError(f"Qdrant search mode {mode!r} needs an embedding model")
    if mode != "dense" and not sparse:
        raise RetrievalError(f"Qdrant search mode {mode!r} needs the collection's BM25 vectors")
    return mode


def is_url(location: str | Path) -> bool:
    """Whether a location names a Qdrant server (``http://`` or ``https://``)."""
    return str(location).startswith(("http://", "https://"))


def point_id(doc_id: str) -> str:
    """The Qdrant point id (a UUID) of a passage id."""
    return str(uuid.uuid5(POINT_NAMESPACE, str(doc_id)))


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
        return _server(loc, timeout, api_key_env)
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


def _server(url: str, timeout: int, api_key_env: str) -> QdrantClient:
    """A client of the Qdrant server at ``url`` that has answered once."""
    client = QdrantClient(
        url=url,
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
                f"Qdrant at {url} refused access (HTTP {status}); set {api_key_env}"
            ) from None
        raise RetrievalError(
            f"cannot reach Qdrant at {url} within {timeout} s ({_reason(e)})"
        ) from None
    return client


def index_location(root: Path, store: dict[str, Any]) -> str:
    """Where an index directory's collection lives (its manifest's ``store``): the location
    recorded, else embedded under ``root``/:data:`EMBEDDED_DIR`, which must be there."""
    location = store.get("location") or str(root / EMBEDDED_DIR)
    if not is_url(location) and not Path(location).is_dir():
        raise RetrievalError(f"{location}: the index's embedded Qdrant directory is missing")
    return str(location)


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
    """The first line of what went wrong under a connection error."""
    source = getattr(error, "source", None) or error.__cause__ or error
    text = str(source).splitlines()[0] if str(source) else type(source).__name__
    return text[:160]


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


def create_collection(
    client: QdrantClient, name: str, embedding: Embeddings | None, sparse: KiwiBM25Sparse | None
) -> None:
    """A new, empty collection ``name`` for ``embedding``'s dense vectors (cosine) and/or BM25
    sparse vectors (Qdrant's IDF modifier), recording the model and the BM25 settings."""
    if embedding is None and sparse is None:
        raise RetrievalError("a Qdrant collection needs dense vectors, BM25 vectors or both")
    if client.collection_exists(name):
        raise RetrievalError(f"Qdrant collection {name!r} already exists")
    fingerprint = embedding_fingerprint(embedding) if embedding is not None else None
    cosine = models.Distance.COSINE
    client.create_collection(
        name,
        vectors_config=(
            {DENSE: models.VectorParams(size=fingerprint["dimension"], distance=cosine)}
            if fingerprint
            else {}
        ),
        sparse_vectors_config=(
            {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)} if sparse else None
        ),
        metadata={
            "lc_klue": {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "embedding": fingerprint,
                "sparse": sparse.config() if sparse is not None else None,
            }
        },
    )


def stored_kinds(client: QdrantClient, name: str) -> tuple[bool, bool]:
    """Whether collection ``name`` stores dense vectors, and whether BM25 vectors."""
    params = client.get_collection(name).config.params
    dense = isinstance(params.vectors, dict) and DENSE in params.vectors
    return dense, SPARSE in (params.sparse_vectors or {})


def check_collection(
    client: QdrantClient, name: str, embedding: Embeddings | None, check_model: bool = True
) -> KiwiBM25Sparse | None:
    """The BM25 encoder of collection ``name`` (None: it has no BM25 vectors).
    ``embedding`` must be the model that built it (else :class:`ModelError`, unless
    ``check_model=False``) and the Kiwi version this one (:meth:`KiwiBM25Sparse.from_config`)."""
    config = collection_config(client, name)
    where = f"Qdrant collection {name!r}"
    saved = config.get("embedding")
    if embedding is not None and saved is None:
        raise RetrievalError(f"{where} has no dense vectors")
    if embedding is not None and saved is not None and check_model:
        check_same_model(saved, embedding, where, "open it with the same model or rebuild it")
    sparse = KiwiBM25Sparse.from_config(config["sparse"], where) if config.get("sparse") else None
    if embedding is None and sparse is None:
        raise ModelError(
            f"{where} holds only dense vectors: give the embedding model that built it"
        )
    return sparse


def record_sparse(client: QdrantClient, name: str, sparse: KiwiBM25Sparse) -> None:
    """Keep ``sparse``'s settings (its fitted ``avgdl``) in collection ``name``'s metadata."""
    config = collection_config(client, name)
    config["sparse"] = sparse.config()
    client.update_collection(name, metadata={"lc_klue": config})


@contextmanager
def model_errors(collection: str) -> Iterator[None]:
    """Qdrant's local mode checks vector dimensions with a ValueError: a :class:`ModelError`."""
    try:
        yield
    except ValueError as e:
        if isinstance(e, LcKlueError):
            raise
        raise ModelError(f"Qdrant collection {collection!r}: {e}") from None


def stored_vectors(client: QdrantClient, name: str, ids: Sequence[str]) -> np.ndarray:
    """The dense vectors of the passages with these ids in collection ``name``, in order."""
    found = {
        str(p.id): p.vector.get(DENSE)
        for p in client.retrieve(name, [point_id(i) for i in ids], with_vectors=[DENSE])
        if isinstance(p.vector, dict)
    }
    rows = [found.get(point_id(i)) for i in ids]
    for i, r in zip(ids, rows, strict=True):
        if r is None:
            raise RetrievalError(f"Qdrant collection {name!r} has no dense vector of {i!r}")
    return np.asarray(rows, dtype=np.float32)


def points(
    texts: Sequence[str],
    metadatas: Sequence[dict[str, Any]],
    ids: Sequence[str],
    dense: np.ndarray | None,
    sparse: Sequence[SparseVector] | None,
) -> list[models.PointStruct]:
    """Qdrant points of passages: id :func:`point_id`, payload as langchain-qdrant writes it
    plus the passage id (``doc_id``), ``dense`` rows and/or ``sparse`` vectors."""
    rows = np.asarray(dense, dtype=np.float32).tolist() if dense is not None else None
    out = []
    for i, (text, meta, doc_id) in enumerate(zip(texts, metadatas, ids, strict=True)):
        vector: dict[str, Any] = {}
        if rows is not None:
            vector[DENSE] = rows[i]
        if sparse is not None:
            vector[SPARSE] = models.SparseVector(indices=sparse[i].indices, values=sparse[i].values)
        payload = {CONTENT_KEY: text, METADATA_KEY: meta, "doc_id": doc_id}
        out.append(models.PointStruct(id=point_id(doc_id), vector=vector, payload=payload))
    return out


def query_request(
    dense: list[float] | None,
    sparse: SparseVector | None,
    k: int,
    fusion: models.RrfQuery | None,
    filter: models.Filter | None = None,
    params: models.SearchParams | None = None,
) -> models.QueryRequest:
    """One query of a ``query_batch_points`` call as langchain-qdrant's search builds it: dense,
    sparse, or both fused by ``fusion`` (``k`` candidates from each)."""
    common: dict[str, Any] = {"limit": k, "with_payload": True, "filter": filter}
    if sparse is None:
        return models.QueryRequest(query=dense, using=DENSE, params=params, **common)
    sparse_q = models.SparseVector(indices=sparse.indices, values=sparse.values)
    if dense is None:
        return models.QueryRequest(query=sparse_q, using=SPARSE, **common)
    return models.QueryRequest(
        prefetch=[
            models.Prefetch(query=dense, using=DENSE, limit=k, filter=filter, params=params),
            models.Prefetch(query=sparse_q, using=SPARSE, limit=k, filter=filter),
        ],
        query=fusion,
        **common,
    )


def staging_name(client: QdrantClient, alias: str) -> str:
    """A fresh name to build a collection under before :func:`publish` points ``alias`` at it
    (:class:`RetrievalError` if ``alias`` names a collection that lc-klue did not publish)."""
    if client.collection_exists(alias) and alias_target(client, alias) is None:
        raise RetrievalError(
            f"Qdrant collection {alias!r} exists and was not published by lc-klue "
            "(an alias); choose another collection name"
        )
    return f"{alias}-{uuid.uuid4().hex[:12]}"


def alias_target(client: QdrantClient, alias: str) -> str | None:
    """The collection that ``alias`` points at, or None."""
    for a in client.get_aliases().aliases:
        if a.alias_name == alias:
            return str(a.collection_name)
    return None


def publish(client: QdrantClient, alias: str, collection: str) -> None:
    """Point ``alias`` at ``collection`` in one step and drop the collection it named before."""
    old = alias_target(client, alias)
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
