"""A quick sanity check of a model before it joins a pipeline: does it rank better than chance?

A reranker or bi-encoder trained on too little data can score every passage alike (0.4992 for
all) and rank by noise. Before such a model enters a pipeline, :func:`check_model` asks it an
inverse-cloze task on the pipeline's own corpus: a sentence of a passage is the question, and
the model must pick that passage (with the sentence taken out, so copying words is not enough)
among the passages BM25 finds most alike (each missing a random sentence too, so passage length
does not give it away). ``hit@1`` against chance (1 / candidates) decides:
a model no better than chance by two standard errors, or whose scores barely vary, is *near
chance* and the pipeline falls back to the stages that work. Word overlap on the same task is
reported beside it, and the model's own training evaluation (``metrics.json``) when it has one.

Scores that barely vary do not rank, whatever ``hit@1`` they reach: their order comes from
float noise or from traits of the texts such as length, not from relevance (a cross-encoder
built from unrelated sources scored 0.5 ± 0.00035 and reached ``hit@1`` 0.375 here, then
dragged a pipeline's hit@1 from 0.924 to 0.230). So the check asks two things of the scores:

- they vary: their standard deviation is at least :data:`SPREAD_FLOOR` and at least
  :data:`RELATIVE_SPREAD_FLOOR` of their mean absolute value (their scale; a sigmoid score of
  0.5 ± 0.00035 varies by 0.07 %, e5-small's cosines by about 3.5 %, logits by more than 50 %);
- ties earn nothing: a gold passage tied for the top with ``m - 1`` others counts ``1 / m``,
  what a random tie-break gives, so the order the candidates happen to come in never counts
  as a hit (:func:`~lc_klue.ranking.tied_hit_at_1`).
"""

from __future__ import annotations

import json
import logging
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
from lc_klue.ranking import tied_hit_at_1
from lc_klue.runtime import METRICS_FILE
from lc_klue.text import lexical_overlap, sentence_spans

logger = logging.getLogger(__name__)

ModelKind = Literal["cross-encoder", "embedding model"]

#: Inverse-cloze questions asked and passages each is ranked among.
CHECK_QUERIES = 32
CHECK_CANDIDATES = 10

#: Scores whose standard deviation is below this do not rank: their order is float noise
#: (an untrained cross-encoder scores every pair 0.5 ± 1e-5).
SPREAD_FLOOR = 1e-4
#: Nor do scores whose standard deviation is below this share of their mean absolute value:
#: the geometric middle between a near-constant cross-encoder (0.0007) and e5-small's cosines
#: (0.035), with a factor of seven to either side.
RELATIVE_SPREAD_FLOOR = 5e-3


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
    score_scale: float = 0.0
    """Mean absolute score over every pair: the size the spread is judged against."""

    @property
    def relative_spread(self) -> float:
        """The score spread as a share of :attr:`score_scale` (inf without a scale)."""
        if self.score_scale > 0:
            return self.score_spread / self.score_scale
        return 0.0 if self.score_spread == 0 else math.inf

    @property
    def flat(self) -> bool:
        """Whether the scores barely vary (:data:`SPREAD_FLOOR`, :data:`RELATIVE_SPREAD_FLOOR`)."""
        return self.score_spread < SPREAD_FLOOR or self.relative_spread < RELATIVE_SPREAD_FLOOR

    @property
    def threshold(self) -> float:
        """``hit@1`` a model must pass: chance plus two standard errors."""
        return self.chance + 2 * math.sqrt(self.chance * (1 - self.chance) / max(self.queries, 1))

    def line(self) -> str:
        """One readable line: the verdict and its figures."""
        why = " (its scores barely vary: their order is noise)" if self.flat else ""
        verdict = (
            f"near chance: left out{why}, the pipeline keeps the stages that work"
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
            f"{self.score_spread:.2g}, {self.relative_spread:.2%} of their size){trained} — "
            f"{verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields, the threshold, the relative spread and the line."""
        relative = self.relative_spread
        return asdict(self) | {
            "threshold": self.threshold,
            "relative_spread": relative if math.isfinite(relative) else None,
            "line": self.line(),
        }


def admits(check: ModelCheck | None) -> bool:
    """Whether a checked model may join a pipeline, its line logged: a warning when it is near
    chance (False), else information (True; also when the corpus was too small to check)."""
    if check is None:
        return True
    logger.log(logging.WARNING if check.near_chance else logging.INFO, "%s", check.line())
    return not check.near_chance


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
    seed: int = 42,
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
    found = with_k(bm25, CHECK_CANDIDATES).batch(questions)
    candidates, gold_index = _candidates(positives, owners, found, CHECK_CANDIDATES, seed)
    scores = _scores(model, kind, questions, candidates)
    overlap = [
        np.asarray(lexical_overlap(q, c)) for q, c in zip(questions, candidates, strict=True)
    ]
    hit = tied_hit_at_1(scores, gold_index)
    chance = float(np.mean([1.0 / len(c) for c in candidates]))
    every = np.concatenate(scores).astype(np.float64)
    result = ModelCheck(
        model=name,
        kind=kind,
        queries=len(questions),
        candidates=float(np.mean([len(c) for c in candidates])),
        hit_at_1=hit,
        chance=chance,
        overlap_hit_at_1=tied_hit_at_1(overlap, gold_index),
        score_spread=float(np.std(every)),
        near_chance=False,
        trained=trained_metrics(name),
        score_scale=float(np.mean(np.abs(every))),
    )
    near = result.flat or hit <= result.threshold
    return ModelCheck(**{**asdict(result), "near_chance": near})


def _candidates(
    positives: list[str],
    owners: list[str],
    found: list[list[Document]],
    n_candidates: int,
    seed: int,
) -> tuple[list[list[str]], list[int]]:
    """Each question's candidates in a random order, and where its passage is among them.

    The distractors lose a random sentence too, as the question's passage lost the question:
    else the passage missing a sentence is the shortest, and length alone finds it."""
    rng = np.random.default_rng(seed)
    candidates: list[list[str]] = []
    gold_index: list[int] = []
    for positive, owner, hits in zip(positives, owners, found, strict=True):
        others = [d.page_content for d in hits if context_id(d) != owner][: n_candidates - 1]
        texts = [positive, *_without_a_sentence(others, rng)]
        order = rng.permutation(len(texts))
        candidates.append([texts[int(i)] for i in order])
        gold_index.append(int(np.flatnonzero(order == 0)[0]))
    return candidates, gold_index


def _without_a_sentence(texts: list[str], rng: np.random.Generator) -> list[str]:
    """``texts`` with one sentence drawn by ``rng`` taken out of each that has two or more
    (spaces normalised, as the inverse-cloze passages' are)."""
    out = []
    for text, spans in zip(texts, sentence_spans(texts), strict=True):
        if len(spans) >= 2:
            _, start, end = spans[int(rng.integers(len(spans)))]
            text = text[:start] + text[end:]
        out.append(" ".join(text.split()))
    return out


def _scores(
    model: Any,
    kind: ModelKind,
    questions: list[str],
    candidates: list[list[str]],
) -> list[np.ndarray]:
    """Each question's scores of its candidates, by the cross-encoder or the bi-encoder's
    cosine."""
    if kind == "cross-encoder":
        from lc_klue.models.reranker import score_pairs_batched

        return score_pairs_batched(model, questions, candidates, batch_size=64)
    from lc_klue.models.embeddings import embed_passages, embed_queries

    q = embed_queries(model, questions)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    p = embed_passages(model, [t for texts in candidates for t in texts])
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    bounds = np.cumsum([0, *(len(c) for c in candidates)])
    return [p[bounds[i] : bounds[i + 1]] @ qv for i, qv in enumerate(q)]
