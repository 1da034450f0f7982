"""Hybrid first stage: reciprocal-rank fusion of several retrievers (e.g. BM25 + dense)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from lc_klue.data import context_id
from lc_klue.errors import RetrievalError
from lc_klue.retrieval.documents import BatchedRetrieverMixin, check_query


def doc_key(doc: Document) -> str:
    """Identity of a passage: ``metadata["context_id"]``, else the :func:`context_id` of its text.

    The one definition used to fuse, deduplicate and judge retrieved passages.
    """
    cid = doc.metadata.get("context_id") if doc.metadata else None
    return str(cid) if cid is not None else context_id(doc.page_content)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Document]],
    weights: Sequence[float],
    rrf_k: int = 60,
    k: int | None = None,
) -> list[Document]:
    """Fuse ranked lists: score(d) = Σ weight_i / (rrf_k + rank_i(d)), best first.

    Ties keep the order of first appearance (earlier list, then earlier rank). The fused score
    is stored in ``metadata["rrf_score"]`` of copies of the Documents.
    """
    scores: dict[str, float] = {}
    first: dict[str, Document] = {}
    for docs, w in zip(rankings, weights, strict=True):
        for rank, doc in enumerate(docs, start=1):
            key = doc_key(doc)
            scores[key] = scores.get(key, 0.0) + w / (rrf_k + rank)
            first.setdefault(key, doc)
    order = sorted(first, key=lambda key: -scores[key])  # stable: first appearance on ties
    if k is not None:
        order = order[:k]
    return [
        Document(
            page_content=first[key].page_content,
            metadata={**first[key].metadata, "rrf_score": scores[key]},
            id=first[key].id,
        )
        for key in order
    ]


class HybridRetriever(BatchedRetrieverMixin, BaseRetriever):
    """Reciprocal-rank fusion of ``retrievers`` (weights default to equal), best ``k`` kept."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retrievers: list[BaseRetriever]
    """The first-stage retrievers to fuse (each returns its own candidate list)."""
    weights: list[float] | None = None
    """One weight per retriever (None: all 1.0)."""
    rrf_k: int = Field(default=60, ge=0)
    """The RRF constant."""
    k: int = Field(default=10, gt=0)
    """Number of fused passages returned."""

    def __init__(self, **data: Any) -> None:
        """Validate the settings (:class:`RetrievalError` on an empty or mismatched list)."""
        super().__init__(**data)
        if not self.retrievers:
            raise RetrievalError("HybridRetriever needs at least one retriever")
        if self.weights is not None and len(self.weights) != len(self.retrievers):
            raise RetrievalError(
                f"{len(self.weights)} weights for {len(self.retrievers)} retrievers"
            )

    @property
    def _weights(self) -> list[float]:
        return list(self.weights) if self.weights is not None else [1.0] * len(self.retrievers)

    def _fuse(self, rankings: Sequence[Sequence[Document]], k: int | None = None) -> list[Document]:
        return reciprocal_rank_fusion(rankings, self._weights, self.rrf_k, k or self.k)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        check_query(query)
        cfg = {"callbacks": run_manager.get_child()}
        return self._fuse([r.invoke(query, config=cfg) for r in self.retrievers], k)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        check_query(query)
        cfg = {"callbacks": run_manager.get_child()}
        rankings = await asyncio.gather(*(r.ainvoke(query, config=cfg) for r in self.retrievers))
        return self._fuse(rankings, k)

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        per_retriever = [r.batch(queries) for r in self.retrievers]
        return [self._fuse([res[i] for res in per_retriever]) for i in range(len(queries))]
