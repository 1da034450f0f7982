"""Cross-encoder reranking as a LangChain document compressor, batched across queries.

Three ways to spend fewer FLOPs per query, all opt-in: the model on a cheaper ``backend``
(ONNX Runtime, int8 on CPU), a ``window`` of each passage instead of its first
``max_length`` tokens, and a ``cascade_margin`` under which confident first-stage rankings are
kept without reranking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr

from lc_klue.models.reranker import load_cross_encoder, score_pairs_batched, token_counter
from lc_klue.ranking import RRF_K, order, rrf_fuse
from lc_klue.retrieval.base import check_query


class CrossEncoderReranker(BaseDocumentCompressor):
    """Rerank candidates with a cross-encoder and keep the best ``top_n``.

    Each kept Document is a copy whose ``metadata["relevance_score"]`` is the score it was
    ranked by and ``metadata["cross_encoder_score"]`` the raw cross-encoder score. With
    ``fusion="rrf"`` the order fuses the cross-encoder rank with the first-stage rank
    (reciprocal rank fusion), so a weak reranker cannot undo a strong first stage. Ties keep
    the first-stage order. ``top_n`` larger than the candidate list keeps them all.

    With ``cascade_margin``, a query whose first-stage top score leads the second by at least
    the margin (:func:`first_stage_margin`) keeps the first-stage order: its kept Documents
    carry ``metadata["reranked"] = False`` and no cross-encoder score.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: Any
    """A ``sentence_transformers.CrossEncoder`` or its hub id / local directory."""
    top_n: int = Field(default=10, gt=0)
    """Documents kept per query."""
    batch_size: int = Field(default=64, gt=0)
    """(query, passage) pairs per forward pass."""
    fusion: Literal["none", "rrf"] = "none"
    """``none``: order by cross-encoder score; ``rrf``: fuse with the first-stage rank."""
    fusion_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """Weight of the cross-encoder rank in ``rrf`` fusion (the first stage gets the rest;
    constant :data:`~lc_klue.ranking.RRF_K`)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """When ``model`` is a path: keyword arguments of
    :func:`~lc_klue.models.reranker.load_cross_encoder` (``device``, ``max_length``, ``dtype``,
    ``backend``)."""
    show_progress: bool = False
    """Progress bar while scoring."""
    window: int | None = Field(default=None, gt=0)
    """Read only the best window of this many passage tokens, chosen by lexical coverage of
    the question (:class:`~lc_klue.retrieval.lexical_features.PassageWindows`); None: the
    passage's first ``max_length`` tokens."""
    cascade_margin: float | None = None
    """Skip reranking when the first stage's top-1 score leads its top-2 by at least this
    (fitted on training questions, :func:`lc_klue.ranking.fit_cascade_margin`); None: always
    rerank."""

    _windows: Any = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        """Validate the settings; load ``model`` when it is a path or hub id."""
        super().__init__(**data)
        if isinstance(self.model, str | Path):
            self.model = load_cross_encoder(self.model, **self.model_kwargs)

    def windows(self) -> Any:
        """The window chooser of :attr:`window` (made once, counting the model's tokens)."""
        if self._windows is None and self.window:
            from lc_klue.retrieval.lexical_features import PassageWindows

            self._windows = PassageWindows(self.window, token_counter(self.model))
        return self._windows

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The ``top_n`` best ``documents`` for ``query``."""
        return self.compress_documents_batch([documents], [query])[0]

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async :meth:`compress_documents` (runs in a worker thread)."""
        return await asyncio.to_thread(self.compress_documents, documents, query)

    def compress_documents_batch(
        self, documents: Sequence[Sequence[Document]], queries: Sequence[str]
    ) -> list[list[Document]]:
        """Rerank the candidates of many queries, scoring all their pairs together."""
        queries = [check_query(q) for q in queries]
        if len(queries) != len(documents):
            raise ValueError(f"{len(queries)} queries but {len(documents)} candidate lists")
        todo = [
            i
            for i, docs in enumerate(documents)
            if self.cascade_margin is None
            or first_stage_margin(docs) is None
            or first_stage_margin(docs) < self.cascade_margin  # type: ignore[operator]
        ]
        texts = [[d.page_content for d in documents[i]] for i in todo]
        asked = [queries[i] for i in todo]
        if self.window:
            texts = self.windows().select(asked, texts)
        scores = score_pairs_batched(
            self.model, asked, texts, batch_size=self.batch_size, show_progress=self.show_progress
        )
        by_query = dict(zip(todo, scores, strict=True))
        return [
            self._rank(docs, by_query[i]) if i in by_query else self._keep(docs)
            for i, docs in enumerate(documents)
        ]

    def _keep(self, docs: Sequence[Document]) -> list[Document]:
        """The first stage's own top ``top_n`` (a confident query of the cascade)."""
        out = []
        for d in docs[: self.top_n]:
            meta = {**d.metadata, "reranked": False}
            out.append(Document(page_content=d.page_content, metadata=meta, id=d.id))
        return out

    def _rank(self, docs: Sequence[Document], ce: np.ndarray) -> list[Document]:
        if self.fusion == "rrf":  # the first stage's order is its ranking
            first = -np.arange(len(docs), dtype=np.float64)
            key = rrf_fuse([ce, first], [self.fusion_weight, 1 - self.fusion_weight], RRF_K)
        else:
            key = ce.astype(np.float64)
        out = []
        for i in order(key)[: self.top_n]:
            d = docs[int(i)]
            meta = {
                **d.metadata,
                "relevance_score": float(key[i]),
                "cross_encoder_score": float(ce[i]),
            }
            out.append(Document(page_content=d.page_content, metadata=meta, id=d.id))
        return out


#: Metadata keys of a first-stage score, in the order :func:`first_stage_margin` reads them
#: (the last stage's first): a fusion stage's score (``fusion_score``), reciprocal-rank fusion
#: (``rrf_score``), dense cosine or BM25 score (``retrieval_score``).
FIRST_STAGE_SCORE_KEYS = ("fusion_score", "rrf_score", "retrieval_score")


def first_stage_margin(docs: Sequence[Document]) -> float | None:
    """Top-1 minus top-2 first-stage score of ranked candidates (the cascade's confidence);
    infinite for a single candidate, None when the candidates carry no score."""
    if not docs:
        return None
    for key in FIRST_STAGE_SCORE_KEYS:
        values = [d.metadata.get(key) for d in docs[:2]]
        if all(isinstance(v, int | float) for v in values):
            numbers = [float(v) for v in values if v is not None]
            return numbers[0] - numbers[1] if len(numbers) > 1 else float("inf")
    return None
