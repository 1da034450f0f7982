"""``lc-klue train``: the method's three models (and a from-scratch base model to start from).

``lc-klue train sts OUT`` → ``lc-klue train mrc OUT --model STS_OUT`` →
``lc-klue train cross-encoder OUT [--bi-encoder MRC_OUT]``; ``lc-klue train base OUT`` builds a
small BERT/RoBERTa with a tokenizer trained on the given training data (offline use).

The shared flags become one ``training.args.TrainingArgs``; each stage adds its own.
"""

from __future__ import annotations

import argparse
import importlib
import json

from lc_klue.commands import (
    add_base_model,
    add_device,
    add_input_files,
    add_no_progress,
    add_overwrite,
    check_model_flags,
    from_args,
    int_at_least,
    positive_int,
)
from training.args import STAGE_DEFAULTS, TrainingArgs


def _common(p: argparse.ArgumentParser, stage: str) -> None:
    defaults = STAGE_DEFAULTS[stage]
    p.add_argument("output", help="model directory to write (checkpoints go to OUTPUT.ckpt/)")
    p.add_argument("--epochs", type=float, default=None, help=f"default {defaults['epochs']:g}")
    p.add_argument("--batch-size", type=positive_int, default=16, help="default 16")
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="default 2e-5 (transformers) or the Kiwi model's own (kiwi:static: 1e-3, its "
        "cross-encoder 1e-2)",
    )
    p.add_argument("--warmup-steps", type=int, default=100, help="default 100")
    p.add_argument(
        "--max-length",
        "--max-seq-length",
        type=positive_int,
        default=None,
        dest="max_length",
        help=f"tokens per input (default {defaults['max_length']}; capped at the model's "
        "positions)",
    )
    p.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the word-embedding table fixed (default: when it holds more than half of "
        "the parameters, as in e5-small)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=-1,
        help="stop after N steps (default: off; the evaluations then take fewer questions, "
        "see --eval-questions)",
    )
    p.add_argument(
        "--no-eval-before",
        dest="evaluate_before",
        action="store_false",
        help="skip the evaluation before training (its figures stay empty)",
    )
    p.add_argument("--save-steps", type=positive_int, default=500, help="checkpoint every N steps")
    p.add_argument(
        "--logging-steps", type=positive_int, default=50, help="log the loss every N steps"
    )
    p.add_argument("--seed", type=int, default=42, help="seed of splits, sampling and init")
    add_device(p)
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=None,
        help="resume from OUTPUT.ckpt/ (default: automatically when present)",
    )
    resume.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="discard old checkpoints and start over",
    )
    add_overwrite(p, "OUTPUT (a finished model)")
    p.add_argument(
        "--push-to-hub",
        metavar="REPO_ID",
        dest="hub_repo_id",
        default=None,
        help="upload the finished model to the Hugging Face hub",
    )
    add_no_progress(p)


def _mrc_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        dest="train_data",
        default="klue",
        help="MRC training data: 'klue' (hub) or a local file (default: klue)",
    )
    p.add_argument(
        "--test-data",
        default=None,
        help="held-out MRC data (default: KLUE validation for 'klue', else a split "
        "of --data by title)",
    )
    p.add_argument(
        "--test-size",
        type=float,
        default=0.3,
        help="fraction of titles held out when --test-data is not given",
    )
    p.add_argument(
        "--pairs",
        choices=["questions", "ict"],
        default="questions",
        help="questions: the data's questions; ict: inverse-cloze pairs (a sentence of a "
        "passage as the question), for a passage file with no questions",
    )
    p.add_argument(
        "--dev-size",
        type=float,
        default=0.0,
        help="fraction of the training titles held out as dev and not trained on, for "
        "tuning fusion weights honestly (lc-klue benchmark --dev-size; default 0)",
    )
    p.add_argument(
        "--pair-questions",
        type=positive_int,
        default=100,
        help="test questions of the pair evaluation (default 100)",
    )
    p.add_argument(
        "--eval-questions",
        type=positive_int,
        default=None,
        help="held-out questions of the retrieval evaluation before and after training "
        "(default 1000; 200 with --max-steps)",
    )


#: Each stage's training function and the flags (by dest) that are its own keywords.
STAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sts": (
        "training.sts:train_sts",
        ("base_model", "train_data", "test_data", "pooling", "loss", "validation_size"),
    ),
    "mrc": (
        "training.mrc:train_mrc",
        (
            "model",
            "train_data",
            "test_data",
            "test_size",
            "dev_size",
            "pairs",
            "pair_questions",
            "eval_questions",
            "negatives",
            "num_negatives",
        ),
    ),
    "cross-encoder": (
        "training.cross_encoder:train_cross_encoder",
        (
            "base_model",
            "train_data",
            "test_data",
            "test_size",
            "dev_size",
            "pairs",
            "pair_questions",
            "eval_questions",
            "negatives",
            "bi_encoder",
            "num_negatives",
            "loss",
            "distill",
            "candidates",
            "first_stage",
            "layers",
        ),
    ),
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` with its ``sts``, ``mrc``, ``cross-encoder`` and ``base`` subcommands."""
    p = sub.add_parser("train", help="train the STS bi-encoder, MRC bi-encoder or reranker")
    stages = p.add_subparsers(dest="stage", required=True, metavar="STAGE")

    sts = stages.add_parser("sts", help="stage 1: sentence embeddings from KLUE STS")
    _common(sts, "sts")
    add_base_model(sts, "klue/roberta-base")
    sts.add_argument(
        "--data",
        dest="train_data",
        default="klue",
        help="STS training data: 'klue' or a local file",
    )
    sts.add_argument(
        "--test-data",
        default=None,
        help="STS data evaluated before/after (default: KLUE validation for 'klue')",
    )
    sts.add_argument(
        "--pooling",
        choices=["mean", "cls", "max"],
        default="mean",
        help="how token vectors become the sentence vector (default: mean, the book's)",
    )
    sts.add_argument(
        "--loss",
        choices=["cosine", "cosent"],
        default="cosine",
        help="cosine similarity against label / 5 (the book's) or CoSENT (default: cosine)",
    )
    sts.add_argument(
        "--validation-size",
        type=float,
        default=0.1,
        help="share of the training pairs held out for validation (default 0.1, seed --seed)",
    )

    mrc = stages.add_parser("mrc", help="stage 2: fine-tune the bi-encoder on question/passage")
    _common(mrc, "mrc")
    mrc.add_argument(
        "--model", required=True, help="the STS stage's model directory (or a base model)"
    )
    _mrc_data(mrc)
    mrc.add_argument(
        "--negatives",
        choices=["in-batch", "bm25"],
        default="in-batch",
        help="in-batch: the other passages of a batch only (book); bm25: plus each question's "
        "best BM25 passages that are not its own, other paragraphs of the same article "
        "included",
    )
    mrc.add_argument(
        "--num-negatives",
        type=positive_int,
        default=1,
        help="bm25: mined negatives per question (default 1)",
    )

    ce = stages.add_parser("cross-encoder", help="stage 3: cross-encoder reranker")
    _common(ce, "cross-encoder")
    add_base_model(ce, "klue/roberta-small")
    _mrc_data(ce)
    ce.add_argument(
        "--negatives",
        choices=["random", "hard", "bm25"],
        default="random",
        help="random other-title passages (book), bi-encoder hard negatives of other titles, "
        "or BM25's best passages, other paragraphs of the same article included",
    )
    ce.add_argument(
        "--num-negatives", type=positive_int, default=1, help="negatives per question (default 1)"
    )
    ce.add_argument(
        "--loss",
        choices=["bce", "listwise"],
        default="bce",
        help="binary cross-entropy on pairs (book) or a softmax over each question's gold "
        "passage and its negatives",
    )
    ce.add_argument(
        "--distill",
        type=float,
        default=0.0,
        help="listwise: share of the target given to the first stage's order, in [0, 1) "
        "(default 0: the gold passage only)",
    )
    ce.add_argument(
        "--bi-encoder",
        default=None,
        help="bi-encoder directory: mines hard negatives and gives the candidates",
    )
    ce.add_argument(
        "--candidates",
        type=int_at_least(2),
        default=30,
        help="candidates per question in the reranking evaluation (default 30)",
    )
    ce.add_argument(
        "--first-stage",
        choices=["bm25", "dense", "random"],
        default=None,
        help="where the evaluation's candidates come from (default: dense with --bi-encoder, "
        "else bm25)",
    )
    ce.add_argument(
        "--layers",
        type=positive_int,
        default=None,
        help="keep only the base's first N encoder layers (a faster reranker from a deep "
        "base, e.g. 4 of e5-small's 12 on a CPU; default: all)",
    )
    for parser in (sts, mrc, ce):
        add_input_files(parser, "train_data", "test_data")
        parser.set_defaults(func=run_stage)

    base = stages.add_parser("base", help="build a from-scratch base model for offline use")
    base.add_argument("output", help="directory of the base model")
    base.add_argument("--sts", nargs="*", default=[], help="STS training files (all sentences)")
    base.add_argument(
        "--mrc",
        nargs="*",
        default=[],
        help="MRC files (questions and passages of the training titles only)",
    )
    base.add_argument(
        "--test-size",
        type=float,
        default=0.3,
        help="share of --mrc titles held out: their texts never train the tokenizer",
    )
    base.add_argument("--size", default="small", help="tiny, mini, small, medium or base")
    base.add_argument(
        "--arch", default="bert", choices=["bert", "roberta"], help="architecture (default bert)"
    )
    base.add_argument("--max-length", type=positive_int, default=512, help="position embeddings")
    base.add_argument("--seed", type=int, default=42, help="seed of the split and init")
    add_overwrite(base, "OUTPUT")
    add_input_files(base, "sts", "mrc")
    base.set_defaults(func=run_base)


def run_stage(args: argparse.Namespace) -> int:
    """Train one stage; print its report as one JSON line on stdout."""
    check_model_flags(args, base_model="base model", model="model", bi_encoder="bi-encoder")
    target, own = STAGES[args.stage]
    module, name = target.split(":")
    train = getattr(importlib.import_module(module), name)
    kwargs = {key: getattr(args, key) for key in own}
    result = train(args.output, **kwargs, args=from_args(TrainingArgs, args))
    m = result.metrics
    report = {
        "model_dir": str(result.model_dir),
        "before": m["before"],
        "after": m["after"],
        "wall_time_s": m["wall_time_s"],
        "peak_rss_mib": m["peak_rss_mib"],
        "pushed_to": result.pushed_to,
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


def run_base(args: argparse.Namespace) -> int:
    """Build a from-scratch base model."""
    from lc_klue.storage import refuse_existing

    refuse_existing(args.output, "base model", args.overwrite, marker="config.json")
    from training.scratch import base_texts, build_scratch_base, parse_scratch_spec

    parse_scratch_spec(f"scratch:{args.size}:{args.arch}")  # clear error on a bad size
    texts = base_texts(args.sts, args.mrc, test_size=args.test_size, seed=args.seed)
    out = build_scratch_base(
        texts, args.output, args.size, args.arch, max_length=args.max_length, seed=args.seed
    )
    print(json.dumps({"base_model": str(out), "texts": len(texts)}, ensure_ascii=False))
    return 0
