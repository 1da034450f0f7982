"""Stage 2: fine-tune the STS bi-encoder on (question, passage) pairs of MRC data.

``MultipleNegativesRankingLoss`` with no-duplicate batches (the other passages of a batch are
the negatives). Evaluated before and after training with the book's pair evaluation (100
relevant + 100 irrelevant pairs, Spearman of cosine against 1/0) and with retrieval metrics on
held-out questions over the held-out passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from lc_klue.data import (
    context_id,
    load_mrc,
    relevance_pairs,
    sample_questions,
    split_by_title,
    unique_contexts,
)
from lc_klue.errors import DataError
from lc_klue.ranking import retrieval_metrics
from lc_klue.runtime import pick_device
from training.models import make_bi_encoder, resolve_base_model
from training.outputs import (
    ResourceMeter,
    StageResult,
    as_dataset,
    complete_stage,
    describe_source,
    run_training,
    seed_everything,
    training_arguments,
    work_dir_for,
)

MRC_NEEDED = ("title", "context", "question")


def mrc_splits(
    train_data: str | Path | Dataset,
    test_data: str | Path | Dataset | None = None,
    test_size: float = 0.3,
    seed: int = 42,
) -> DatasetDict:
    """``train``/``test`` MRC data: the given test set, KLUE validation for ``"klue"``, or a
    split of ``train_data`` by title (no article in both)."""
    train = as_dataset(train_data, load_mrc, "train", MRC_NEEDED, "MRC training data")
    if test_data is None and isinstance(train_data, str) and train_data == "klue":
        test_data = "klue"
    if test_data is None:
        return split_by_title(train, test_size=test_size, seed=seed)
    test = as_dataset(test_data, load_mrc, "validation", MRC_NEEDED, "MRC test data")
    return DatasetDict(train=train, test=test)


def pair_evaluator(test: Dataset, n: int = 100, seed: int = 42) -> EmbeddingSimilarityEvaluator:
    """The book's evaluation: the first ``n`` test questions with their passage (1) and a
    passage of another title (0); Spearman of cosine similarity against the labels."""
    pairs = relevance_pairs(test.select(range(min(n, len(test)))), seed=seed)
    return EmbeddingSimilarityEvaluator(
        list(pairs["question"]),
        list(pairs["context"]),
        list(pairs["label"]),
        main_similarity="cosine",
        similarity_fn_names=["cosine"],
        name="mrc-pairs",
        write_csv=False,
    )


def pair_spearman(model: SentenceTransformer, evaluator: EmbeddingSimilarityEvaluator) -> float:
    """The evaluator's Spearman correlation (cosine)."""
    return float(evaluator(model)[evaluator.primary_metric])


def rank_passages(
    model: SentenceTransformer,
    questions: Sequence[str],
    passages: Sequence[str],
    k: int = 10,
    batch_size: int = 64,
    show_progress: bool = False,
) -> np.ndarray:
    """Indices of the ``k`` passages with the highest cosine similarity for each question."""
    if not passages:
        raise DataError("no passages to rank")
    k = min(k, len(passages))
    kw = dict(
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_tensor=True,
        show_progress_bar=show_progress,
    )
    p = model.encode(list(passages), **kw)
    q = model.encode(list(questions), **kw)
    return torch.topk(q @ p.T, k, dim=1).indices.cpu().numpy()


def dense_retrieval_metrics(
    model: SentenceTransformer, questions: Dataset, corpus: Dataset, show_progress: bool = False
) -> dict[str, float]:
    """hit@1/5/10, MRR@10, nDCG@10 of ``questions`` against the passages of ``corpus``."""
    ids = list(corpus["context_id"])
    top = rank_passages(
        model,
        list(questions["question"]),
        list(corpus["context"]),
        k=10,
        show_progress=show_progress,
    )
    ranked = [[ids[j] for j in row] for row in top]
    gold = [context_id(c) for c in questions["context"]]
    return retrieval_metrics(ranked, gold)


def train_mrc(
    output_dir: str | Path,
    *,
    model: str | Path,
    train_data: str | Path | Dataset = "klue",
    test_data: str | Path | Dataset | None = None,
    test_size: float = 0.3,
    epochs: float = 1,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    warmup_steps: int = 100,
    max_seq_length: int = 256,
    pooling: str = "mean",
    pair_questions: int = 100,
    eval_questions: int = 1000,
    max_steps: int = -1,
    save_steps: int = 500,
    logging_steps: int | None = None,
    seed: int = 42,
    device: str | None = None,
    resume: bool | None = None,
    hub_repo_id: str | None = None,
    show_progress: bool = True,
    callbacks: Sequence[Any] = (),
) -> StageResult:
    """Fine-tune a bi-encoder (normally the STS stage's output) on question/passage pairs.

    ``train_data``/``test_data``: ``"klue"`` (KLUE MRC train/validation from the hub), a local
    MRC file or a Dataset. Without ``test_data`` the training data is split by title
    (``test_size``, ``seed``). ``model`` may also be a base LM or ``scratch:SIZE`` (pooling
    added). Retrieval metrics use ``eval_questions`` held-out questions (the book's seeded
    sample) against all distinct held-out passages.
    """
    output_dir = Path(output_dir).expanduser().resolve()
    work_dir = work_dir_for(output_dir)
    device = pick_device(device)
    hp = dict(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        seed=seed,
        max_steps=max_steps,
    )
    with ResourceMeter() as meter:
        parts = mrc_splits(train_data, test_data, test_size, seed)
        train, test = parts["train"], parts["test"]
        if len(set(test["title"])) < 2:
            raise DataError("MRC test data: the pair evaluation needs at least 2 titles")

        def texts() -> list[str]:
            return list(train["question"]) + sorted(set(train["context"]))

        base = resolve_base_model(
            model,
            texts=texts,
            scratch_dir=work_dir / "scratch-base",
            seed=seed,
            max_length=max(max_seq_length, 128),
        )
        seed_everything(seed)
        st = make_bi_encoder(base, pooling=pooling, max_seq_length=max_seq_length, device=device)
        st.max_seq_length = max_seq_length
        pairs_eval = pair_evaluator(test, pair_questions, seed)
        questions = sample_questions(test, eval_questions, seed=seed)
        corpus = unique_contexts(test)

        def evaluate() -> dict[str, float]:
            return {
                "pair_spearman": pair_spearman(st, pairs_eval),
                **dense_retrieval_metrics(st, questions, corpus, show_progress),
            }

        before = evaluate()
        train_pairs = train.select_columns(["question", "context"])
        loss = MultipleNegativesRankingLoss(st)
        args = training_arguments(
            SentenceTransformerTrainingArguments,
            work_dir,
            device=device,
            **hp,
            save_steps=save_steps,
            logging_steps=logging_steps,
            show_progress=show_progress,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
        )
        trainer = SentenceTransformerTrainer(
            model=st, args=args, train_dataset=train_pairs, loss=loss, callbacks=list(callbacks)
        )
        run_training(trainer, work_dir, resume)
        after = evaluate()
    metrics: dict[str, Any] = {
        "description": "Bi-encoder fine-tuned on (question, passage) pairs with in-batch "
        "negatives (MultipleNegativesRankingLoss, no-duplicate batches).",
        "base_model": str(model),
        "loss": type(loss).__name__,
        "data": {
            "train": f"{describe_source(train_data)}: {len(train)} questions, "
            f"{len(set(train['title']))} titles",
            "test": f"{describe_source(test_data) if test_data is not None else 'title split'}: "
            f"{len(test)} questions, {len(set(test['title']))} titles, {len(corpus)} passages"
            + ("" if test_data is not None else f" (test_size {test_size}, seed {seed})"),
            "pair_evaluation": f"first {min(pair_questions, len(test))} test questions × "
            "(own passage = 1, other-title passage = 0)",
            "retrieval_evaluation": f"{len(questions)} test questions (seed {seed}) over "
            f"{len(corpus)} test passages",
        },
        "hyperparameters": {
            **hp,
            "max_seq_length": max_seq_length,
            "batch_sampler": "no_duplicates",
        },
        "before": before,
        "after": after,
    }
    return complete_stage(
        "mrc",
        st,
        output_dir,
        metrics,
        trainer=trainer,
        meter=meter,
        device=device,
        work_dir=work_dir,
        hub_repo_id=hub_repo_id,
    )
