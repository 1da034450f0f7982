"""The public API: each package's ``__all__`` is exactly the expected names, and every name
resolves. ``import lc_klue`` stays cheap (nothing heavy is imported until a name is used)."""

import importlib
import subprocess
import sys

import pytest

EXPECTED = {
    "lc_klue": [
        "CrossEncoderReranker",
        "DataError",
        "ExtractiveAnswerer",
        "FusionRetriever",
        "HybridRetriever",
        "IndexOverrides",
        "IndexSettings",
        "KiwiBM25Retriever",
        "KlueEmbeddings",
        "KlueFAISS",
        "LcKlueError",
        "ModelError",
        "PipelineParts",
        "PipelineSpec",
        "RerankingRetriever",
        "RetrievalError",
        "__version__",
        "build_first_stage",
        "build_index",
        "build_pipeline",
        "build_rag_chain",
        "build_retriever",
        "context_id",
        "default_pipeline",
        "document_passages",
        "evaluate_retriever",
        "EvalSettings",
        "format_answer",
        "kiwi_tokenize",
        "load_chat_model",
        "load_cross_encoder",
        "load_mrc",
        "load_passages",
        "load_sts",
        "mrc_documents",
        "open_index",
        "retrieval_metrics",
    ],
    "lc_klue.data": [
        "MRC_COLUMNS",
        "MrcSource",
        "STS_COLUMNS",
        "add_irrelevant_contexts",
        "context_id",
        "inverse_cloze_pairs",
        "load_mrc",
        "load_passages",
        "document_passages",
        "load_sts",
        "mrc_documents",
        "paraphrase_retrieval",
        "read_documents",
        "relevance_pairs",
        "sample_questions",
        "split_by_title",
        "split_dev",
        "split_sts",
        "unique_contexts",
    ],
    "lc_klue.models": [
        "KlueEmbeddings",
        "load_cross_encoder",
        "score_pairs_batched",
    ],
    "lc_klue.retrieval": [
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
    ],
    "lc_klue.chain": [
        "HUMAN_PROMPT",
        "RAG_PROMPT",
        "SYSTEM_PROMPT",
        "ExtractiveAnswerer",
        "TransformersChatModel",
        "build_rag_chain",
        "citations",
        "format_answer",
        "format_citations",
        "format_sources",
        "load_chat_model",
        "source_score",
    ],
    "lc_klue.evaluation": [
        "PROTOCOLS",
        "EvalSet",
        "EvalSettings",
        "EvaluationResult",
        "build_eval_set",
        "evaluate",
        "evaluate_retriever",
        "retrieval_metrics",
    ],
    "training": [
        "CrossEncoderSettings",
        "MrcSettings",
        "SIZES",
        "StageResult",
        "StsSettings",
        "TrainingArgs",
        "base_texts",
        "build_scratch_base",
        "parse_scratch_spec",
        "push_to_hub",
        "train_cross_encoder",
        "train_mrc",
        "train_sts",
        "train_tokenizer",
    ],
}


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_all_is_the_expected_api(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(EXPECTED[package])
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_unknown_names_are_attribute_errors() -> None:
    import lc_klue

    with pytest.raises(AttributeError):
        lc_klue.not_a_name  # noqa: B018


def test_import_is_cheap() -> None:
    code = "import sys, lc_klue; print('torch' in sys.modules, 'langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
