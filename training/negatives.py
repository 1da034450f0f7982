"""Negative mining: passages that look relevant to a question but are not its own.

Candidates come from BM25 over Kiwi morphemes (:func:`bm25_candidates`, the product's first
stage). BM25's mistakes are mostly *other paragraphs of the same article*, so those are kept:
a reranker must learn the distinction the first stage gets wrong. :func:`negatives_for` picks
each question's hardest candidates that are not its passage; :func:`pair_examples` and
:func:`listwise_examples` turn them into the rows the cross-encoder losses take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasets import Dataset

from lc_klue.data import context_id
from lc_klue.retrieval.bm25 import TUNED_BM25
from training.data import positives

#: A question's candidates: (passage index, first-stage score), best first.
Candidates = list[tuple[int, float]]
#: Smallest target probability in listwise rows (its log is the label of a "no" passage).
MIN_TARGET = 1e-6
#: Candidates per question that BM25 negatives are drawn from.
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


def negatives_for(
    candidates: Sequence[Candidates],
    gold: Sequence[str],
    passage_ids: Sequence[str],
    n: int,
) -> list[Candidates]:
    """The ``n`` best candidates of each question that are not its gold passage (by
    ``context_id``; other passages of its own title are kept)."""
    return [
        [(j, s) for j, s in cands if passage_ids[j] != g][:n]
        for cands, g in zip(candidates, gold, strict=True)
    ]


def pair_examples(ds: Dataset, passages: Sequence[str], negatives: Sequence[Candidates]) -> Dataset:
    """``question, context, label`` rows: each question's passage (1) and its negatives (0)."""
    questions, contexts, labels = [], [], []
    for question, context, negs in zip(ds["question"], positives(ds), negatives, strict=True):
        questions += [question] * (1 + len(negs))
        contexts += [context, *(passages[j] for j, _ in negs)]
        labels += [1.0] + [0.0] * len(negs)
    return Dataset.from_dict({"question": questions, "context": contexts, "label": labels})


def listwise_examples(
    ds: Dataset, passages: Sequence[str], negatives: Sequence[Candidates]
) -> Dataset:
    """``query, docs, labels`` rows for a listwise loss: the gold passage first, then the
    negatives. The loss's target is ``softmax(labels)``: the labels are the log of the one-hot
    target (at least :data:`MIN_TARGET`), so it teaches the gold passage."""
    no = float(np.log(MIN_TARGET))
    queries, docs, labels = [], [], []
    for question, context, negs in zip(ds["question"], positives(ds), negatives, strict=True):
        queries.append(question)
        docs.append([context, *(passages[j] for j, _ in negs)])
        labels.append([0.0] + [no] * len(negs))
    return Dataset.from_dict({"query": queries, "docs": docs, "labels": labels})


def gold_ids(ds: Dataset) -> list[str]:
    """The ``context_id`` of each question's passage."""
    return [context_id(c) for c in ds["context"]]
