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
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, Field

from lc_klue.data import context_id
from lc_klue.errors import RetrievalError
from lc_klue.ranking import RRF_K, rrf
from lc_klue.retrieval.base import BatchedRetrieverMixin, check_query


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Document]],
    weights: Sequence[float],
    rrf_k: int = RRF_K,
    k: int | None = None,
) -> list[Document]:
    """Fuse ranked Document lists with :func:`lc_klue.ranking.rrf`, passages identified by
    :func:`~lc_klue.data.context_id`; best first, ties in order of first appearance.

    The fused score is stored in ``metadata["rrf_score"]`` of copies of the Documents.
    """
    first: dict[str, Document] = {}
    keys = []
    for docs in rankings:
        keys.append([context_id(d) for d in docs])
        for key, doc in zip(keys[-1], docs, strict=True):
            first.setdefault(key, doc)
    fused = list(rrf(keys, weights, rrf_k).items())
    return [
        Document(
            page_content=first[key].page_content,
            metadata={**first[key].metadata, "rrf_score": score},
            id=first[key].id,
        )
        for key, score in (fused if k is None else fused[:k])
    ]


class HybridRetriever(BatchedRetrieverMixin, BaseRetriever):
    """Reciprocal-rank fusion of ``retrievers`` (weights default to equal), best ``k`` kept."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retrievers: list[BaseRetriever]
    """The first-stage retrievers to fuse (each returns its own candidate list)."""
    weights: list[float] | None = None
    """One weight per retriever (None: all 1.0)."""
    rrf_k: int = Field(default=RRF_K, ge=0)
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
        cfg: RunnableConfig = {"callbacks": run_manager.get_child()}
        return self._fuse([r.invoke(query, config=cfg) for r in self.retrievers], k)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        check_query(query)
        cfg: RunnableConfig = {"callbacks": run_manager.get_child()}
        rankings = await asyncio.gather(*(r.ainvoke(query, config=cfg) for r in self.retrievers))
        return self._fuse(rankings, k)

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        per_retriever = [r.batch(queries) for r in self.retrievers]
        return [self._fuse([res[i] for res in per_retriever]) for i in range(len(queries))]
