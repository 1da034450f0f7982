"""Stage 3: a cross-encoder reranker (one output) trained on relevant and irrelevant pairs.

Binary cross-entropy on (question, passage, 1/0). Negatives are the book's random passage of
another title (``"random"``) or passages of other titles that a bi-encoder ranks highest for
the question (``"hard"``). Evaluated before and after training with the book's pair
correlation and with reranking metrics on held-out questions: the candidates of each question
are the bi-encoder's top ``candidates`` passages when a bi-encoder is given, otherwise its gold
passage plus ``candidates - 1`` random passages of other titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from sentence_transformers import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

from lc_klue.data import context_id, relevance_pairs, sample_questions, unique_contexts
from lc_klue.errors import DataError, ModelError
from lc_klue.ranking import retrieval_metrics
from lc_klue.runtime import pick_device
from training.models import make_bi_encoder, make_cross_encoder, resolve_base_model
from training.mrc import mrc_splits, rank_passages
from training.outputs import (
    ResourceMeter,
    StageResult,
    complete_stage,
    describe_source,
    run_training,
    seed_everything,
    training_arguments,
    work_dir_for,
)

NEGATIVE_KINDS = ("random", "hard")


def hard_negative_pairs(
    bi_encoder: Any,
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
        questions.append(question)
        contexts.append(context)
        labels.append(1.0)
        negatives = [texts[j] for j in row if titles[j] != title][:num_negatives]
        questions += [question] * len(negatives)
        contexts += negatives
        labels += [0.0] * len(negatives)
    return Dataset.from_dict({"question": questions, "context": contexts, "label": labels})


def correlation_evaluator(
    test: Dataset, n: int = 100, seed: int = 42
) -> CrossEncoderCorrelationEvaluator:
    """The book's evaluation: first ``n`` test questions × (own passage 1, other title 0)."""
    pairs = relevance_pairs(test.select(range(min(n, len(test)))), seed=seed)
    return CrossEncoderCorrelationEvaluator(
        [[q, c] for q, c in zip(pairs["question"], pairs["context"], strict=True)],
        list(pairs["label"]),
        name="mrc-pairs",
        write_csv=False,
        show_progress_bar=False,
    )


def candidate_lists(
    questions: Dataset, corpus: Dataset, n: int = 30, bi_encoder: Any = None, seed: int = 42
) -> list[list[int]]:
    """Per question, indices into ``corpus`` to rerank: the bi-encoder's top ``n`` or (no
    bi-encoder) the gold passage plus ``n - 1`` random passages of other titles, shuffled."""
    texts = list(corpus["context"])
    if bi_encoder is not None:
        return rank_passages(bi_encoder, list(questions["question"]), texts, k=n).tolist()
    index = {c: i for i, c in enumerate(texts)}
    titles = np.array(list(corpus["title"]), dtype=object)
    rng = np.random.default_rng(seed)
    out = []
    for context, title in zip(questions["context"], questions["title"], strict=True):
        others = np.flatnonzero(titles != title)
        picks = rng.choice(others, size=min(n - 1, len(others)), replace=False).tolist()
        cands = [index[context], *picks]
        rng.shuffle(cands)
        out.append(cands)
    return out


def rerank_metrics(
    model: CrossEncoder,
    questions: Dataset,
    corpus: Dataset,
    candidates: list[list[int]],
    batch_size: int = 64,
    show_progress: bool = False,
) -> dict[str, float]:
    """Retrieval metrics after ordering each question's candidates by cross-encoder score.

    All pairs of all questions are scored in one ``predict`` call.
    """
    texts, ids = list(corpus["context"]), list(corpus["context_id"])
    qs = list(questions["question"])
    pairs = [(qs[i], texts[j]) for i, cands in enumerate(candidates) for j in cands]
    scores = np.asarray(
        model.predict(pairs, batch_size=batch_size, show_progress_bar=show_progress), dtype=float
    )
    ranked, start = [], 0
    for cands in candidates:
        s = scores[start : start + len(cands)]
        start += len(cands)
        ranked.append([ids[cands[j]] for j in np.argsort(-s, kind="stable")])
    return retrieval_metrics(ranked, [context_id(c) for c in questions["context"]])


def train_cross_encoder(
    output_dir: str | Path,
    *,
    base_model: str | Path = "klue/roberta-small",
    train_data: str | Path | Dataset = "klue",
    test_data: str | Path | Dataset | None = None,
    test_size: float = 0.3,
    negatives: str = "random",
    bi_encoder: str | Path | None = None,
    num_negatives: int = 1,
    candidates: int = 30,
    epochs: float = 1,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    warmup_steps: int = 100,
    max_length: int = 512,
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
    """Train a one-label cross-encoder on relevant/irrelevant (question, passage) pairs.

    Data arguments as in :func:`training.mrc.train_mrc`. ``negatives="hard"`` needs
    ``bi_encoder`` (a sentence-transformers model directory); when given, the bi-encoder also
    supplies the top-``candidates`` passages that the reranking evaluation reorders.
    """
    if negatives not in NEGATIVE_KINDS:
        raise DataError(f"unknown negatives {negatives!r}; choose from {', '.join(NEGATIVE_KINDS)}")
    if negatives == "hard" and bi_encoder is None:
        raise ModelError("negatives='hard' needs a bi-encoder to mine them (--bi-encoder)")
    if num_negatives < 1 or candidates < 2:
        raise DataError("num_negatives must be ≥ 1 and candidates ≥ 2")
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
        if len(set(test["title"])) < 2 or len(set(train["title"])) < 2:
            raise DataError("MRC data: training and test parts each need at least 2 titles")
        retriever = None
        if bi_encoder is not None:
            path = resolve_base_model(bi_encoder)
            if not (Path(path) / "modules.json").exists():
                raise ModelError(f"{bi_encoder}: not a sentence-transformers model directory")
            retriever = make_bi_encoder(path, device=device)

        def texts() -> list[str]:
            return list(train["question"]) + sorted(set(train["context"]))

        base = resolve_base_model(
            base_model,
            texts=texts,
            scratch_dir=work_dir / "scratch-base",
            seed=seed,
            max_length=max(max_length, 128),
        )
        seed_everything(seed)
        model = make_cross_encoder(base, max_length=max_length, device=device)
        if negatives == "hard":
            train_pairs = hard_negative_pairs(
                retriever, train, num_negatives, show_progress=show_progress
            )
        else:
            train_pairs = relevance_pairs(train, seed=seed)
        corr_eval = correlation_evaluator(test, pair_questions, seed)
        questions = sample_questions(test, eval_questions, seed=seed)
        corpus = unique_contexts(test)
        cands = candidate_lists(questions, corpus, candidates, retriever, seed)
        first_stage = retrieval_metrics(
            [[corpus["context_id"][j] for j in c] for c in cands],
            [context_id(c) for c in questions["context"]],
        )

        def evaluate() -> dict[str, float]:
            corr = corr_eval(model)
            return {
                "pair_spearman": float(corr[corr_eval.primary_metric]),
                **rerank_metrics(model, questions, corpus, cands, show_progress=show_progress),
            }

        before = evaluate()
        loss = BinaryCrossEntropyLoss(model)
        args = training_arguments(
            CrossEncoderTrainingArguments,
            work_dir,
            device=device,
            **hp,
            save_steps=save_steps,
            logging_steps=logging_steps,
            show_progress=show_progress,
        )
        trainer = CrossEncoderTrainer(
            model=model, args=args, train_dataset=train_pairs, loss=loss, callbacks=list(callbacks)
        )
        run_training(trainer, work_dir, resume)
        after = evaluate()
    source = (
        f"top-{candidates} passages of the bi-encoder {bi_encoder}"
        if retriever is not None
        else f"gold passage + {candidates - 1} random other-title passages (seed {seed})"
    )
    metrics: dict[str, Any] = {
        "description": "Cross-encoder reranker with one output, trained with binary "
        "cross-entropy on relevant (1) and irrelevant (0) question/passage pairs.",
        "base_model": str(base_model),
        "loss": type(loss).__name__,
        "negatives": negatives,
        "data": {
            "train": f"{describe_source(train_data)}: {len(train)} questions, "
            f"{len(train_pairs)} pairs ({negatives} negatives, {num_negatives} per question)",
            "test": f"{describe_source(test_data) if test_data is not None else 'title split'}: "
            f"{len(test)} questions, {len(corpus)} passages"
            + ("" if test_data is not None else f" (test_size {test_size}, seed {seed})"),
            "pair_evaluation": f"first {min(pair_questions, len(test))} test questions × "
            "(own passage = 1, other-title passage = 0)",
            "rerank_evaluation": f"{len(questions)} test questions; candidates: {source}",
        },
        "hyperparameters": {
            **hp,
            "max_length": max_length,
        },
        "first_stage": first_stage,
        "before": before,
        "after": after,
    }
    return complete_stage(
        "cross-encoder",
        model,
        output_dir,
        metrics,
        trainer=trainer,
        meter=meter,
        device=device,
        work_dir=work_dir,
        hub_repo_id=hub_repo_id,
    )
