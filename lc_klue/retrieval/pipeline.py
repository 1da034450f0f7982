"""The one way retrieval pipelines are built: a JSON-ready description → a LangChain retriever.

A :class:`PipelineSpec` says what to run: a first stage (BM25 over Kiwi morphemes, a dense
bi-encoder, or both fused by reciprocal rank) proposing ``k`` candidates, then any number of
stages that reorder them — weighted feature **fusion** (lexical features, dense cosine,
cross-encoder score; :class:`~lc_klue.retrieval.fusion.FusionRetriever`) or cross-encoder
**reranking** (:class:`~lc_klue.retrieval.compressor.CrossEncoderReranker` in a
``ContextualCompressionRetriever``) — and ``top_n`` passages returned.

:class:`~lc_klue.retrieval.parts.PipelineParts` holds the corpus and builds every index,
model and feature scorer at most once, so many pipelines over one corpus (the benchmark's, an
index's) share them. :func:`build_pipeline` turns a spec into a retriever from those parts.
The CLI, the benchmark and the demo all build through it; :func:`build_first_stage` and
:func:`build_retriever` are its two composition steps, public for hand-built pipelines.
Defaults follow the book: the first stage proposes 30 candidates, 10 are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lc_klue.errors import RetrievalError, validation_message
from lc_klue.ranking import RRF_K
from lc_klue.retrieval.base import BatchedRetrieverMixin
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.compressor import CrossEncoderReranker
from lc_klue.retrieval.hybrid import HybridRetriever
from lc_klue.retrieval.parts import PipelineParts

logger = logging.getLogger(__name__)

FirstStageKind = Literal["dense", "bm25", "hybrid"]
FIRST_STAGE_KINDS: tuple[str, ...] = ("dense", "bm25", "hybrid")


class RerankingRetriever(BatchedRetrieverMixin, ContextualCompressionRetriever):
    """A ``ContextualCompressionRetriever`` whose ``batch`` reranks all queries together.

    ``batch`` runs the first stage's ``batch`` once, then the compressor's
    ``compress_documents_batch`` (when it has one) on every query's candidates.
    """

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        candidates = self.base_retriever.batch(queries)
        batched = getattr(self.base_compressor, "compress_documents_batch", None)
        if batched is not None:
            return list(batched(candidates, queries))
        return [
            list(self.base_compressor.compress_documents(docs, q)) if docs else []
            for docs, q in zip(candidates, queries, strict=True)
        ]


def with_k(retriever: BaseRetriever, k: int) -> BaseRetriever:
    """A copy of ``retriever`` returning ``k`` documents (vector-store, BM25, hybrid, fusion)."""
    if isinstance(retriever, VectorStoreRetriever):
        return retriever.model_copy(update={"search_kwargs": {**retriever.search_kwargs, "k": k}})
    if isinstance(retriever, HybridRetriever):
        subs = [with_k(r, k) for r in retriever.retrievers]
        return retriever.model_copy(update={"k": k, "retrievers": subs})
    if "k" in type(retriever).model_fields:
        return retriever.model_copy(update={"k": k})
    logger.warning(
        "cannot set k on %s; it returns its own number of documents", type(retriever).__name__
    )
    return retriever


def _dense_retriever(dense: VectorStore | BaseRetriever, k: int) -> BaseRetriever:
    if isinstance(dense, VectorStore):
        return dense.as_retriever(search_kwargs={"k": k})
    return with_k(dense, k)


def build_first_stage(
    kind: FirstStageKind | str = "dense",
    *,
    dense: VectorStore | BaseRetriever | None = None,
    bm25: KiwiBM25Retriever | BaseRetriever | None = None,
    k: int = 30,
    weights: Sequence[float] | None = None,
    rrf_k: int = RRF_K,
) -> BaseRetriever:
    """The first stage returning ``k`` candidates.

    ``dense`` is a :class:`~lc_klue.retrieval.faiss_store.KlueFAISS` or *any* LangChain
    ``VectorStore`` (a distributed store plugs in unchanged) or retriever; ``bm25`` a
    :class:`KiwiBM25Retriever` (or any BM25 retriever, e.g. Qdrant's sparse search); ``hybrid``
    fuses both by reciprocal rank (``weights`` = dense, BM25).
    """
    if kind == "dense":
        if dense is None:
            raise RetrievalError("first stage 'dense' needs a vector store (dense=...)")
        return _dense_retriever(dense, k)
    if kind == "bm25":
        if bm25 is None:
            raise RetrievalError("first stage 'bm25' needs a BM25 index (bm25=...)")
        return with_k(bm25, k)
    if kind == "hybrid":
        if dense is None or bm25 is None:
            raise RetrievalError("first stage 'hybrid' needs both dense=... and bm25=...")
        return HybridRetriever(
            retrievers=[_dense_retriever(dense, k), with_k(bm25, k)],
            weights=list(weights) if weights is not None else None,
            rrf_k=rrf_k,
            k=k,
        )
    raise RetrievalError(f"unknown first stage {kind!r}; choose dense, bm25 or hybrid")


def build_retriever(
    first_stage: BaseRetriever | VectorStore,
    reranker: CrossEncoderReranker | Any | None = None,
    k: int = 30,
    top_n: int = 10,
    **reranker_kwargs: Any,
) -> BaseRetriever:
    """First stage with ``k`` candidates → reranker keeping ``top_n``.

    ``reranker`` is a :class:`CrossEncoderReranker`, a ``CrossEncoder`` or a model path/hub id
    (``reranker_kwargs`` go to :class:`CrossEncoderReranker`). Without a reranker the first
    stage itself is returned, set to return ``top_n`` documents.
    """
    if top_n > k:
        raise RetrievalError(f"top_n={top_n} is larger than the number of candidates k={k}")
    if isinstance(first_stage, VectorStore):
        first_stage = first_stage.as_retriever()
    if reranker is None:
        return with_k(first_stage, top_n)
    if not isinstance(reranker, CrossEncoderReranker):
        reranker = CrossEncoderReranker(model=reranker, top_n=top_n, **reranker_kwargs)
    elif reranker.top_n != top_n:
        reranker = reranker.model_copy(update={"top_n": top_n})
    return RerankingRetriever(base_compressor=reranker, base_retriever=with_k(first_stage, k))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class FirstStageSpec(_Spec):
    """Where the candidates come from."""

    kind: Literal["bm25", "dense", "hybrid"] = "bm25"
    """``bm25`` (Kiwi morphemes), ``dense`` (a bi-encoder in a vector store) or ``hybrid``
    (reciprocal-rank fusion of both)."""
    embedding_model: str | None = None
    """The bi-encoder of ``dense`` and ``hybrid``: a model directory or hub id."""
    k1: float = Field(default=1.5, gt=0)
    """BM25 term-frequency saturation."""
    b: float = Field(default=0.75, ge=0, le=1)
    """BM25 length normalisation."""
    weights: list[float] | None = None
    """``hybrid``: RRF weights of the dense and BM25 rankings (None: equal)."""
    rrf_k: int = Field(default=RRF_K, ge=0)
    """``hybrid``: the RRF constant."""
    fusion: Literal["package", "store"] = "package"
    """``hybrid``: fuse the two rankings here (``package``) or inside a vector store that can
    (``store``: Qdrant's fusion query over its dense and BM25 vectors)."""

    @model_validator(mode="after")
    def _needs_a_model(self) -> FirstStageSpec:
        if self.kind != "bm25" and not self.embedding_model:
            raise ValueError(f"first stage {self.kind!r} needs an embedding model")
        return self


class FusionStage(_Spec):
    """Reorder the candidates by a weighted sum of min-max normalised features."""

    kind: Literal["fusion"] = "fusion"
    lexical: bool = True
    """Lexical features (:class:`~lc_klue.retrieval.lexical_features.LexicalFeatures`)."""
    windows: list[int] = Field(default_factory=lambda: [12, 25])
    """Window sizes of the lexical coverage features (morphemes)."""
    embedding_model: str | None = None
    """Add the cosine of this bi-encoder (feature ``dense``)."""
    cross_encoder: str | None = None
    """Add the score of this cross-encoder (feature ``cross_encoder``)."""
    weights: dict[str, float] = Field(default_factory=lambda: {"first_stage": 1.0})
    """Weight per feature name (``first_stage`` is 1 / the previous stage's rank, or the
    previous fusion's score); missing names weigh 0."""
    keep: int | None = Field(default=None, gt=0)
    """Passages passed on (None: all of them; the last stage returns ``top_n``)."""


class RerankStage(_Spec):
    """Reorder the candidates by cross-encoder score."""

    kind: Literal["rerank"] = "rerank"
    cross_encoder: str
    """The cross-encoder: a model directory or hub id."""
    fusion: Literal["none", "rrf"] = "none"
    """``rrf``: fuse the cross-encoder's rank with the previous stage's."""
    fusion_weight: float = Field(default=0.5, ge=0, le=1)
    """Weight of the cross-encoder rank in ``rrf`` fusion."""
    keep: int | None = Field(default=None, gt=0)
    """Passages passed on (None: all of them; the last stage returns ``top_n``)."""
    window: int | None = Field(default=None, gt=0)
    """Passage tokens the cross-encoder reads: the best window by lexical coverage of the
    question (None: the passage from its start, up to the model's length)."""
    cascade_margin: float | None = None
    """Keep the previous stage's order when its top-1 score leads top-2 by at least this
    (fitted on training questions); None: always rerank."""


Stage = Annotated[FusionStage | RerankStage, Field(discriminator="kind")]


class PipelineSpec(_Spec):
    """A whole retrieval pipeline: first stage → reordering stages → ``top_n`` passages."""

    first_stage: FirstStageSpec = Field(default_factory=FirstStageSpec)
    """Where the candidates come from."""
    stages: list[Stage] = Field(default_factory=list)
    """Reordering stages, applied in order."""
    k: int = Field(default=30, gt=0)
    """Candidates the first stage proposes when stages follow."""
    top_n: int = Field(default=10, gt=0)
    """Passages returned."""

    @model_validator(mode="after")
    def _sizes(self) -> PipelineSpec:
        if self.stages and self.top_n > self.k:
            raise ValueError(
                f"top_n={self.top_n} is larger than the number of candidates k={self.k}"
            )
        return self

    @classmethod
    def checked(cls, **data: Any) -> PipelineSpec:
        """Build a spec from plain values; a bad value is one :class:`RetrievalError` line."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise RetrievalError(f"pipeline {validation_message(e)}") from None

    def sized(self, k: int | None = None, top_n: int | None = None) -> PipelineSpec:
        """The spec with other candidate and result counts (``k`` never below ``top_n``)."""
        top = top_n or self.top_n
        cand = max(k or self.k, top) if self.stages else top
        return self.model_copy(update={"k": cand, "top_n": top})

    def embedding_models(self) -> list[str]:
        """Every bi-encoder the pipeline uses."""
        names = [self.first_stage.embedding_model]
        names += [s.embedding_model for s in self.stages if isinstance(s, FusionStage)]
        return list(dict.fromkeys(n for n in names if n))

    def cross_encoders(self) -> list[str]:
        """Every cross-encoder the pipeline uses."""
        names = [s.cross_encoder for s in self.stages]
        return list(dict.fromkeys(n for n in names if n))


def build_pipeline(spec: PipelineSpec, parts: PipelineParts) -> BaseRetriever:
    """The retriever ``spec`` describes, built from ``parts``."""
    from lc_klue.retrieval.fusion import FusionRetriever

    fs = spec.first_stage
    k = spec.k if spec.stages else spec.top_n
    dense = parts.store(fs.embedding_model) if fs.kind != "bm25" and fs.embedding_model else None
    current: BaseRetriever
    if fs.kind == "hybrid" and fs.fusion == "store":
        fuse = getattr(dense, "hybrid_retriever", None)
        if fuse is None:
            raise RetrievalError(
                f"{type(dense).__name__} cannot fuse dense and BM25 rankings itself; "
                "use fusion='package'"
            )
        current = fuse(k=k, weights=fs.weights, rrf_k=fs.rrf_k)
    else:
        bm25 = parts.bm25(fs.k1, fs.b) if fs.kind != "dense" else None
        current = build_first_stage(
            fs.kind, dense=dense, bm25=bm25, k=k, weights=fs.weights, rrf_k=fs.rrf_k
        )
    previous: FusionStage | RerankStage | None = None
    for i, stage in enumerate(spec.stages):
        keep = spec.top_n if i == len(spec.stages) - 1 else (stage.keep or k)
        if isinstance(stage, FusionStage):
            scorers = [parts.lexical(stage.windows)] if stage.lexical else []
            if stage.embedding_model:
                scorers.append(parts.dense_features(stage.embedding_model))
            if stage.cross_encoder:
                scorers.append(parts.cross_encoder_features(stage.cross_encoder))
            current = FusionRetriever(
                first_stage=current,
                scorers=scorers,
                weights=stage.weights,
                k=keep,
                first_stage_score="fusion_score" if isinstance(previous, FusionStage) else None,
                show_progress=parts.show_progress,
            )
        else:
            reranker = CrossEncoderReranker(
                model=parts.cross_encoder(stage.cross_encoder),
                top_n=keep,
                batch_size=parts.batch_size,
                fusion=stage.fusion,
                fusion_weight=stage.fusion_weight,
                window=stage.window,
                cascade_margin=stage.cascade_margin,
            )
            current = RerankingRetriever(base_compressor=reranker, base_retriever=current)
        previous = stage
    return current
