"""Stage 1: a base language model becomes a sentence-embedding model trained on KLUE STS.

Mean pooling (CLS or max selectable) on top of the LM, ``CosineSimilarityLoss`` on
``score = label / 5`` (``CoSENTLoss`` as an option), 10 % of train held out (seeded) and
evaluated after every epoch; Spearman on KLUE STS dev before and after training.
"""

from __future__ import annotations

from pathlib import Path

from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss

from lc_klue.data import STS_COLUMNS, load_sts, split_sts
from lc_klue.errors import DataError
from training.args import TrainingArgs
from training.data import DataSource, as_dataset, describe_source
from training.evaluation import primary, sts_evaluator
from training.models import model_prompt, stage_prompts
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage

STS_LOSSES = ("cosine", "cosent")


def train_sts(
    output_dir: str | Path,
    *,
    base_model: str | Path = "klue/roberta-base",
    train_data: DataSource = "klue",
    test_data: DataSource | None = None,
    pooling: str = "mean",
    loss: str = "cosine",
    validation_size: float = 0.1,
    args: TrainingArgs | None = None,
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
    if test_data is None and isinstance(train_data, str) and train_data == "klue":
        test_data = "klue"

    def plan(ctx: StageContext) -> StagePlan:
        train_all = as_dataset(train_data, load_sts, "train", STS_COLUMNS, "STS training data")
        test = (
            as_dataset(test_data, load_sts, "validation", STS_COLUMNS, "STS test data")
            if test_data is not None
            else None
        )
        parts = split_sts(train_all.select_columns(STS_COLUMNS), validation_size, ctx.args.seed)
        train, validation = parts["train"], parts["validation"]
        base = ctx.base_model(
            base_model, lambda: list(train["sentence1"]) + list(train["sentence2"])
        )
        model = ctx.bi_encoder(base, pooling)
        prompt = model_prompt(model, "query")  # one prompt for both sides: the pairs are alike
        val_eval = sts_evaluator(validation, "sts-validation", prompt=prompt)
        test_eval = sts_evaluator(test, "sts-test", prompt=prompt) if test is not None else None

        def evaluate() -> dict[str, float]:
            out = {"validation_spearman": primary(val_eval, model)}
            if test_eval is not None:
                out["test_spearman"] = primary(test_eval, model)
            return out

        seed = ctx.args.seed
        return StagePlan(
            model=model,
            train_dataset=train,
            loss=CosineSimilarityLoss(model) if loss == "cosine" else CoSENTLoss(model),
            evaluate=evaluate,
            card={
                "description": "Sentence-embedding model trained on STS pairs (cosine of "
                "pooled embeddings regressed on the similarity score).",
                "base_model": str(base_model),
                "pooling": pooling,
                "data": {
                    "train": f"{describe_source(train_data)}: {len(train)} pairs (held out for "
                    f"validation: {len(validation)}, fraction {validation_size}, seed {seed})",
                    "test": "none"
                    if test is None
                    else f"{describe_source(test_data)}: {len(test)} pairs",
                },
            },
            trainer_kwargs={"eval_dataset": validation, "evaluator": val_eval},
            args_kwargs={"eval_strategy": "epoch"},
            prompts=stage_prompts(model, {"sentence1": "query", "sentence2": "query"}),
        )

    return run_stage("sts", output_dir, args, plan)
