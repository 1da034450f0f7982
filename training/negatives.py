"""Negative mining: passages that look relevant to a question but are not its own.

Candidates come from BM25 over Kiwi morphemes (:func:`bm25_candidates`, the product's first
stage) or from a bi-encoder (:func:`dense_candidates`). BM25's mistakes are mostly *other
paragraphs of the same article*, so those are kept by default: a reranker must learn the
distinction the first stage gets wrong. :func:`negatives_for` picks each question's hardest
candidates that are not its passage; :func:`pair_examples` and :func:`listwise_examples` turn
them into the rows the cross-encoder losses take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasets import Dataset
from sentence_transformers import SentenceTransformer

from lc_klue.data import context_id
from lc_klue.retrieval.bm25 import TUNED_BM25
from training.data import positives
from training.evaluation import rank_passages

#: A question's candidates: (passage index, first-stage score), best first.
Candidates = list[tuple[int, float]]
#: Smallest target probability in listwise rows (its log is the label of a "no" passage).
MIN_TARGET = 1e-6
#: Candidates per question that BM25 / bi-encoder negatives are drawn from.
MINING_DEPTH = 30


def bm25_candidates(
    questions: Sequence[str], passages: Sequence[str], k: int = 30
) -> list[Candidates]:
    """Per question, the ``k`` best passages under Kiwi BM25 (the tuned ``k1``/``b`` of the
    product) with their scores."""
    from langchain_core.documents import Document

    from lc_klue.retrieval.bm25 import KiwiBM25Retriever

    docs = [Document(page_content=p, metadata={"row": i}) for i, p in enumerate(passages)]
    bm25 = KiwiBM25Retriever(docs=docs, **TUNED_BM25)
    hits = bm25.search_with_scores(list(questions), k)
    return [[(int(d.metadata["row"]), s) for d, s in row] for row in hits]


def bm25_negatives(
    ds: Dataset, passages: Sequence[str], ids: Sequence[str], n: int
) -> tuple[list[Candidates], list[Candidates]]:
    """Each question's BM25 top :data:`MINING_DEPTH` over ``passages`` and its ``n`` best
    that are not its own passage (other paragraphs of the same article kept)."""
    found = bm25_candidates(list(ds["question"]), passages, MINING_DEPTH)
    return found, negatives_for(found, gold_ids(ds), ids, n)


def dense_candidates(
    model: SentenceTransformer,
    questions: Sequence[str],
    passages: Sequence[str],
    k: int = 30,
    show_progress: bool = False,
) -> list[Candidates]:
    """Per question, the ``k`` passages of highest cosine under a bi-encoder, with ranks as
    scores (``1 / rank``)."""
    top = rank_passages(model, list(questions), list(passages), k=k, show_progress=show_progress)
    return [[(int(j), 1.0 / (r + 1)) for r, j in enumerate(row)] for row in top]


def negatives_for(
    candidates: Sequence[Candidates],
    gold: Sequence[str],
    passage_ids: Sequence[str],
    n: int,
    *,
    titles: Sequence[str] | None = None,
    question_titles: Sequence[str] | None = None,
) -> list[Candidates]:
    """The ``n`` best candidates of each question that are not its gold passage (by
    ``context_id``). With ``titles`` and ``question_titles``, passages of the question's own
    title are skipped too (the book's rule); without them they are kept."""
    out = []
    for i, (cands, g) in enumerate(zip(candidates, gold, strict=True)):
        own = question_titles[i] if question_titles is not None else None
        keep = [
            (j, s)
            for j, s in cands
            if passage_ids[j] != g and (titles is None or own is None or titles[j] != own)
        ]
        out.append(keep[:n])
    return out


def pair_examples(ds: Dataset, passages: Sequence[str], negatives: Sequence[Candidates]) -> Dataset:
    """``question, context, label`` rows: each question's passage (1) and its negatives (0)."""
    questions, contexts, labels = [], [], []
    for question, context, negs in zip(ds["question"], positives(ds), negatives, strict=True):
        questions += [question] * (1 + len(negs))
        contexts += [context, *(passages[j] for j, _ in negs)]
        labels += [1.0] + [0.0] * len(negs)
    return Dataset.from_dict({"question": questions, "context": contexts, "label": labels})


def listwise_examples(
    ds: Dataset,
    passages: Sequence[str],
    negatives: Sequence[Candidates],
    distill: float = 0.0,
    gold_scores: Sequence[float] | None = None,
) -> Dataset:
    """``query, docs, labels`` rows for a listwise loss: the gold passage first, then the
    negatives. The loss's target is ``softmax(labels)``; the labels are the log of
    ``(1 - distill) · one-hot(gold) + distill · softmax(z)``, where ``z`` are the first-stage
    scores (``gold_scores`` for the gold passage, the best negative's when None) standardised
    over the list: ``distill = 0`` teaches the gold passage only, more also the first stage's
    order (distillation)."""
    if not 0.0 <= distill < 1.0:
        raise ValueError(f"distill must be in [0, 1), got {distill}")
    queries, docs, labels = [], [], []
    rows = zip(ds["question"], positives(ds), negatives, strict=True)
    for i, (question, context, negs) in enumerate(rows):
        scores = np.array([s for _, s in negs], dtype=np.float64)
        gold = gold_scores[i] if gold_scores is not None else (scores.max() if len(negs) else 0.0)
        z = np.concatenate([[gold], scores])
        z = (z - z.mean()) / z.std() if z.std() > 0 else np.zeros_like(z)
        target = distill * np.exp(z) / np.exp(z).sum()
        target[0] += 1.0 - distill
        queries.append(question)
        docs.append([context, *(passages[j] for j, _ in negs)])
        labels.append(np.log(np.maximum(target, MIN_TARGET)).tolist())
    return Dataset.from_dict({"query": queries, "docs": docs, "labels": labels})


def gold_scores(
    candidates: Sequence[Candidates], gold: Sequence[str], ids: Sequence[str]
) -> list[float]:
    """Each question's first-stage score of its gold passage (its best candidate's when the
    first stage missed it)."""
    out = []
    for cands, g in zip(candidates, gold, strict=True):
        hit = [s for j, s in cands if ids[j] == g]
        out.append(hit[0] if hit else (cands[0][1] if cands else 0.0))
    return out


def gold_ids(ds: Dataset) -> list[str]:
    """The ``context_id`` of each question's passage."""
    return [context_id(c) for c in ds["context"]]
