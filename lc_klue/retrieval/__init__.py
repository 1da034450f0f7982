"""Retrieval: FAISS dense store, Korean BM25, hybrid fusion, score fusion, cross-encoder
reranking, and the one pipeline builder that composes them (:mod:`lc_klue.retrieval.pipeline`)
with saved pipelines (:mod:`lc_klue.retrieval.saved_pipeline`), their models' checks
(:mod:`lc_klue.retrieval.model_check`) and index directories (:mod:`lc_klue.retrieval.index`:
:func:`build_index`, :func:`open_index`)."""

from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.compressor import CrossEncoderReranker
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.fusion import FusionRetriever
from lc_klue.retrieval.hybrid import HybridRetriever, reciprocal_rank_fusion
from lc_klue.retrieval.index import (
    IndexOverrides,
    IndexSettings,
    build_index,
    open_index,
)
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import (
    FirstStageSpec,
    FusionStage,
    PipelineSpec,
    RerankingRetriever,
    RerankStage,
    build_first_stage,
    build_pipeline,
    build_retriever,
)
from lc_klue.retrieval.saved_pipeline import default_pipeline

__all__ = [
    "CrossEncoderReranker",
    "FirstStageSpec",
    "FusionRetriever",
    "FusionStage",
    "HybridRetriever",
    "IndexOverrides",
    "IndexSettings",
    "KiwiBM25Retriever",
    "KlueFAISS",
    "PipelineParts",
    "PipelineSpec",
    "RerankStage",
    "RerankingRetriever",
    "build_first_stage",
    "build_index",
    "build_pipeline",
    "build_retriever",
    "default_pipeline",
    "open_index",
    "reciprocal_rank_fusion",
]
