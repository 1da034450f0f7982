"""Build an index directory: the passages' dense and BM25 indexes and the retrieval pipeline
over them, saved together (:func:`build_index`, configured by :class:`IndexSettings`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from lc_klue.data import MrcSource, mrc_documents
from lc_klue.errors import DataError, RetrievalError
from lc_klue.retrieval.base import write_documents
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.index.layout import (
    INDEX_KINDS,
    LEXICAL_FILE,
    MANIFEST,
    PASSAGES_FILE,
    model_path,
    parse_store,
    qdrant_store,
    sparse_bm25,
)
from lc_klue.retrieval.model_check import check_model
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import FusionStage
from lc_klue.retrieval.saved_pipeline import (
    PIPELINE_FILE,
    SavedPipeline,
    add_models,
    default_pipeline,
    fit_pipeline,
)
from lc_klue.storage import atomic_directory, atomic_write_text

logger = logging.getLogger(__name__)


@dataclass
class IndexSettings:
    """How :func:`build_index` (and ``lc-klue index``, whose flags bear these names) indexes a
    corpus."""

    embedding_model: str | Path | Embeddings | None = None
    """The bi-encoder of the dense index (directory, hub id or loaded embeddings); it joins
    the pipeline if it passes its check. None: BM25 and lexical fusion only."""
    cross_encoder: str | Path | None = None
    """A cross-encoder reranking the fused candidates, if it passes its check."""
    kinds: Sequence[str] | None = None
    """Indexes to build, ``dense`` and/or ``bm25`` (None: both with an embedding model, else
    bm25); only an index with BM25 holds the pipeline."""
    index_type: str = "flat"
    """FAISS index type: ``flat`` (exact), ``hnsw`` or ``ivf``."""
    recall: float = 0.95
    """HNSW or IVF: serve at the cheapest efSearch/nprobe whose recall@10 against exact search
    reaches this, on 200 tuning questions if given, else 200 of the passages
    (:meth:`KlueFAISS.tune_search`; recorded in the manifest)."""
    store: str = "faiss"
    """``faiss`` (FAISS and bm25s files), ``qdrant`` (an embedded Qdrant in the directory),
    ``qdrant:PATH`` (an embedded Qdrant directory) or ``qdrant:URL`` (a server)."""
    collection: str = "lc_klue"
    """The Qdrant collection's name."""
    analysis: str = "context"
    """How Kiwi reads passages and queries for BM25: ``context`` or ``word`` (each distinct
    word once; :data:`lc_klue.text.ANALYSES`). The lexical features always read in context."""
    chunk_size: int | None = None
    """Raw documents: characters per passage (None: 500)."""
    chunk_overlap: int | None = None
    """Raw documents: characters of whole sentences repeated from the previous passage
    (None: 100, less than ``chunk_size``)."""
    device: str | None = None
    """Where the models run (None: the best available)."""
    batch_size: int = 64
    """Texts per encoding batch."""
    backend: str | None = None
    """Model inference: ``torch``, or ``onnx``/``int8`` on the CPU."""
    workers: int = 1
    """Processes embedding the passages on the CPU."""
    show_progress: bool = False
    """Show progress bars."""

    def index_kinds(self, tuned: bool = False) -> list[str]:
        """The kinds to build, checked: one :class:`RetrievalError` line when they cannot be
        (``tuned``: tuning questions come too)."""
        kinds = list(dict.fromkeys(self.kinds or ()))
        if self.kinds is None:
            kinds = ["dense", "bm25"] if self.embedding_model is not None else ["bm25"]
        unknown = [k for k in kinds if k not in INDEX_KINDS]
        if unknown or not kinds:
            raise RetrievalError(
                f"unknown index kind(s) {unknown or kinds}; choose dense and/or bm25"
            )
        if "dense" in kinds and self.embedding_model is None:
            raise RetrievalError("a dense index needs an embedding model (embedding_model=...)")
        if (self.cross_encoder is not None or tuned) and "bm25" not in kinds:
            raise RetrievalError(
                "a reranker or tuning questions go into the saved pipeline, which needs the "
                "BM25 index (kinds with bm25)"
            )
        return kinds


@dataclass(frozen=True)
class Tuning:
    """Questions to fit a pipeline's fusion weights on, with their gold passage texts, and
    where they come from (recorded in the pipeline file); ``answers`` (MRC ``text`` and
    ``answer_start`` per question) place a gold passage among the chunks of a document."""

    questions: list[str]
    gold_contexts: list[str]
    about: dict[str, Any]
    answers: list[dict[str, Any]] | None = None


def index_documents(store: VectorStore, data: MrcSource, batch_size: int = 10_000) -> list[str]:
    """Add the distinct passages of MRC data to any LangChain ``VectorStore`` (ids =
    ``context_id``), in chunks of ``batch_size``."""
    docs = mrc_documents(data)
    ids: list[str] = []
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        ids += store.add_documents(chunk, ids=[d.metadata["context_id"] for d in chunk])
    return ids


def corpus_documents(data: MrcSource, settings: IndexSettings) -> list[Document]:
    """The passages to index: raw documents (a folder or file of .txt, .md, .jsonl with
    ``text``) split into chunks, else the distinct passages of MRC data."""
    from lc_klue.data.documents import (
        CHUNK_OVERLAP,
        CHUNK_SIZE,
        document_passages,
        is_document_source,
    )
    from lc_klue.runtime import is_local

    if isinstance(data, str | Path) and is_local(data) and is_document_source(data):
        size = settings.chunk_size or CHUNK_SIZE
        overlap = settings.chunk_overlap
        data = document_passages(
            data, size, min(CHUNK_OVERLAP, size - 1) if overlap is None else overlap
        )
    return mrc_documents(data)


def build_index(
    data: MrcSource,
    output_dir: str | Path,
    settings: IndexSettings | None = None,
    *,
    pipeline: SavedPipeline | None = None,
    tune: Tuning | None = None,
) -> dict[str, Any]:
    """Build and save the indexes of a corpus (MRC data, a passage file or raw documents)
    under ``output_dir`` (atomically) as ``settings`` say; returns the manifest.

    With a BM25 index the directory also holds the whole retrieval pipeline (``pipeline.json``,
    :class:`SavedPipeline`; default: the one lc-klue ships) and its lexical features, so
    :func:`~lc_klue.retrieval.index.open_index` serves it at once, from either store (a Qdrant
    index keeps its passages in ``passages.jsonl`` too: the lexical features read every one).
    The bi-encoder and the cross-encoder join it only if they pass
    :func:`~lc_klue.retrieval.model_check.check_model`; ``tune`` refits the fusion weights on
    its questions (:func:`~lc_klue.retrieval.saved_pipeline.fit_pipeline`)."""
    s = settings or IndexSettings()
    # a missing extra or a bad store: one line before any work
    qdrant = qdrant_store() if parse_store(s.store)[0] == "qdrant" else None
    kinds = s.index_kinds(tuned=tune is not None)
    docs = corpus_documents(data, s)
    manifest: dict[str, Any] = {"kinds": kinds, "passages": len(docs)}
    with atomic_directory(output_dir) as tmp:
        embeddings = _bi_encoder(s) if "dense" in kinds else None
        name = None
        if embeddings is not None:
            from lc_klue.models.embeddings import embedding_fingerprint

            name = model_path(embedding_fingerprint(embeddings)["name"])
            manifest["dense"] = {"index_type": s.index_type, "embedding_model": name}
        saved = (pipeline or default_pipeline(name)) if "bm25" in kinds else None
        if saved is not None:
            fs = saved.spec.first_stage
            manifest["bm25"] = {"tokenizer": "kiwi", "k1": fs.k1, "b": fs.b, "analysis": s.analysis}
        questions = tune.questions if tune is not None else None
        parts = _parts(docs, s, name, embeddings) if saved is not None else None
        stores, bm25 = _write_stores(docs, tmp, embeddings, manifest, s, questions, parts)
        if saved is not None and parts is not None and bm25 is not None:
            for key, index in {**stores, **_manifest_bm25(manifest, bm25)}.items():
                parts.use_index(key, index)
            try:
                saved = _pipeline_for(saved, parts, bm25, name, model_path(s.cross_encoder), tune)
            finally:
                if qdrant is not None:
                    qdrant.close(bm25.store.client)  # unlocked before the directory moves
            _save_pipeline(tmp, saved, parts)
            manifest["pipeline"] = PIPELINE_FILE
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def _parts(
    docs: list[Document], s: IndexSettings, name: str | None, embeddings: Embeddings | None
) -> PipelineParts:
    """The parts the saved pipeline is made of (the bi-encoder ``embeddings`` under ``name``)."""
    models = {name: embeddings} if name is not None and embeddings is not None else None
    return PipelineParts(
        docs,
        device=s.device,
        batch_size=s.batch_size,
        show_progress=s.show_progress,
        models=models,
    )


def _manifest_bm25(manifest: dict[str, Any], bm25: BaseRetriever) -> dict[Any, BaseRetriever]:
    """``bm25`` keyed by the manifest's ``(k1, b)``, as :class:`PipelineParts` takes it."""
    return {(float(manifest["bm25"]["k1"]), float(manifest["bm25"]["b"])): bm25}


def _write_stores(
    docs: list[Document],
    tmp: Path,
    embeddings: Embeddings | None,
    manifest: dict[str, Any],
    s: IndexSettings,
    questions: Sequence[str] | None = None,
    parts: PipelineParts | None = None,
) -> tuple[dict[str, VectorStore], Any]:
    """Write the passages' indexes, the FAISS and bm25s files or the Qdrant collection (with
    ``passages.jsonl``: its BM25 proposes, the fusion reads every passage); returns the vector
    store by model name (none on Qdrant: the pipeline opens the collection) and the BM25. An
    HNSW or IVF index is tuned to ``s.recall`` on ``questions`` (the tuning ones), if any;
    bm25s in ``context`` analysis shares ``parts``'s Kiwi analysis with the lexical features."""
    kind, location = parse_store(s.store)
    k1b = (manifest["bm25"]["k1"], manifest["bm25"]["b"]) if "bm25" in manifest else None
    if kind == "qdrant":
        manifest["store"] = qdrant_store().write_qdrant_index(
            docs, tmp, location, embeddings, bm25=k1b, collection=s.collection, analysis=s.analysis
        )
        if "dense" in manifest:
            manifest["dense"]["index_type"] = "qdrant"
        if k1b is None:
            return {}, None
        write_documents(tmp / PASSAGES_FILE, docs)
        return {}, sparse_bm25(tmp, manifest)[1]
    stores: dict[str, VectorStore] = {}
    if "dense" in manifest and embeddings is not None:
        dense = KlueFAISS.from_mrc(docs, embeddings, index_type=s.index_type)
        if s.index_type != "flat":
            _tune_dense(dense, s.recall, questions, manifest["dense"])
        dense.save(tmp / "dense")
        stores[manifest["dense"]["embedding_model"]] = dense
    if k1b is None:
        return stores, None
    if s.analysis == "context" and parts is not None:
        files = cast(KiwiBM25Retriever, parts.bm25(*k1b))
    else:
        files = KiwiBM25Retriever(docs=docs, k1=k1b[0], b=k1b[1], analysis=s.analysis)
    files.save(tmp / "bm25")
    return stores, files


def _tune_dense(
    dense: KlueFAISS, target: float, questions: Sequence[str] | None, info: dict[str, Any]
) -> None:
    """Serve ``dense`` at the cheapest efSearch/nprobe whose recall@10 reaches ``target`` on
    200 of ``questions`` (else of the passages: optimistic, a passage finds its own
    neighbourhood more easily than a question), recorded in ``info`` (the manifest's)."""
    from lc_klue.models.embeddings import embed_queries
    from lc_klue.retrieval.recall import DEFAULT_QUERIES

    queries = None
    if questions:
        queries = embed_queries(dense.embedding, list(questions)[:DEFAULT_QUERIES])
    tuning = dense.tune_search(target, queries=queries)
    logger.info("dense index: %s", tuning.line())
    info.update(tuning.record(), tuned_on="tuning questions" if questions else "passages")


def _bi_encoder(s: IndexSettings) -> Embeddings:
    """The settings' bi-encoder as LangChain embeddings (a path or hub id is loaded)."""
    if isinstance(s.embedding_model, Embeddings):
        return s.embedding_model
    from lc_klue.models.embeddings import KlueEmbeddings

    return KlueEmbeddings(
        model_name_or_path=str(s.embedding_model),
        device=s.device,
        batch_size=s.batch_size,
        backend=s.backend,
        workers=s.workers,
    )


def _save_pipeline(root: Path, saved: SavedPipeline, parts: PipelineParts) -> None:
    """Write ``saved`` and the lexical features of its fusion stage under ``root``."""
    saved.save(root / PIPELINE_FILE)
    for stage in saved.spec.stages:
        if isinstance(stage, FusionStage) and stage.lexical:
            parts.lexical(stage.windows).save(root / LEXICAL_FILE)
            break


def tuning_gold_ids(tune: Tuning, documents: Sequence[Document]) -> tuple[list[str], list[str]]:
    """The tuning questions whose gold passage maps onto the corpus, and the corpus id of each
    one's passage: the passage itself, or the chunk standing for it when the corpus splits
    documents into chunks (:func:`~lc_klue.data.gold.chunk_gold_ids`). Questions
    that map to nothing are dropped with one warning line; when all do, one
    :class:`DataError` line."""
    from datasets import Dataset

    from lc_klue.data.gold import chunk_gold_ids

    corpus = Dataset.from_dict(
        {
            "context_id": [str(d.metadata["context_id"]) for d in documents],
            "context": [d.page_content for d in documents],
        }
    )
    ids = chunk_gold_ids(tune.gold_contexts, tune.answers, corpus)
    kept = [n for n, cid in enumerate(ids) if cid is not None]
    if not kept:
        raise DataError(
            f"none of the {len(ids)} tuning questions has its gold passage in the corpus, "
            "whole or in a chunk (holding its answer or sharing half its text): tune on "
            "questions about the indexed passages"
        )
    if len(kept) < len(ids):
        logger.warning(
            "%d of %d tuning questions dropped: their gold passage is not in the corpus, "
            "whole or in a chunk (holding its answer or sharing half its text)",
            len(ids) - len(kept),
            len(ids),
        )
    return [tune.questions[n] for n in kept], [str(ids[n]) for n in kept]


def _pipeline_for(
    saved: SavedPipeline,
    parts: PipelineParts,
    bm25: BaseRetriever,
    embedding_model: str | None,
    cross_encoder: str | None,
    tune: Tuning | None,
) -> SavedPipeline:
    """``saved`` with the models that pass their check, refitted on ``tune``'s questions."""
    checks = []
    if embedding_model is not None:
        model = parts.embeddings(embedding_model)
        checks.append(check_model(model, "embedding model", embedding_model, parts.documents, bm25))
    if cross_encoder is not None:
        model = parts.cross_encoder(cross_encoder)
        checks.append(check_model(model, "cross-encoder", cross_encoder, parts.documents, bm25))
    first = checks[0] if checks else None
    if first is not None and first.near_chance and first.model in saved.spec.embedding_models():
        saved = default_pipeline()  # the pipeline was built around the model: BM25's instead
    saved = add_models(
        saved, embedding_model=embedding_model, cross_encoder=cross_encoder, checks=checks
    )
    if tune is not None:
        questions, gold = tuning_gold_ids(tune, parts.documents)
        saved = fit_pipeline(saved, parts, questions, gold, tune.about)
    return saved
