"""Weighted score fusion over first-stage candidates: lexical, dense and cross-encoder signals.

A :class:`FusionRetriever` takes the candidates of a first stage (BM25, dense or hybrid),
computes features for every (query, candidate) pair with its scorers
(:class:`~lc_klue.retrieval.lexical_features.LexicalFeatures`, :class:`DenseFeatures`,
:class:`CrossEncoderFeatures`), min-max normalises each feature over the candidates of a query
and ranks by the weighted sum. The feature ``first_stage`` (1 / first-stage rank) is always
present, so ``weights={"first_stage": 1}`` reproduces the first stage exactly.

:meth:`FusionRetriever.fit` tunes the weights (:func:`lc_klue.ranking.tune_weights`) on MRR@10
of questions that are NOT evaluated (e.g. the training titles): it starts from the first
stage's ranking and accepts only changes that improve the objective, so on the tuning
questions the fused ranking never scores below the first stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field
from tqdm.auto import tqdm

from lc_klue.data import context_id
from lc_klue.errors import DataError, RetrievalError
from lc_klue.models.embeddings import embed_passages, embed_queries
from lc_klue.models.reranker import score_pairs_batched
from lc_klue.ranking import DEFAULT_GRID, minmax, tune_weights
from lc_klue.retrieval.base import BatchedRetrieverMixin

logger = logging.getLogger(__name__)

FIRST_STAGE = "first_stage"
#: Smallest MRR@10 gain on the tuning questions for a fusion weight change to be kept.
MIN_GAIN = 0.001


class CandidateScorer(Protocol):
    """Anything giving named features for the candidates of many queries."""

    names: tuple[str, ...]

    def features(
        self, queries: Sequence[str], candidates: Sequence[Sequence[Document]]
    ) -> list[np.ndarray]:
        """One ``(len(candidates[i]), len(names))`` matrix per query."""
        ...


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class DenseFeatures:
    """Cosine similarity of the query and passage embeddings (``dense``).

    Passage vectors are computed once for ``documents`` (or given as ``vectors``, one row per
    document); the queries of a batch are embedded in one call.
    """

    names: tuple[str, ...] = ("dense",)

    def __init__(
        self,
        embeddings: Embeddings,
        documents: Sequence[Document],
        vectors: np.ndarray | None = None,
    ) -> None:
        docs = list(documents)
        if not docs:
            raise DataError("dense features need a non-empty corpus")
        if vectors is None:
            vectors = embed_passages(embeddings, [d.page_content for d in docs])
        if len(vectors) != len(docs):
            raise DataError(f"{len(vectors)} vectors for {len(docs)} documents")
        self.embeddings = embeddings
        self._vectors = _unit(np.asarray(vectors, dtype=np.float32))
        self._position = {context_id(d): i for i, d in enumerate(docs)}

    def features(
        self, queries: Sequence[str], candidates: Sequence[Sequence[Document]]
    ) -> list[np.ndarray]:
        q = _unit(embed_queries(self.embeddings, list(queries)))
        out = []
        for qv, docs in zip(q, candidates, strict=True):
            try:
                pos = [self._position[context_id(d)] for d in docs]
            except KeyError as e:
                raise RetrievalError(
                    f"candidate passage {e.args[0]!r} has no dense vector; build the dense "
                    "features over the first stage's corpus"
                ) from None
            out.append((self._vectors[pos] @ qv).reshape(-1, 1))
        return out


class CrossEncoderFeatures:
    """Cross-encoder scores (``cross_encoder``), all pairs of a batch scored together."""

    names: tuple[str, ...] = ("cross_encoder",)

    def __init__(self, model: Any, batch_size: int = 64, show_progress: bool = False) -> None:
        self.model = model
        self.batch_size = batch_size
        self.show_progress = show_progress

    def features(
        self, queries: Sequence[str], candidates: Sequence[Sequence[Document]]
    ) -> list[np.ndarray]:
        scores = score_pairs_batched(
            self.model,
            list(queries),
            [[d.page_content for d in docs] for docs in candidates],
            batch_size=self.batch_size,
            show_progress=self.show_progress,
        )
        return [s.reshape(-1, 1) for s in scores]


class FusionRetriever(BatchedRetrieverMixin, BaseRetriever):
    """Rerank a first stage's candidates by a weighted sum of normalised features.

    ``batch`` runs the first stage's ``batch`` once and each scorer once for all pairs.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    first_stage: BaseRetriever
    """Gives the candidates (e.g. BM25 or hybrid with ``k=30``)."""
    scorers: list[Any] = Field(default_factory=list)
    """Feature providers (:class:`CandidateScorer`)."""
    weights: dict[str, float] = Field(default_factory=lambda: {FIRST_STAGE: 1.0})
    """Weight per feature name; missing names weigh 0."""
    k: int = Field(default=10, gt=0)
    """Passages returned per query."""
    first_stage_score: str | None = None
    """Metadata key holding the first stage's score (e.g. ``fusion_score`` of a nested
    FusionRetriever) used as the ``first_stage`` feature; None: 1 / first-stage rank."""
    show_progress: bool = False

    def __init__(self, **data: Any) -> None:
        """Validate the fields, then check that the weights name known features."""
        super().__init__(**data)
        names = self.feature_names
        if len(set(names)) != len(names):
            raise RetrievalError(f"duplicate feature names among the scorers: {names}")
        unknown = sorted(set(self.weights) - set(names))
        if unknown:
            raise RetrievalError(
                f"weights for unknown feature(s) {', '.join(unknown)}; known: {', '.join(names)}"
            )

    @property
    def feature_names(self) -> tuple[str, ...]:
        """``first_stage`` followed by every scorer's feature names."""
        return (FIRST_STAGE, *(n for s in self.scorers for n in s.names))

    def candidate_features(
        self, queries: list[str]
    ) -> tuple[list[list[Document]], list[np.ndarray]]:
        """First-stage candidates and their normalised feature matrices, for many queries."""
        candidates = self.first_stage.batch(queries)
        per_scorer = [s.features(queries, candidates) for s in self.scorers]
        out = []
        for i, docs in enumerate(candidates):
            if self.first_stage_score is None:
                first = (1.0 / np.arange(1, len(docs) + 1)).reshape(-1, 1)
            else:
                first = np.array(
                    [float(d.metadata.get(self.first_stage_score, 0.0)) for d in docs]
                ).reshape(-1, 1)
            raw = np.hstack([first, *(f[i] for f in per_scorer)]).astype(np.float64)
            out.append(minmax(raw) if len(docs) else raw)
        return candidates, out

    def _rank(self, docs: list[Document], features: np.ndarray) -> list[Document]:
        w = np.array([self.weights.get(n, 0.0) for n in self.feature_names])
        score = features @ w
        order = np.lexsort((np.arange(len(docs)), -score))[: self.k]
        return [
            Document(
                page_content=docs[i].page_content,
                metadata={**docs[i].metadata, "fusion_score": float(score[i])},
                id=docs[i].id,
            )
            for i in order
        ]

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        candidates, features = self.candidate_features(queries)
        return [self._rank(d, f) for d, f in zip(candidates, features, strict=True)]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self._search_many([query])[0]

    def tuning_features(
        self, questions: Sequence[str], gold_ids: Sequence[str], batch_size: int = 256
    ) -> tuple[list[np.ndarray], list[int]]:
        """Normalised features of ``questions``' candidates and the row of each gold passage
        (-1 when the first stage missed it), for :func:`tune_weights`."""
        questions = list(questions)
        if not questions or len(questions) != len(gold_ids):
            raise DataError(
                f"tuning needs questions with one gold id each ({len(questions)} questions, "
                f"{len(gold_ids)} gold ids)"
            )
        features: list[np.ndarray] = []
        gold_index: list[int] = []
        chunks = range(0, len(questions), batch_size)
        for lo in tqdm(chunks, desc="fusion features", disable=not self.show_progress):
            cands, feats = self.candidate_features(questions[lo : lo + batch_size])
            features.extend(feats)
            for docs, gold in zip(cands, gold_ids[lo : lo + batch_size], strict=True):
                keys = [context_id(d) for d in docs]
                gold_index.append(keys.index(gold) if gold in keys else -1)
        return features, gold_index

    def fit(
        self,
        questions: Sequence[str],
        gold_ids: Sequence[str],
        *,
        grid: Sequence[float] = DEFAULT_GRID,
        rounds: int = 3,
        batch_size: int = 256,
        **tuning: Any,
    ) -> dict[str, Any]:
        """Tune :attr:`weights` on held-out ``questions`` whose gold passage ids are known.

        Never tune on the questions you evaluate on. Returns the weights and the tuning
        questions' MRR@10 before (first stage) and after fusion.
        """
        features, gold_index = self.tuning_features(questions, gold_ids, batch_size)
        return self.fit_features(features, gold_index, grid=grid, rounds=rounds, **tuning)

    def fit_features(
        self,
        features: Sequence[np.ndarray],
        gold_index: Sequence[int],
        *,
        grid: Sequence[float] = DEFAULT_GRID,
        rounds: int = 3,
        start: dict[str, float] | None = None,
        tune: Sequence[str] | None = None,
        min_gain: float = 0.0,
    ) -> dict[str, Any]:
        """:meth:`fit` from :meth:`tuning_features` output; matrices with more columns (from a
        retriever with more scorers, same first stage and scorer order) use the first ones.
        ``start``/``tune``/``min_gain``: see :func:`tune_weights` (e.g. keep a previous stage's
        weights and tune only a new feature)."""
        names = self.feature_names
        features = [np.asarray(f)[:, : len(names)] for f in features]
        _, before = tune_weights(features, gold_index, names, grid=(), rounds=0)
        _, start_score = tune_weights(features, gold_index, names, start=start, rounds=0)
        weights, after = tune_weights(
            features,
            gold_index,
            names,
            start=start,
            grid=grid,
            rounds=rounds,
            tune=tune,
            min_gain=min_gain,
        )
        self.weights = weights
        logger.info("fusion weights %s: MRR@10 %.4f -> %.4f", weights, before, after)
        return {
            "weights": weights,
            "tuning_questions": len(features),
            "gold_in_candidates": float(np.mean(np.asarray(gold_index) >= 0)),
            "mrr@10_first_stage": before,
            "mrr@10_start": start_score,
            "mrr@10_fused": after,
        }
