"""An index directory's files: the manifest, the store it names, and its BM25 and dense
vectors opened back (FAISS and bm25s files, or one Qdrant collection)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from lc_klue.data import context_id
from lc_klue.errors import RetrievalError
from lc_klue.retrieval.base import read_documents
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.saved_pipeline import SavedPipeline

MANIFEST = "manifest.json"
#: The saved lexical features of the pipeline (the Kiwi analysis of every passage).
LEXICAL_FILE = "lexical.json"
#: A Qdrant index's passages, in corpus order, for its pipeline's lexical features.
PASSAGES_FILE = "passages.jsonl"
INDEX_KINDS = ("dense", "bm25")
#: The stores an index directory can keep its passages in (``--store``).
STORES = ("faiss", "qdrant")

#: An index's passages (in corpus order), its BM25 retriever and that retriever's ``(k1, b)``.
Bm25Index = tuple[list[Document], BaseRetriever, tuple[float, float]]


def parse_store(spec: str) -> tuple[str, str | None]:
    """``faiss``, ``qdrant`` (embedded, inside the index directory), ``qdrant:PATH`` (an
    embedded directory) or ``qdrant:URL`` (a server) → ``(kind, location or None)``."""
    kind, _, location = str(spec).partition(":")
    if kind not in STORES or (kind == "faiss" and location):
        raise RetrievalError(
            f"unknown store {spec!r}; use faiss, qdrant, qdrant:PATH or qdrant:URL"
        )
    if kind == "qdrant" and location == ":memory:":
        raise RetrievalError("an index directory cannot keep a :memory: Qdrant; give a PATH or URL")
    return kind, location or None


def qdrant_store() -> Any:
    """:mod:`lc_klue.retrieval.qdrant_store`, or one clear line when the extra is missing."""
    try:
        from lc_klue.retrieval import qdrant_store as module
    except ModuleNotFoundError as e:
        if e.name not in ("qdrant_client", "langchain_qdrant"):
            raise
        raise RetrievalError(
            "the Qdrant store needs the qdrant extra: pip install 'lc-klue[qdrant]'"
        ) from None
    return module


def is_qdrant(manifest: dict[str, Any]) -> bool:
    """Whether an index directory keeps its passages in Qdrant."""
    return manifest.get("store", {}).get("kind") == "qdrant"


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    """The manifest of an index directory (:class:`RetrievalError` when it is not one)."""
    root = Path(index_dir).expanduser()
    if not root.is_dir():
        raise RetrievalError(f"{root}: index directory not found")
    path = root / MANIFEST
    if not path.is_file():
        raise RetrievalError(f"{root}: not an lc-klue index directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RetrievalError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or not manifest.get("kinds"):
        raise RetrievalError(f"{path}: not an lc-klue index manifest")
    return manifest


def saved_pipeline(index_dir: str | Path) -> SavedPipeline | None:
    """The pipeline saved in an index directory, or None when it has none (a dense-only
    index, or one built before pipelines were saved)."""
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    if not manifest.get("pipeline"):
        return None
    return SavedPipeline.load(root / manifest["pipeline"])


def index_bm25(root: Path, manifest: dict[str, Any]) -> Bm25Index | None:
    """An index directory's passages, BM25 retriever and ``(k1, b)``: the bm25s files, or the
    Qdrant collection's sparse vectors with ``passages.jsonl``. None when the index has no
    BM25 (or, on Qdrant, no pipeline)."""
    if "bm25" not in manifest["kinds"]:
        return None
    if is_qdrant(manifest):
        return sparse_bm25(root, manifest) if manifest.get("pipeline") else None
    if not (root / "bm25").is_dir():
        return None
    files = KiwiBM25Retriever.load(root / "bm25")
    return files.docs, files, (files.k1, files.b)


def sparse_bm25(root: Path, manifest: dict[str, Any]) -> Bm25Index:
    """:func:`index_bm25` of a Qdrant index: the collection's BM25 over ``passages.jsonl``."""
    try:
        docs = read_documents(root / PASSAGES_FILE)
    except (OSError, ValueError, KeyError) as e:
        raise RetrievalError(f"{root / PASSAGES_FILE}: cannot read the passages ({e})") from None
    store = qdrant_store().open_qdrant_index(root, manifest, None, "bm25")
    from lc_klue.retrieval.sparse import SparseBM25Retriever

    bm25 = SparseBM25Retriever(store=store, docs=docs)
    return docs, bm25, (store.sparse.k1, store.sparse.b)


def dense_store(root: Path, manifest: dict[str, Any], embeddings: Embeddings) -> VectorStore:
    """An index directory's dense vectors as a vector store (FAISS files or the Qdrant
    collection searched densely), loaded once for the first stage and the fusion's cosine."""
    if is_qdrant(manifest):
        return qdrant_store().open_qdrant_index(root, manifest, embeddings, "dense")
    return KlueFAISS.load(root / "dense", embeddings)


def dense_features(store: Any, embeddings: Embeddings, docs: list[Document]) -> Any:
    """Cosine features of the index's bi-encoder over ``docs`` from the vectors ``store`` holds
    (:func:`dense_store`); None when the FAISS vectors do not cover the corpus."""
    from lc_klue.retrieval.fusion import DenseFeatures

    if isinstance(store, KlueFAISS):
        if len(store) != len(docs):
            return None
        return DenseFeatures(embeddings, store.documents(), vectors=store.vectors())
    ids = [str(d.id) if d.id is not None else context_id(d) for d in docs]
    return DenseFeatures(embeddings, docs, vectors=store.vectors(ids))  # a KlueQdrant


def model_path(name: str | Path | None) -> str | None:
    """A model name as a pipeline records it: an existing local directory as an absolute
    path (so a saved pipeline works from any folder), anything else unchanged."""
    if name is None:
        return None
    path = Path(str(name)).expanduser()
    return str(path.resolve()) if path.is_dir() else str(name)
