"""RAG over the retrievers: Korean prompt, chat models, extractive offline answers."""

from lc_klue.chain.extractive import (
    ExtractiveAnswerer,
    SentenceCandidate,
    as_cross_encoder,
    lexical_overlap,
)
from lc_klue.chain.llm import TransformersChatModel, load_chat_model
from lc_klue.chain.prompts import (
    HUMAN_PROMPT,
    NO_DOCUMENTS_ANSWER,
    RAG_PROMPT,
    SYSTEM_PROMPT,
    cited_numbers,
    format_contexts,
)
from lc_klue.chain.rag import (
    RetrieveSources,
    build_rag_chain,
    citations,
    format_answer,
    format_citations,
    format_sources,
    question_input,
    source_label,
    source_score,
)
from lc_klue.text import split_sentences

__all__ = [
    "HUMAN_PROMPT",
    "NO_DOCUMENTS_ANSWER",
    "RAG_PROMPT",
    "SYSTEM_PROMPT",
    "ExtractiveAnswerer",
    "RetrieveSources",
    "SentenceCandidate",
    "TransformersChatModel",
    "as_cross_encoder",
    "build_rag_chain",
    "citations",
    "cited_numbers",
    "format_answer",
    "format_citations",
    "format_contexts",
    "format_sources",
    "lexical_overlap",
    "load_chat_model",
    "question_input",
    "source_label",
    "source_score",
    "split_sentences",
]
