"""Negative mining: passages that look relevant to a question but are not its own."""

from __future__ import annotations

from datasets import Dataset
from sentence_transformers import SentenceTransformer

from lc_klue.data import unique_contexts
from training.evaluation import rank_passages


def hard_negative_pairs(
    bi_encoder: SentenceTransformer,
    ds: Dataset,
    num_negatives: int = 1,
    depth: int = 30,
    show_progress: bool = False,
) -> Dataset:
    """``question, context, label``: each question's passage (1.0) and the ``num_negatives``
    passages of other titles the bi-encoder ranks highest for it (0.0).

    Passages of the question's own title are skipped: they often answer it too.
    """
    passages = unique_contexts(ds)
    texts, titles = list(passages["context"]), list(passages["title"])
    top = rank_passages(
        bi_encoder, list(ds["question"]), texts, k=depth, show_progress=show_progress
    )
    questions, contexts, labels = [], [], []
    for row, question, context, title in zip(
        top, ds["question"], ds["context"], ds["title"], strict=True
    ):
        negatives = [texts[j] for j in row if titles[j] != title][:num_negatives]
        questions += [question] * (1 + len(negatives))
        contexts += [context, *negatives]
        labels += [1.0] + [0.0] * len(negatives)
    return Dataset.from_dict({"question": questions, "context": contexts, "label": labels})
