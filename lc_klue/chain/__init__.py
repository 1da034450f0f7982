"""RAG over the retrievers: Korean prompt, chat models, extractive offline answers."""

from lc_klue.chain.extractive import ExtractiveAnswerer
from lc_klue.chain.llm import TransformersChatModel, load_chat_model
from lc_klue.chain.prompts import HUMAN_PROMPT, RAG_PROMPT, SYSTEM_PROMPT
from lc_klue.chain.rag import (
    build_rag_chain,
    citations,
    format_answer,
    format_citations,
    format_sources,
    source_score,
)

__all__ = [
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
]
