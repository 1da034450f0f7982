"""lc-klue: Korean retrieval models trained on your data, as LangChain components.

The story of the package, one subpackage per step: :mod:`lc_klue.data` (KLUE STS / MRC,
passages) → ``training`` (the three models) → :mod:`lc_klue.models` (LangChain embeddings,
batched cross-encoder) → :mod:`lc_klue.retrieval` (FAISS, BM25, hybrid, fusion, reranking, the
pipeline builder) → :mod:`lc_klue.chain` (RAG chain, chatbot) → :mod:`lc_klue.evaluation`
(evaluator, benchmark) → :mod:`lc_klue.commands` (the ``lc-klue`` CLI). Shared foundations:
:mod:`lc_klue.runtime` (device, local-or-hub), :mod:`lc_klue.text` (Korean text with Kiwi),
:mod:`lc_klue.ranking` (fusion and metrics), :mod:`lc_klue.storage` (atomic saves).

The names below are re-exported flat and imported lazily, so ``import lc_klue`` stays cheap.
"""

from __future__ import annotations

from lc_klue._lazy import lazy_exports
from lc_klue.errors import DataError, LcKlueError, ModelError, RetrievalError

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    # data
    "load_sts": "lc_klue.data",
    "load_mrc": "lc_klue.data",
    "load_passages": "lc_klue.data",
    "context_id": "lc_klue.data",
    "mrc_documents": "lc_klue.data",
    "document_passages": "lc_klue.data",
    # models
    "KlueEmbeddings": "lc_klue.models",
    "load_cross_encoder": "lc_klue.models",
    # retrieval
    "KlueFAISS": "lc_klue.retrieval",
    "KiwiBM25Retriever": "lc_klue.retrieval",
    "HybridRetriever": "lc_klue.retrieval",
    "CrossEncoderReranker": "lc_klue.retrieval",
    "RerankingRetriever": "lc_klue.retrieval",
    "FusionRetriever": "lc_klue.retrieval",
    "build_first_stage": "lc_klue.retrieval",
    "build_retriever": "lc_klue.retrieval",
    "build_index": "lc_klue.retrieval",
    "build_pipeline": "lc_klue.retrieval",
    "PipelineSpec": "lc_klue.retrieval",
    "PipelineParts": "lc_klue.retrieval",
    "open_index": "lc_klue.retrieval",
    "IndexOverrides": "lc_klue.retrieval",
    "IndexSettings": "lc_klue.retrieval",
    "default_pipeline": "lc_klue.retrieval",
    "kiwi_tokenize": "lc_klue.text",
    # chain
    "build_rag_chain": "lc_klue.chain",
    "load_chat_model": "lc_klue.chain",
    "ExtractiveAnswerer": "lc_klue.chain",
    "format_answer": "lc_klue.chain",
    # evaluation
    "evaluate_retriever": "lc_klue.evaluation",
    "EvalSettings": "lc_klue.evaluation",
    "retrieval_metrics": "lc_klue.evaluation",
}

__all__ = ["DataError", "LcKlueError", "ModelError", "RetrievalError", "__version__", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
