"""Qdrant as lc-klue's scale-out vector database: langchain-qdrant's ``QdrantVectorStore``.

One collection holds the passages, their dense vectors (``dense``, cosine) and their Kiwi BM25
sparse vectors (``bm25``, :mod:`lc_klue.retrieval.sparse`), set up through langchain-qdrant's own
options (``vector_name``, ``sparse_vector_name``, ``retrieval_mode``, ``sparse_embedding``,
``hybrid_fusion``). :class:`KlueQdrant` adds what the base has not: passage ids beside Qdrant's
point ids, the model and Kiwi version checked on opening, alias publishing
(:mod:`lc_klue.retrieval.qdrant_collection`) and ``batch`` as one ``query_batch_points`` call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStoreRetriever
from langchain_qdrant import QdrantVectorStore
from qdrant_client import QdrantClient, models
from tqdm.auto import tqdm

from lc_klue.data import mrc_documents
from lc_klue.errors import DataError, RetrievalError
from lc_klue.models.embeddings import PROGRESS_MIN_TEXTS, embed_passages, embed_queries
from lc_klue.ranking import RRF_K
from lc_klue.retrieval.base import (
    BatchedRetrieverMixin,
    check_k,
    check_query,
    check_search,
    passages_to_add,
)
from lc_klue.retrieval.qdrant_collection import (
    DENSE,
    EMBEDDED_DIR,
    MODES,
    SPARSE,
    check_collection,
    close,
    connect,
    create_collection,
    index_location,
    is_url,
    model_errors,
    point_id,
    points,
    publish,
    query_request,
    record_sparse,
    rrf_fusion,
    search_mode,
    staging_name,
    stored_kinds,
    stored_vectors,
)
from lc_klue.retrieval.sparse import KiwiBM25Sparse


class KlueQdrant(QdrantVectorStore):
    """A Qdrant collection of passages searched in ``mode``: ``dense`` (cosine; relevance
    ``(1 + cos) / 2`` as :class:`~lc_klue.retrieval.faiss_store.KlueFAISS`), ``bm25`` (BM25
    scores) or ``hybrid`` (fused inside Qdrant by ``hybrid_fusion``, ``k`` candidates from each;
    RRF scores). Build with :meth:`from_documents`/:meth:`from_mrc`, open with :meth:`open`."""

    def __init__(
        self,
        client: QdrantClient,
        collection_name: str,
        embedding: Embeddings | None = None,
        *,
        sparse: KiwiBM25Sparse | None = None,
        mode: str | None = None,
        hybrid_fusion: models.RrfQuery | None = None,
    ) -> None:
        """``mode`` checked by :func:`search_mode`; ``hybrid_fusion`` default :func:`rrf_fusion`."""
        mode = search_mode(mode, embedding is not None, sparse is not None)
        super().__init__(
            client,
            collection_name,
            embedding,
            retrieval_mode=MODES[mode],
            vector_name=DENSE,
            sparse_embedding=sparse,
            sparse_vector_name=SPARSE,
            validate_embeddings=False,
            validate_collection_config=False,
        )
        self.mode, self.sparse = mode, sparse
        self.hybrid_fusion = hybrid_fusion or rrf_fusion()

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
        analysis: str = "context",
        **kwargs: Any,
    ) -> KlueQdrant:
        """An empty collection for ``embedding``'s vectors and/or BM25 vectors (``bm25``, over
        Kiwi ``analysis``: :data:`lc_klue.text.ANALYSES`); ``avgdl`` is measured on the first
        passages added."""
        sparse = KiwiBM25Sparse(k1, b, analysis=analysis) if bm25 else None
        create_collection(client, collection_name, embedding, sparse)
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
        show_progress: bool = False,
        batch_size: int = 256,
        **kwargs: Any,
    ) -> KlueQdrant:
        """Write Documents (ids: ``Document.id``, else ``metadata["context_id"]``, else
        :func:`~lc_klue.data.context_id`) to a new collection published as ``collection_name``
        (an alias; an earlier collection of that name is replaced only once this one is
        complete). ``client`` or ``location`` says where (:func:`connect`); ``kwargs`` go to
        :meth:`create` (``bm25``, ``k1``, ``b``, ``mode``, ``hybrid_fusion``)."""
        docs = list(documents)
        if not docs:
            raise DataError("cannot build a Qdrant collection from an empty corpus")
        client = client or connect(location)
        staging = staging_name(client, collection_name)
        store = cls.create(client, staging, embedding, **kwargs)
        try:
            store.add_documents(docs, show_progress=show_progress, batch_size=batch_size)
            publish(client, collection_name, staging)
        except BaseException:
            client.delete_collection(staging)
            raise
        store.collection_name = collection_name
        return store

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict] | None = None,
        ids: Sequence[str | int] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> KlueQdrant:
        """:meth:`from_documents` of plain texts (its options by keyword)."""
        texts = list(texts)
        keys = ids if ids is not None else [None] * len(texts)
        docs = [
            Document(t, metadata=m, id=None if i is None else str(i))
            for t, m, i in zip(texts, metadatas or [{} for _ in texts], keys, strict=True)
        ]
        return cls.from_documents(docs, embedding, *args, **kwargs)

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
        """Open a collection written by lc-klue (:func:`check_collection`: the model that built
        it, unless ``check_model=False``, and this Kiwi); without a model only BM25 search."""
        client = client if isinstance(client, QdrantClient) else connect(client)
        sparse = check_collection(client, collection_name, embedding, check_model)
        return cls(client, collection_name, embedding, sparse=sparse, **kwargs)

    def view(self, mode: str, hybrid_fusion: models.RrfQuery | None = None) -> KlueQdrant:
        """The same collection searched in another ``mode`` (and with another fusion)."""
        fusion = hybrid_fusion or self.hybrid_fusion
        return type(self)(
            self.client,
            self.collection_name,
            self.embeddings,
            sparse=self.sparse,
            mode=mode,
            hybrid_fusion=fusion,
        )

    # -- writing ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.client.count(self.collection_name, exact=True).count)

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: Sequence[str | int | None] | None = None,
        batch_size: int = 256,
        *,
        show_progress: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Embed and upsert ``texts`` in batches of ``batch_size`` (langchain-core's
        ``add_documents`` comes here with each ``Document.id``); an id left out is
        ``metadata["context_id"]`` or the passage's :func:`~lc_klue.data.context_id`. An id
        already stored is replaced. Returns the ids (strings)."""
        given = None if ids is None else [None if i is None else str(i) for i in ids]
        texts, metas, final = passages_to_add(texts, metadatas, given)
        if not texts:
            return []
        dense_on, bm25_on = stored_kinds(self.client, self.collection_name)
        sparse = self.sparse if bm25_on else None
        tokens = sparse.tokenize(texts, show_progress) if sparse is not None else None
        if sparse is not None and tokens is not None and sparse.avgdl is None:
            self.fit_bm25(tokens)
        quiet = not show_progress or len(texts) <= PROGRESS_MIN_TEXTS
        with tqdm(total=len(texts), desc="Qdrant", unit="passage", disable=quiet) as bar:
            for start in range(0, len(texts), batch_size):
                part = slice(start, start + batch_size)
                model = self._require_embeddings("dense vectors") if dense_on else None
                dense = embed_passages(model, texts[part]) if model is not None else None
                tokens_part = tokens[part] if tokens is not None else None
                self.upsert_vectors(
                    texts[part], metas[part], final[part], dense=dense, tokens=tokens_part
                )
                bar.update(len(final[part]))
        return final

    def fit_bm25(self, token_lists: Sequence[Sequence[str]]) -> None:
        """Measure the BM25 ``avgdl`` on tokenised passages and keep it with the collection
        (done by the first :meth:`add_texts`; call it before :meth:`upsert_vectors`)."""
        if self.sparse is None:
            raise RetrievalError(f"Qdrant collection {self.collection_name!r} has no BM25 vectors")
        record_sparse(self.client, self.collection_name, self.sparse.fit_tokens(token_lists))

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
        dense_on, bm25_on = stored_kinds(self.client, self.collection_name)
        if dense_on and dense is None:
            raise DataError("this collection stores dense vectors: pass dense=...")
        if bm25_on and tokens is None:
            raise DataError("this collection stores BM25 vectors: pass tokens=...")
        sparse = self.sparse.document_vectors(tokens) if tokens and self.sparse else None
        batch = points(texts, metadatas, ids, dense, sparse)
        with model_errors(self.collection_name):
            self.client.upsert(self.collection_name, points=batch, wait=True)

    def delete(self, ids: Sequence[str | int] | None = None, **kwargs: Any) -> bool | None:
        """Remove the passages with these ids (unknown ids are skipped); ``None`` removes all."""
        selector: Any = models.FilterSelector(filter=models.Filter())
        if ids is not None:
            selector = models.PointIdsList(points=[point_id(str(i)) for i in ids])
        self.client.delete(self.collection_name, points_selector=selector, wait=True)
        return True

    def get_by_ids(self, ids: Sequence[str | int], /) -> list[Document]:
        """The stored passages with these ids (unknown ids are skipped)."""
        points = self.client.retrieve(
            self.collection_name, [point_id(str(i)) for i in ids], with_payload=True
        )
        return [self._document(p) for p in points]

    @classmethod
    def _document_from_point(
        cls,
        scored_point: Any,
        collection_name: str,
        content_payload_key: str,
        metadata_payload_key: str,
    ) -> Document:
        """A stored passage: its own id (``doc_id``), its metadata as written."""
        payload = scored_point.payload or {}
        return Document(
            page_content=payload.get(content_payload_key, ""),
            metadata=dict(payload.get(metadata_payload_key) or {}),
            id=str(payload.get("doc_id", scored_point.id)),
        )

    def _document(self, point: Any) -> Document:
        """:meth:`_document_from_point` with this store's payload keys."""
        keys = (self.collection_name, self.content_payload_key, self.metadata_payload_key)
        return self._document_from_point(point, *keys)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored dense vectors of the passages with these ids, one row each, in order."""
        return stored_vectors(self.client, self.collection_name, ids)

    # -- searching -------------------------------------------------------------------------------

    def similarity_search_with_score(
        self, query: str, k: int = 4, *args: Any, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """langchain-qdrant's search in this store's mode (``filter``, ``search_params``, ... as
        there), the query and ``k`` checked; hybrid fuses with :attr:`hybrid_fusion`."""
        check_query(query)
        check_k(k, sys.maxsize)
        if kwargs.get("hybrid_fusion") is None:
            kwargs["hybrid_fusion"] = self.hybrid_fusion
        with model_errors(self.collection_name):
            return super().similarity_search_with_score(query, k, *args, **kwargs)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Cosine relevance ``(1 + cos) / 2``; BM25 and RRF scores have none."""
        if self.mode != "dense":
            raise RetrievalError(f"relevance scores are defined for dense search, not {self.mode}")
        return super()._select_relevance_score_fn()

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
        dense, sparse = None, None
        if self.mode != "bm25":
            dense = embed_queries(self._require_embeddings(f"{self.mode} search"), queries)
        if self.mode != "dense" and self.sparse is not None:
            sparse = self.sparse.embed_queries(queries)
        return self.search_vectors(dense, sparse, k, filter=filter, search_params=search_params)

    def search_vectors(
        self,
        dense: np.ndarray | None,
        sparse: Sequence[Any] | None,
        k: int = 4,
        *,
        filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
    ) -> list[list[tuple[Document, float]]]:
        """Search with query vectors already computed: ``dense`` rows and/or ``sparse``
        vectors (:meth:`KiwiBM25Sparse.query_vectors`) as the mode needs, in one request."""
        if (self.mode != "bm25" and dense is None) or (self.mode != "dense" and sparse is None):
            raise RetrievalError(f"{self.mode} search needs its query vectors")
        n = len(dense) if dense is not None else len(sparse or [])
        rows = dense.tolist() if dense is not None and self.mode != "bm25" else [None] * n
        terms = list(sparse) if sparse is not None and self.mode != "dense" else [None] * n
        requests = [
            query_request(d, s, k, self.hybrid_fusion, filter, search_params)
            for d, s in zip(rows, terms, strict=True)
        ]
        with model_errors(self.collection_name):
            responses = self.client.query_batch_points(self.collection_name, requests=requests)
        return [[(self._document(p), float(p.score)) for p in r.points] for r in responses]

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
        return self.view("hybrid", rrf_fusion(rrf_k, weights)).as_retriever(k=k)


class KlueQdrantRetriever(BatchedRetrieverMixin, VectorStoreRetriever):
    """Retriever over :class:`KlueQdrant`; ``batch`` sends all queries in one request."""

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        """All queries in one :meth:`KlueQdrant.batch_search_with_score`."""
        kwargs = dict(self.search_kwargs)
        k = int(kwargs.pop("k", 4))
        store = cast(KlueQdrant, self.vectorstore)
        return [[d for d, _ in row] for row in store.batch_search_with_score(queries, k, **kwargs)]

    def _can_batch(self, kwargs: dict[str, Any]) -> bool:
        """Similarity search without per-call options goes through one request."""
        return self.search_type == "similarity" and not kwargs


# --------------------------------------------------------------------------- index directories


def write_qdrant_index(
    docs: Sequence[Document],
    index_dir: Path,
    location: str | None,
    embeddings: Embeddings | None,
    *,
    bm25: tuple[float, float] | None,
    collection: str = "lc_klue",
    show_progress: bool = False,
    analysis: str = "context",
) -> dict[str, Any]:
    """Write the passages of an index directory being built (``index_dir``) to Qdrant: at
    ``location``, or embedded under ``index_dir/qdrant``, with BM25 vectors of ``bm25``'s
    ``(k1, b)`` (None: none) over Kiwi ``analysis``. Returns the manifest's ``store``."""
    where = location or str(index_dir / EMBEDDED_DIR)
    options: dict[str, Any] = {"bm25": bm25 is not None, "collection_name": collection}
    if bm25:
        options.update(k1=bm25[0], b=bm25[1], analysis=analysis)
    client = connect(where)
    try:
        store = KlueQdrant.from_documents(docs, embeddings, client=client, **options)
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
    location = index_location(root, manifest["store"])
    collection = manifest["store"].get("collection", "lc_klue")
    return KlueQdrant.open(connect(location), collection, embeddings).view(mode)
