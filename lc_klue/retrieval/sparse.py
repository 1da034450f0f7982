"""Kiwi morphemes as BM25 sparse vectors, so that a vector database runs the BM25 first stage.

A passage becomes ``{term id: tf / (tf + k1 · (1 − b + b · dl / avgdl))}`` over its content
morphemes (:func:`lc_klue.text.kiwi_tokenize`), a query ``{term id: count}``. The database
multiplies the query side by its IDF, ``ln(1 + (N − df + 0.5) / (df + 0.5))`` (Qdrant's ``IDF``
modifier), so the dot product is the Lucene BM25 score that
:class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever` (bm25s, ``method="lucene"``) computes.

Term ids are the first 4 bytes of the BLAKE2b hash of the morpheme: stable across processes and
machines and needing no vocabulary, at the cost of rare collisions (about one pair in 10⁵ terms
of a 30,000-term vocabulary). ``avgdl`` is measured on the corpus once
(:meth:`KiwiBM25Sparse.fit_tokens`) and kept with the collection; passages added later are
weighted with it, while the IDF stays live.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_qdrant import SparseEmbeddings, SparseVector
from pydantic import ConfigDict, Field, PrivateAttr

from lc_klue.data import context_id
from lc_klue.errors import DataError, RetrievalError
from lc_klue.ranking import top_k_indices
from lc_klue.retrieval.base import (
    ScoredRetrieverMixin,
    check_kiwi_record,
    check_search,
    kiwi_record,
    recorded_analysis,
)
from lc_klue.text import check_analysis, kiwi_tokenize

FORMAT = "kiwi-bm25-sparse"


@lru_cache(maxsize=1 << 20)
def term_id(token: str) -> int:
    """The sparse-vector index of a morpheme: an unsigned 32-bit hash, stable everywhere."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big")


class KiwiBM25Sparse(SparseEmbeddings):
    """LangChain-Qdrant ``SparseEmbeddings`` giving BM25 weights of Kiwi content morphemes.

    ``k1``/``b`` as in :class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever`; ``avgdl`` (mean
    morphemes per passage) comes from :meth:`fit_tokens` or a saved :meth:`config`.
    """

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        avgdl: float | None = None,
        *,
        show_progress: bool = False,
        analysis: str = "context",
    ) -> None:
        if k1 <= 0 or not 0 <= b <= 1:
            raise RetrievalError(f"BM25 needs k1 > 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b, self.avgdl = float(k1), float(b), avgdl
        self.show_progress = bool(show_progress)
        self.analysis = check_analysis(analysis)

    # -- fitting and configuration ------------------------------------------------------------

    def fit_tokens(self, token_lists: Sequence[Sequence[str]]) -> KiwiBM25Sparse:
        """Measure ``avgdl`` on tokenised passages."""
        if not token_lists:
            raise DataError("cannot build a BM25 index from an empty corpus")
        self.avgdl = max(sum(len(t) for t in token_lists) / len(token_lists), 1e-9)
        return self

    def config(self) -> dict[str, Any]:
        """JSON-ready settings that :meth:`from_config` restores."""
        return {
            "format": FORMAT,
            "k1": self.k1,
            "b": self.b,
            "avgdl": self.avgdl,
            "hash": "blake2b-32",
            "tokenizer": kiwi_record(self.analysis),
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], where: str = "Kiwi BM25 sparse vectors"
    ) -> KiwiBM25Sparse:
        """The encoder that :meth:`config` describes (:class:`RetrievalError` if foreign, or
        built with another Kiwi model: :func:`~lc_klue.retrieval.base.check_kiwi_record`;
        ``where`` names the index in messages)."""
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise RetrievalError(f"not a Kiwi BM25 sparse configuration: {config!r:.80}")
        check_kiwi_record(config.get("tokenizer"), where)
        analysis = recorded_analysis(config.get("tokenizer"))
        return cls(config["k1"], config["b"], config["avgdl"], analysis=analysis)

    # -- encoding -------------------------------------------------------------------------------

    def document_vectors(self, token_lists: Sequence[Sequence[str]]) -> list[SparseVector]:
        """BM25 passage weights of tokenised passages (needs ``avgdl``)."""
        if self.avgdl is None:
            raise RetrievalError("KiwiBM25Sparse has no avgdl yet: call fit_tokens() first")
        k1, b, avgdl = self.k1, self.b, self.avgdl
        out = []
        for tokens in token_lists:
            norm = k1 * (1.0 - b + b * len(tokens) / avgdl)
            counts = Counter(tokens)
            out.append(
                SparseVector(
                    indices=[term_id(t) for t in counts],
                    values=[tf / (tf + norm) for tf in counts.values()],
                )
            )
        return _merge_collisions(out)

    @staticmethod
    def query_vectors(token_lists: Sequence[Sequence[str]]) -> list[SparseVector]:
        """Query vectors of tokenised queries: each morpheme counted (as bm25s sums them)."""
        out = []
        for tokens in token_lists:
            counts = Counter(tokens)
            out.append(
                SparseVector(
                    indices=[term_id(t) for t in counts], values=[float(c) for c in counts.values()]
                )
            )
        return _merge_collisions(out)

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """Passages → BM25 sparse vectors (one batched Kiwi call)."""
        return self.document_vectors(self.tokenize(list(texts), self.show_progress))

    def embed_queries(self, texts: list[str]) -> list[SparseVector]:
        """Queries → sparse vectors (one batched Kiwi call)."""
        return self.query_vectors(self.tokenize(list(texts)))

    def embed_query(self, text: str) -> SparseVector:
        """One query → its sparse vector."""
        return self.query_vectors(self.tokenize([text]))[0]

    def tokenize(self, texts: list[str], show_progress: bool = False) -> list[list[str]]:
        """Kiwi content morphemes of ``texts`` in this encoder's :attr:`analysis`."""
        return kiwi_tokenize(texts, show_progress, analysis=self.analysis)


class SparseBM25Retriever(ScoredRetrieverMixin, BaseRetriever):
    """The BM25 first stage that a vector store runs over :class:`KiwiBM25Sparse` vectors,
    ranked as :class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever` ranks: ties, and the passages
    without a query morpheme that fill the ``k`` places, in corpus order (a store returns only
    matching passages, ties in its own order). The same candidates make the same pipeline."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any = Field(repr=False)
    """The store searching its BM25 vectors with ``batch_search_with_score(queries, k)``
    (:class:`~lc_klue.retrieval.qdrant_store.KlueQdrant` in ``bm25`` mode)."""
    docs: list[Document] = Field(repr=False)
    """Every passage of the store, in corpus order."""
    k: int = 4
    """Number of passages returned per query."""
    _position: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index the corpus order of the passages."""
        if not self.docs:
            raise DataError("cannot search BM25 over an empty corpus")
        self._position = {context_id(d): i for i, d in enumerate(self.docs)}

    def search_with_scores(
        self, queries: Sequence[str], k: int | None = None
    ) -> list[list[tuple[Document, float]]]:
        """``(Document, BM25 score)`` for many queries (one request to the store)."""
        queries, k = check_search(queries, self.k if k is None else k, len(self.docs))
        out = []
        for hits in self.store.batch_search_with_score(queries, k):
            scores = np.zeros(len(self.docs), dtype=np.float32)
            for doc, score in hits:
                if context_id(doc) not in self._position:
                    raise RetrievalError(
                        f"passage {context_id(doc)!r} of the store is not in this corpus; "
                        "rebuild the index"
                    )
                scores[self._position[context_id(doc)]] = score
            top = top_k_indices(scores, k)
            out.append([(self.docs[i].model_copy(deep=True), float(scores[i])) for i in top])
        return out


def _merge_collisions(vectors: list[SparseVector]) -> list[SparseVector]:
    """Sum the values of two morphemes that hash to one index (indices must be unique)."""
    for i, v in enumerate(vectors):
        if len(set(v.indices)) != len(v.indices):
            merged: dict[int, float] = {}
            for idx, val in zip(v.indices, v.values, strict=True):
                merged[idx] = merged.get(idx, 0.0) + val
            vectors[i] = SparseVector(indices=list(merged), values=list(merged.values()))
    return vectors
