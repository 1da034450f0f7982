"""Cross-encoder reranking as a LangChain document compressor, batched across queries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field

from lc_klue.models.reranker import load_cross_encoder, score_pairs_batched
from lc_klue.ranking import RRF_K, order, rrf_fuse
from lc_klue.retrieval.base import check_query


class CrossEncoderReranker(BaseDocumentCompressor):
    """Rerank candidates with a cross-encoder and keep the best ``top_n``.

    Each kept Document is a copy whose ``metadata["relevance_score"]`` is the score it was
    ranked by and ``metadata["cross_encoder_score"]`` the raw cross-encoder score. With
    ``fusion="rrf"`` the order fuses the cross-encoder rank with the first-stage rank
    (reciprocal rank fusion), so a weak reranker cannot undo a strong first stage. Ties keep
    the first-stage order. ``top_n`` larger than the candidate list keeps them all.
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
    """Weight of the cross-encoder rank in ``rrf`` fusion (the first stage gets the rest)."""
    rrf_k: int = Field(default=RRF_K, ge=0)
    """The RRF constant: score = Σ weight / (rrf_k + rank)."""
    device: str | None = None
    """Device used when ``model`` is a path (None: best available)."""
    max_length: int = 512
    """Maximum tokens of a (query, passage) pair when ``model`` is a path."""
    show_progress: bool = False
    """Progress bar while scoring."""

    def __init__(self, **data: Any) -> None:
        """Validate the settings; load ``model`` when it is a path or hub id."""
        super().__init__(**data)
        if isinstance(self.model, str | Path):
            self.model = load_cross_encoder(self.model, self.device, self.max_length)

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
        scores = score_pairs_batched(
            self.model,
            queries,
            [[d.page_content for d in docs] for docs in documents],
            batch_size=self.batch_size,
            show_progress=self.show_progress,
        )
        return [self._rank(docs, s) for docs, s in zip(documents, scores, strict=True)]

    def _rank(self, docs: Sequence[Document], ce: np.ndarray) -> list[Document]:
        if self.fusion == "rrf":  # the first stage's order is its ranking
            first = -np.arange(len(docs), dtype=np.float64)
            key = rrf_fuse([ce, first], [self.fusion_weight, 1 - self.fusion_weight], self.rrf_k)
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
