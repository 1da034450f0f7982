"""Composition: first stage (dense, BM25 or hybrid) → cross-encoder rerank, and index building.

Defaults follow the book: the first stage proposes 30 candidates, the reranker keeps 10.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever

from lc_klue.data import MrcSource, mrc_documents
from lc_klue.errors import RetrievalError
from lc_klue.models.embeddings import KlueEmbeddings, embedding_fingerprint
from lc_klue.retrieval.base import BatchedRetrieverMixin
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.compressor import CrossEncoderReranker
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.hybrid import HybridRetriever
from lc_klue.storage import atomic_directory, atomic_write_text

logger = logging.getLogger(__name__)

FirstStageKind = Literal["dense", "bm25", "hybrid"]
MANIFEST = "manifest.json"


class RerankingRetriever(BatchedRetrieverMixin, ContextualCompressionRetriever):
    """A ``ContextualCompressionRetriever`` whose ``batch`` reranks all queries together.

    ``batch`` runs the first stage's ``batch`` once, then the compressor's
    ``compress_documents_batch`` (when it has one) on every query's candidates.
    """

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        candidates = self.base_retriever.batch(queries)
        batched = getattr(self.base_compressor, "compress_documents_batch", None)
        if batched is not None:
            return batched(candidates, queries)
        return [
            list(self.base_compressor.compress_documents(docs, q)) if docs else []
            for docs, q in zip(candidates, queries, strict=True)
        ]


def with_k(retriever: BaseRetriever, k: int) -> BaseRetriever:
    """A copy of ``retriever`` returning ``k`` documents (vector-store, BM25, hybrid)."""
    if isinstance(retriever, VectorStoreRetriever):
        return retriever.model_copy(update={"search_kwargs": {**retriever.search_kwargs, "k": k}})
    if isinstance(retriever, HybridRetriever):
        subs = [with_k(r, k) for r in retriever.retrievers]
        return retriever.model_copy(update={"k": k, "retrievers": subs})
    if isinstance(retriever, KiwiBM25Retriever) or "k" in type(retriever).model_fields:
        return retriever.model_copy(update={"k": k})
    logger.warning(
        "cannot set k on %s; it returns its own number of documents", type(retriever).__name__
    )
    return retriever


def _dense_retriever(dense: VectorStore | BaseRetriever, k: int) -> BaseRetriever:
    if isinstance(dense, VectorStore):
        return dense.as_retriever(search_kwargs={"k": k})
    return with_k(dense, k)


def build_first_stage(
    kind: FirstStageKind = "dense",
    *,
    dense: VectorStore | BaseRetriever | None = None,
    bm25: KiwiBM25Retriever | None = None,
    k: int = 30,
    weights: Sequence[float] | None = None,
    rrf_k: int = 60,
) -> BaseRetriever:
    """The first stage returning ``k`` candidates.

    ``dense`` is a :class:`KlueFAISS` or *any* LangChain ``VectorStore`` (a distributed store
    plugs in unchanged) or retriever; ``bm25`` a :class:`KiwiBM25Retriever`; ``hybrid`` fuses
    both by reciprocal rank (``weights`` = dense, BM25).
    """
    if kind == "dense":
        if dense is None:
            raise RetrievalError("first stage 'dense' needs a vector store (dense=...)")
        return _dense_retriever(dense, k)
    if kind == "bm25":
        if bm25 is None:
            raise RetrievalError("first stage 'bm25' needs a BM25 index (bm25=...)")
        return with_k(bm25, k)
    if kind == "hybrid":
        if dense is None or bm25 is None:
            raise RetrievalError("first stage 'hybrid' needs both dense=... and bm25=...")
        return HybridRetriever(
            retrievers=[_dense_retriever(dense, k), with_k(bm25, k)],
            weights=list(weights) if weights is not None else None,
            rrf_k=rrf_k,
            k=k,
        )
    raise RetrievalError(f"unknown first stage {kind!r}; choose dense, bm25 or hybrid")


def build_retriever(
    first_stage: BaseRetriever | VectorStore,
    reranker: CrossEncoderReranker | Any | None = None,
    k: int = 30,
    top_n: int = 10,
    **reranker_kwargs: Any,
) -> BaseRetriever:
    """First stage with ``k`` candidates → reranker keeping ``top_n``.

    ``reranker`` is a :class:`CrossEncoderReranker`, a ``CrossEncoder`` or a model path/hub id
    (``reranker_kwargs`` go to :class:`CrossEncoderReranker`). Without a reranker the first
    stage itself is returned, set to return ``top_n`` documents.
    """
    if top_n > k:
        raise RetrievalError(f"top_n={top_n} is larger than the number of candidates k={k}")
    if isinstance(first_stage, VectorStore):
        first_stage = first_stage.as_retriever()
    if reranker is None:
        return with_k(first_stage, top_n)
    if not isinstance(reranker, CrossEncoderReranker):
        reranker = CrossEncoderReranker(model=reranker, top_n=top_n, **reranker_kwargs)
    elif reranker.top_n != top_n:
        reranker = reranker.model_copy(update={"top_n": top_n})
    return RerankingRetriever(base_compressor=reranker, base_retriever=with_k(first_stage, k))


def index_documents(store: VectorStore, data: MrcSource, batch_size: int = 10_000) -> list[str]:
    """Add the distinct passages of MRC data to any LangChain ``VectorStore`` (ids =
    ``context_id``), in chunks of ``batch_size``."""
    docs = mrc_documents(data)
    ids: list[str] = []
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        ids += store.add_documents(chunk, ids=[d.metadata["context_id"] for d in chunk])
    return ids


def build_index(
    data: MrcSource,
    output_dir: str | Path,
    embedding_model: str | Path | Embeddings | None = None,
    kinds: Sequence[str] = ("dense", "bm25"),
    index_type: str = "flat",
    *,
    device: str | None = None,
    batch_size: int = 64,
    **index_params: Any,
) -> dict[str, Any]:
    """Build and save the indexes ``kinds`` of MRC data under ``output_dir`` (atomically).

    Layout: ``dense/`` (:class:`KlueFAISS`), ``bm25/`` (:class:`KiwiBM25Retriever`) and
    ``manifest.json`` (kinds, passage count, embedding model). Returns the manifest.
    """
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in ("dense", "bm25")]
    if unknown or not kinds:
        raise RetrievalError(f"unknown index kind(s) {unknown or kinds}; choose dense and/or bm25")
    docs = mrc_documents(data)
    manifest: dict[str, Any] = {"kinds": kinds, "passages": len(docs)}
    with atomic_directory(output_dir) as tmp:
        if "dense" in kinds:
            if embedding_model is None:
                raise RetrievalError("a dense index needs an embedding model (embedding_model=...)")
            embeddings = (
                embedding_model
                if isinstance(embedding_model, Embeddings)
                else KlueEmbeddings(
                    model_name_or_path=str(embedding_model), device=device, batch_size=batch_size
                )
            )
            store = KlueFAISS.from_mrc(docs, embeddings, index_type=index_type, **index_params)
            store.save(tmp / "dense")
            name = embedding_fingerprint(embeddings)["name"]
            if name and Path(name).expanduser().is_dir():
                name = str(Path(name).expanduser().resolve())
            manifest["dense"] = {"index_type": index_type, "embedding_model": name}
        if "bm25" in kinds:
            KiwiBM25Retriever.from_mrc(docs).save(tmp / "bm25")
            manifest["bm25"] = {"tokenizer": "kiwi"}
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def load_retriever(
    index_dir: str | Path,
    kind: FirstStageKind | None = None,
    *,
    embedding_model: str | Path | Embeddings | None = None,
    reranker: CrossEncoderReranker | Any | None = None,
    k: int = 30,
    top_n: int = 10,
    device: str | None = None,
    **reranker_kwargs: Any,
) -> BaseRetriever:
    """Load indexes saved by :func:`build_index` and compose the retriever.

    ``kind`` defaults to ``hybrid`` when both indexes exist, else the one that does;
    ``embedding_model`` defaults to the model recorded in the manifest.
    """
    root = Path(index_dir).expanduser()
    manifest_path = root / MANIFEST
    if not root.is_dir():
        raise RetrievalError(f"{root}: index directory not found")
    if not manifest_path.is_file():
        raise RetrievalError(f"{root}: not an lc-klue index directory (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    kinds = manifest.get("kinds", [])
    if kind is None:
        kind = "hybrid" if {"dense", "bm25"} <= set(kinds) else kinds[0]
    needed = {"dense": ["dense"], "bm25": ["bm25"], "hybrid": ["dense", "bm25"]}.get(kind)
    if needed is None:
        raise RetrievalError(f"unknown first stage {kind!r}; choose dense, bm25 or hybrid")
    missing = [n for n in needed if n not in kinds]
    if missing:
        raise RetrievalError(f"{root}: no {' or '.join(missing)} index (has: {', '.join(kinds)})")
    dense = bm25 = None
    if "dense" in needed:
        model = embedding_model or manifest["dense"]["embedding_model"]
        embeddings = (
            model
            if isinstance(model, Embeddings)
            else KlueEmbeddings(model_name_or_path=str(model), device=device)
        )
        dense = KlueFAISS.load(root / "dense", embeddings)
    if "bm25" in needed:
        bm25 = KiwiBM25Retriever.load(root / "bm25")
    first = build_first_stage(kind, dense=dense, bm25=bm25, k=k)
    return build_retriever(first, reranker, k=k, top_n=top_n, **reranker_kwargs)
