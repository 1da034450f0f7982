"""Index directories: a corpus's dense and BM25 indexes and its retrieval pipeline, saved
together by :func:`build_index` and opened back by :func:`open_index`.

Layout: ``dense/`` (:class:`~lc_klue.retrieval.faiss_store.KlueFAISS`), ``bm25/``
(:class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever`), ``pipeline.json`` (the retrieval pipeline,
:class:`~lc_klue.retrieval.saved_pipeline.SavedPipeline`), ``lexical.json`` (its lexical
features' Kiwi analysis) and ``manifest.json`` (kinds, passage count, embedding model,
pipeline), read by :func:`read_manifest` alone. With ``store="qdrant"`` both indexes live in one
Qdrant collection instead (:mod:`~lc_klue.retrieval.qdrant_store`): embedded under ``qdrant/``,
in another embedded directory, or on a server, as the manifest's ``store`` says. The pipeline
is the same: its BM25 candidates come from the collection's sparse vectors, and its lexical
features read every passage from ``passages.jsonl`` (a local copy, in corpus order).
"""

from lc_klue.retrieval.index.build import (
    IndexSettings,
    Tuning,
    build_index,
    index_documents,
    tuning_gold_ids,
)
from lc_klue.retrieval.index.layout import (
    parse_store,
    read_manifest,
    saved_pipeline,
)
from lc_klue.retrieval.index.load import IndexOverrides, open_index, pipeline_parts, serve

__all__ = [
    "IndexOverrides",
    "IndexSettings",
    "Tuning",
    "build_index",
    "index_documents",
    "open_index",
    "parse_store",
    "pipeline_parts",
    "read_manifest",
    "saved_pipeline",
    "serve",
    "tuning_gold_ids",
]
