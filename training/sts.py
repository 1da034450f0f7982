"""Stage 1: a base language model becomes a sentence-embedding model trained on KLUE STS.

Mean pooling (CLS or max selectable) on top of the LM, ``CosineSimilarityLoss`` on
``score = label / 5`` (``CoSENTLoss`` as an option), ``dev_size`` of train held out (seeded)
and evaluated after every epoch; Spearman on KLUE STS dev before and after training.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss

from lc_klue.data import STS_COLUMNS, load_sts, split_sts
from training.args import StsSettings, TrainingArgs
from training.data import as_dataset, describe_source
from training.evaluation import StageEvaluator, sts_evaluator
from training.models import model_prompt, stage_prompts
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage


def train_sts(
    output_dir: str | Path,
    model: str | Path = "klue/roberta-base",
    settings: StsSettings | None = None,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Train a bi-encoder on STS pairs and save it to ``output_dir``.

    ``args.train_data`` is ``"klue"`` (hub), a local STS file or a Dataset with ``sentence1,
    sentence2, score``; ``args.dev_size`` of it (seeded) is held out and evaluated after every
    epoch. ``args.test_data`` (default: KLUE STS validation when training on ``"klue"``) is
    evaluated before and after training. ``model`` is a hub id, a local directory,
    ``scratch:SIZE[:ARCH]`` (tokenizer trained on the training sentences) or ``kiwi:static``.
    """
    settings = settings or StsSettings()
    return run_stage("sts", output_dir, args, lambda ctx: _plan(ctx, model, settings))


def _plan(ctx: StageContext, model_name: str | Path, settings: StsSettings) -> StagePlan:
    """The STS stage's model, data, loss and evaluation."""
    a = ctx.args
    test_data = a.test_data
    if test_data is None and isinstance(a.train_data, str) and a.train_data == "klue":
        test_data = "klue"
    train_all = as_dataset(a.train_data, load_sts, "train", STS_COLUMNS, "STS training data")
    test = None
    if test_data is not None:
        test = as_dataset(test_data, load_sts, "validation", STS_COLUMNS, "STS test data")
    assert a.dev_size is not None  # set by TrainingArgs.for_stage
    parts = split_sts(train_all.select_columns(STS_COLUMNS), a.dev_size, a.seed)
    train, validation = parts["train"], parts["validation"]
    base = ctx.base_model(model_name, lambda: list(train["sentence1"]) + list(train["sentence2"]))
    model = ctx.bi_encoder(base, settings.pooling)
    prompt = model_prompt(model, "query")  # one prompt for both sides: the pairs are alike
    val_eval = sts_evaluator(validation, "sts-validation", prompt=prompt)
    figures = {"validation_spearman": val_eval}
    if test is not None:
        figures["test_spearman"] = sts_evaluator(test, "sts-test", prompt=prompt)
    cosine = settings.loss == "cosine"
    return StagePlan(
        model=model,
        train_dataset=train,
        loss=CosineSimilarityLoss(model) if cosine else CoSENTLoss(model),
        evaluator=StageEvaluator(figures),
        card=_card(ctx, model_name, settings, (train, validation, test), test_data),
        trainer_kwargs={"eval_dataset": validation, "evaluator": val_eval},
        args_kwargs={"eval_strategy": "epoch"},
        prompts=stage_prompts(model, {"sentence1": "query", "sentence2": "query"}),
    )


def _card(
    ctx: StageContext,
    model_name: str | Path,
    settings: StsSettings,
    parts: tuple[Dataset, Dataset, Dataset | None],
    test_data: object,
) -> dict[str, object]:
    """The model-card entries of the STS stage."""
    train, validation, test = parts
    a = ctx.args
    return {
        "description": "Sentence-embedding model trained on STS pairs (cosine of "
        "pooled embeddings regressed on the similarity score).",
        "base_model": str(model_name),
        "pooling": settings.pooling,
        "data": {
            "train": f"{describe_source(a.train_data)}: {len(train)} pairs (held out for "
            f"validation: {len(validation)}, fraction {a.dev_size}, seed {a.seed})",
            "test": "none" if test is None else f"{describe_source(test_data)}: {len(test)} pairs",
        },
    }
