"""Stage 1: a base language model becomes a sentence-embedding model trained on KLUE STS.

Mean pooling (CLS or max selectable) on top of the LM, ``CosineSimilarityLoss`` on
``score = label / 5`` (``CoSENTLoss`` as an option), 10% of train held out for evaluation
during training; Spearman on KLUE STS dev before and after training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss

from lc_klue.data import STS_COLUMNS, load_sts, split_sts
from lc_klue.errors import DataError
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

STS_LOSSES = ("cosine", "cosent")


def sts_evaluator(ds: Dataset, name: str, batch_size: int = 64) -> EmbeddingSimilarityEvaluator:
    """Spearman/Pearson of the cosine similarity against the gold scores of ``ds``."""
    return EmbeddingSimilarityEvaluator(
        list(ds["sentence1"]),
        list(ds["sentence2"]),
        list(ds["score"]),
        batch_size=batch_size,
        main_similarity="cosine",
        similarity_fn_names=["cosine"],
        name=name,
        write_csv=False,
    )


def spearman(model: SentenceTransformer, ds: Dataset, name: str) -> float:
    """Spearman correlation of cosine similarity with the gold STS scores of ``ds``."""
    evaluator = sts_evaluator(ds, name)
    return float(evaluator(model)[evaluator.primary_metric])


def train_sts(
    output_dir: str | Path,
    *,
    base_model: str | Path = "klue/roberta-base",
    train_data: str | Path | Dataset = "klue",
    test_data: str | Path | Dataset | None = None,
    pooling: str = "mean",
    loss: str = "cosine",
    epochs: float = 4,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    warmup_steps: int = 100,
    max_seq_length: int = 128,
    validation_size: float = 0.1,
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
    """Train a bi-encoder on STS pairs and save it to ``output_dir``.

    ``train_data`` is ``"klue"`` (hub), a local STS file or a Dataset with ``sentence1,
    sentence2, score``; ``validation_size`` of it (seeded) is held out and evaluated after
    every epoch. ``test_data`` (default: KLUE STS validation when training on ``"klue"``) is
    evaluated before and after training. ``base_model`` is a hub id, a local directory or
    ``scratch:SIZE[:ARCH]`` (tokenizer trained on the training sentences).
    """
    if loss not in STS_LOSSES:
        raise DataError(f"unknown STS loss {loss!r}; choose from {', '.join(STS_LOSSES)}")
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
        train_all = as_dataset(train_data, load_sts, "train", STS_COLUMNS, "STS training data")
        if test_data is None and isinstance(train_data, str) and train_data == "klue":
            test_data = "klue"
        test = (
            as_dataset(test_data, load_sts, "validation", STS_COLUMNS, "STS test data")
            if test_data is not None
            else None
        )
        parts = split_sts(train_all.select_columns(STS_COLUMNS), validation_size, seed=seed)
        train, validation = parts["train"], parts["validation"]

        def texts() -> list[str]:
            return list(train["sentence1"]) + list(train["sentence2"])

        base = resolve_base_model(
            base_model,
            texts=texts,
            scratch_dir=work_dir / "scratch-base",
            seed=seed,
            max_length=max(max_seq_length, 128),
        )
        seed_everything(seed)
        model = make_bi_encoder(base, pooling=pooling, max_seq_length=max_seq_length, device=device)
        model.max_seq_length = max_seq_length
        val_eval = sts_evaluator(validation, "sts-validation")

        def evaluate() -> dict[str, float]:
            out = {"validation_spearman": float(val_eval(model)[val_eval.primary_metric])}
            if test is not None:
                out["test_spearman"] = spearman(model, test, "sts-test")
            return out

        before = evaluate()
        train_loss = CosineSimilarityLoss(model) if loss == "cosine" else CoSENTLoss(model)
        args = training_arguments(
            SentenceTransformerTrainingArguments,
            work_dir,
            device=device,
            **hp,
            save_steps=save_steps,
            logging_steps=logging_steps,
            eval_strategy="epoch",
            show_progress=show_progress,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=train,
            eval_dataset=validation,
            loss=train_loss,
            evaluator=val_eval,
            callbacks=list(callbacks),
        )
        run_training(trainer, work_dir, resume)
        after = evaluate()
    metrics: dict[str, Any] = {
        "description": "Sentence-embedding model trained on STS pairs (cosine of mean-pooled "
        "embeddings regressed on the similarity score).",
        "base_model": str(base_model),
        "loss": type(train_loss).__name__,
        "pooling": pooling,
        "data": {
            "train": f"{describe_source(train_data)}: {len(train)} pairs (held out for validation: "
            f"{len(validation)}, fraction {validation_size}, seed {seed})",
            "test": "none" if test is None else f"{describe_source(test_data)}: {len(test)} pairs",
        },
        "hyperparameters": {
            **hp,
            "max_seq_length": max_seq_length,
        },
        "before": before,
        "after": after,
    }
    return complete_stage(
        "sts",
        model,
        output_dir,
        metrics,
        trainer=trainer,
        meter=meter,
        device=device,
        work_dir=work_dir,
        hub_repo_id=hub_repo_id,
    )
