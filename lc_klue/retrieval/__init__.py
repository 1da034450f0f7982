"""Retrieval: FAISS dense store, Korean BM25, hybrid fusion, cross-encoder reranking."""

from lc_klue.data import mrc_documents
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.builder import (
    RerankingRetriever,
    build_first_stage,
    build_index,
    build_retriever,
    index_documents,
    load_retriever,
)
from lc_klue.retrieval.compressor import CrossEncoderReranker
from lc_klue.retrieval.faiss_store import KlueFAISS, KlueFAISSRetriever
from lc_klue.retrieval.fusion import (
    CrossEncoderFeatures,
    DenseFeatures,
    FusionRetriever,
)
from lc_klue.retrieval.hybrid import HybridRetriever, reciprocal_rank_fusion
from lc_klue.retrieval.lexical_features import LexicalFeatures
from lc_klue.text import kiwi_tokenize

__all__ = [
    "CrossEncoderFeatures",
    "CrossEncoderReranker",
    "DenseFeatures",
    "FusionRetriever",
    "HybridRetriever",
    "KiwiBM25Retriever",
    "KlueFAISS",
    "KlueFAISSRetriever",
    "LexicalFeatures",
    "RerankingRetriever",
    "build_first_stage",
    "build_index",
    "build_retriever",
    "index_documents",
    "kiwi_tokenize",
    "load_retriever",
    "mrc_documents",
    "reciprocal_rank_fusion",
]
