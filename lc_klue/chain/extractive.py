"""Offline answers: the best sentence of the top passages, scored against the question.

Used by the RAG chain when no language model is configured, so that the chatbot works without
network access. Sentences come from Kiwi's sentence splitter; each is scored with the
cross-encoder reranker (question, sentence) when one is given, otherwise by the share of the
question's content morphemes it contains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from langchain_core.documents import Document
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import BaseModel, ConfigDict, Field

from lc_klue.chain.prompts import NO_DOCUMENTS_ANSWER
from lc_klue.errors import ModelError
from lc_klue.ranking import rrf_fuse
from lc_klue.text import lexical_overlap, split_sentences

#: A markdown heading (never an answer sentence unless nothing else is left).
_HEADING = re.compile(r"#{1,6}\s")

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


class SentenceCandidate(BaseModel):
    """One sentence of a retrieved passage with its score for the question."""

    text: str
    """The sentence, exactly as it appears in the passage."""
    source: int
    """1-based number of the passage it comes from (the citation number)."""
    score: float
    """Cross-encoder score, or lexical overlap in [0, 1] without a cross-encoder."""


def as_cross_encoder(reranker: Any) -> CrossEncoder | None:
    """A :class:`~sentence_transformers.CrossEncoder` from a model, a reranker compressor
    holding one, or a path."""
    from sentence_transformers import CrossEncoder

    if reranker is None or isinstance(reranker, CrossEncoder):
        return reranker
    if isinstance(reranker, (str, Path)):
        from lc_klue.models.reranker import load_cross_encoder

        return load_cross_encoder(reranker)
    model = getattr(reranker, "model", None)
    if isinstance(model, CrossEncoder):
        return model
    raise ModelError(
        f"reranker: expected a CrossEncoder, a model path or a CrossEncoderReranker, "
        f"got {type(reranker).__name__}"
    )


class ExtractiveAnswerer(RunnableSerializable[dict[str, Any], str]):
    """Runnable ``{"question", "sources"}`` → the best sentence of the top passages + ``[n]``.

    The answer is a sentence copied from a retrieved passage followed by the passage's number,
    the same citation style the language-model prompt asks for.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, use_attribute_docstrings=True)

    model: Any = None
    """A sentence-transformers ``CrossEncoder`` scoring (question, sentence); None → lexical."""
    top_passages: int = Field(default=3, ge=1)
    """How many of the first retrieved passages to take sentences from."""
    batch_size: int = Field(default=64, ge=1)
    """Cross-encoder batch size."""
    min_chars: int = Field(default=4, ge=1)
    """Sentences shorter than this (after stripping) are skipped unless nothing else is left."""
    fusion: Literal["none", "rrf"] = "none"
    """``rrf``: fuse the cross-encoder's sentence rank with the lexical-overlap rank, so a weak
    cross-encoder cannot override clear lexical evidence; ``none``: cross-encoder only."""
    fusion_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """Weight of the cross-encoder rank in ``rrf`` fusion (lexical overlap gets the rest)."""

    def candidates(self, question: str, docs: Sequence[Document]) -> list[SentenceCandidate]:
        """Every sentence of the top passages, scored, best first (ties: earlier passage)."""
        texts: list[str] = []
        sources: list[int] = []
        for number, doc in enumerate(docs[: self.top_passages], start=1):
            for sent in split_sentences(doc.page_content):
                texts.append(sent)
                sources.append(number)
        keep = [
            i for i, t in enumerate(texts) if len(t) >= self.min_chars and not _HEADING.match(t)
        ] or list(range(len(texts)))
        texts = [texts[i] for i in keep]
        sources = [sources[i] for i in keep]
        if not texts:
            return []
        scores = self._score(question, texts)
        order = sorted(range(len(texts)), key=lambda i: (-scores[i], sources[i], i))
        return [
            SentenceCandidate(text=texts[i], source=sources[i], score=float(scores[i]))
            for i in order
        ]

    def answer(self, question: str, docs: Sequence[Document]) -> str:
        """The best sentence with its citation, or :data:`NO_DOCUMENTS_ANSWER`."""
        ranked = self.candidates(question, docs)
        if not ranked:
            return NO_DOCUMENTS_ANSWER
        best = ranked[0]
        return f"{best.text} [{best.source}]"

    def invoke(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> str:
        """Answer ``input["question"]`` from ``input["sources"]``."""
        return self._call_with_config(
            lambda x: self.answer(x["question"], x["sources"]), input, config, run_type="chain"
        )

    def _score(self, question: str, sentences: list[str]) -> list[float]:
        if self.model is None:
            return lexical_overlap(question, sentences)
        from lc_klue.models.reranker import score_pairs_batched

        (ce,) = score_pairs_batched(self.model, [question], [sentences], batch_size=self.batch_size)
        if self.fusion == "none":
            return [float(s) for s in ce]
        fused = rrf_fuse(
            [ce, np.asarray(lexical_overlap(question, sentences))],
            [self.fusion_weight, 1.0 - self.fusion_weight],
        )
        return fused.tolist()
