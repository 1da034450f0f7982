"""A quick sanity check of a model before it joins a pipeline: does it rank better than chance?

A reranker or bi-encoder trained on too little data can score every passage alike (0.4992 for
all) and rank by noise. Before such a model enters a pipeline, :func:`check_model` asks it an
inverse-cloze task on the pipeline's own corpus: a sentence of a passage is the question, and
the model must pick that passage (with the sentence taken out, so copying words is not enough)
among the passages BM25 finds most alike. ``hit@1`` against chance (1 / candidates) decides:
a model no better than chance by two standard errors, or whose scores do not vary, is *near
chance* and the pipeline falls back to the stages that work. Word overlap on the same task is
reported beside it, and the model's own training evaluation (``metrics.json``) when it has one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from datasets import Dataset
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from lc_klue.data import context_id
from lc_klue.data.ict import inverse_cloze_pairs
from lc_klue.errors import DataError
from lc_klue.ranking import gold_ranks
from lc_klue.runtime import METRICS_FILE
from lc_klue.text import lexical_overlap

ModelKind = Literal["cross-encoder", "embedding model"]

#: Inverse-cloze questions asked and passages each is ranked among.
CHECK_QUERIES = 32
CHECK_CANDIDATES = 10

#: Scores whose standard deviation is below this do not rank: their order is float noise
#: (an untrained cross-encoder scores every pair 0.5 ± 1e-5).
SPREAD_FLOOR = 1e-4


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of :func:`check_model` (JSON-ready through :meth:`to_dict`)."""

    model: str
    kind: str
    queries: int
    candidates: float
    """Mean passages each question was ranked among."""
    hit_at_1: float
    chance: float
    overlap_hit_at_1: float
    """Word overlap (content morphemes) on the same task, for scale."""
    score_spread: float
    """Standard deviation of the model's scores over every pair."""
    near_chance: bool
    trained: dict[str, Any] | None = None
    """The model's own evaluation after training (``metrics.json``), when it has one."""

    @property
    def threshold(self) -> float:
        """``hit@1`` a model must pass: chance plus two standard errors."""
        return self.chance + 2 * math.sqrt(self.chance * (1 - self.chance) / max(self.queries, 1))

    def line(self) -> str:
        """One readable line: the verdict and its figures."""
        verdict = (
            "near chance: left out, the pipeline keeps the stages that work"
            if self.near_chance
            else "better than chance: used"
        )
        trained = ""
        if self.trained:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in self.trained.items())
            trained = f"; its training evaluation: {shown}"
        return (
            f"{self.kind} {self.model}: hit@1 {self.hit_at_1:.3f} on {self.queries} "
            f"inverse-cloze questions among ~{self.candidates:.0f} passages of this corpus "
            f"(chance {self.chance:.3f}, word overlap {self.overlap_hit_at_1:.3f}, score spread "
            f"{self.score_spread:.2g}){trained} — {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields, the threshold and the line."""
        return asdict(self) | {"threshold": self.threshold, "line": self.line()}


def trained_metrics(name: str | Path) -> dict[str, float] | None:
    """``hit@1`` and the pair Spearman a model directory's ``metrics.json`` records after
    training (and its first stage's ``hit@1``, the bar a reranker had to beat); None without."""
    path = Path(str(name)).expanduser() / METRICS_FILE
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    out: dict[str, float] = {}
    after, first = metrics.get("after") or {}, metrics.get("first_stage") or {}
    for key in ("hit@1", "pair_spearman", "spearman", "hit@10"):
        if isinstance(after.get(key), int | float):
            out[key] = float(after[key])
    if isinstance(first.get("hit@1"), int | float):
        out["first stage hit@1"] = float(first["hit@1"])
    return out or None


def _questions(
    documents: Sequence[Document], n_queries: int, seed: int
) -> tuple[list[str], list[str], list[str]]:
    """Inverse-cloze questions, their passages without the question sentence, and the ids of
    those passages: from up to ``2 * n_queries`` passages drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    picks = rng.permutation(len(documents))[: 2 * n_queries]
    chosen = [documents[int(i)] for i in picks]
    try:
        pairs = inverse_cloze_pairs(
            Dataset.from_dict(
                {
                    "title": [context_id(d) for d in chosen],
                    "context": [d.page_content for d in chosen],
                }
            ),
            keep=0.0,
            seed=seed,
        )
    except DataError:
        return [], [], []
    pairs = pairs.select(range(min(n_queries, len(pairs))))
    return list(pairs["question"]), list(pairs["positive"]), list(pairs["title"])


def check_model(
    model: Any,
    kind: ModelKind,
    name: str,
    documents: Sequence[Document],
    bm25: BaseRetriever,
    *,
    n_queries: int = CHECK_QUERIES,
    n_candidates: int = CHECK_CANDIDATES,
    seed: int = 42,
    batch_size: int = 64,
) -> ModelCheck | None:
    """Ask ``model`` (a sentence-transformers ``CrossEncoder``, or LangChain ``Embeddings``)
    :data:`CHECK_QUERIES` inverse-cloze questions on ``documents``; ``bm25`` (a retriever over
    them) proposes the distractors. None when the corpus is too small to ask (fewer than two
    passages, or none with two sentences)."""
    from lc_klue.retrieval.pipeline import with_k

    docs = list(documents)
    if len(docs) < 2:
        return None
    questions, positives, owners = _questions(docs, n_queries, seed)
    if not questions:
        return None
    found = with_k(bm25, n_candidates).batch(questions)
    rng = np.random.default_rng(seed)
    candidates: list[list[str]] = []
    gold_index: list[int] = []
    for positive, owner, hits in zip(positives, owners, found, strict=True):
        others = [d.page_content for d in hits if context_id(d) != owner][: n_candidates - 1]
        texts = [positive, *others]
        order = rng.permutation(len(texts))
        candidates.append([texts[int(i)] for i in order])
        gold_index.append(int(np.flatnonzero(order == 0)[0]))
    scores = _scores(model, kind, questions, candidates, batch_size)
    overlap = [
        np.asarray(lexical_overlap(q, c)) for q, c in zip(questions, candidates, strict=True)
    ]
    hit = float(np.mean(gold_ranks(scores, gold_index) == 1))
    chance = float(np.mean([1.0 / len(c) for c in candidates]))
    spread = float(np.std(np.concatenate(scores)))
    result = ModelCheck(
        model=name,
        kind=kind,
        queries=len(questions),
        candidates=float(np.mean([len(c) for c in candidates])),
        hit_at_1=hit,
        chance=chance,
        overlap_hit_at_1=float(np.mean(gold_ranks(overlap, gold_index) == 1)),
        score_spread=spread,
        near_chance=False,
        trained=trained_metrics(name),
    )
    near = spread < SPREAD_FLOOR or hit <= result.threshold
    return ModelCheck(**{**asdict(result), "near_chance": near})


def _scores(
    model: Any,
    kind: ModelKind,
    questions: list[str],
    candidates: list[list[str]],
    batch_size: int,
) -> list[np.ndarray]:
    if kind == "cross-encoder":
        from lc_klue.models.reranker import score_pairs_batched

        return score_pairs_batched(model, questions, candidates, batch_size=batch_size)
    from lc_klue.models.embeddings import embed_passages, embed_queries

    q = embed_queries(model, questions)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    p = embed_passages(model, [t for texts in candidates for t in texts])
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    bounds = np.cumsum([0, *(len(c) for c in candidates)])
    return [p[bounds[i] : bounds[i + 1]] @ qv for i, qv in enumerate(q)]
