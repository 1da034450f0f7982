"""``lc-klue train``: the method's three models (and a from-scratch base model to start from).

``lc-klue train sts OUT`` → ``lc-klue train mrc OUT --model STS_OUT`` →
``lc-klue train cross-encoder OUT [--embedding-model MRC_OUT]``; ``lc-klue train base OUT``
builds a small BERT/RoBERTa with a tokenizer trained on the given training data (offline use).

The flags are built from ``training.args``: the shared ``TrainingArgs`` (every stage) and each
stage's small settings class, defaults taken from their fields; each flag fills the field of
its ``dest``.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import MISSING, fields
from typing import Any

from lc_klue.commands import (
    add_device,
    add_input_files,
    add_no_progress,
    add_overwrite,
    check_model_flags,
    from_args,
    int_at_least,
    positive_int,
)
from training.args import (
    FIRST_STAGES,
    LOSSES,
    MRC_NEGATIVES,
    NEGATIVE_KINDS,
    STAGE_DEFAULTS,
    STS_LOSSES,
    CrossEncoderSettings,
    MrcSettings,
    StsSettings,
    TrainingArgs,
)

#: The flags of dataclass fields, by field: argparse keywords (``flag`` when it is not the
#: field's name with dashes). ``{stage}`` in a help is the stage's own default
#: (:data:`training.args.STAGE_DEFAULTS`); other helps get the field's default appended.
FLAGS: dict[str, dict[str, Any]] = {
    "train_data": {
        "flag": "--data",
        "metavar": "DATA",
        "help": "training data: 'klue' (the hub) or a local file",
    },
    "test_data": {
        "help": "data evaluated before/after (default: KLUE validation for 'klue'; the MRC "
        "stages otherwise split --data by title)"
    },
    "dev_size": {
        "type": float,
        "help": "share of the training data held out and not trained on (default {stage}; STS: "
        "pairs evaluated every epoch; MRC stages: titles on which `lc-klue benchmark "
        "--dev-size` tunes fusion weights honestly)",
    },
    "test_size": {"type": float, "help": "share of titles held out without --test-data"},
    "pairs": {
        "choices": ["questions", "ict"],
        "help": "questions: the data's own; ict: inverse-cloze pairs (a sentence of a passage "
        "as the question), for a passage file with no questions",
    },
    "pair_questions": {"type": positive_int, "help": "test questions of the pair evaluation"},
    "eval_questions": {
        "type": positive_int,
        "help": "held-out questions of the retrieval evaluation before and after training "
        "(default 1000; 200 with --max-steps)",
    },
    "epochs": {"type": float, "help": "passes over the training data (default {stage:g})"},
    "batch_size": {"type": positive_int, "help": "examples per step"},
    "learning_rate": {
        "type": float,
        "help": "default 2e-5 (transformers) or the Kiwi model's own (kiwi:static: 1e-3, its "
        "cross-encoder 1e-2)",
    },
    "warmup_steps": {"type": int, "help": "steps of linear warm-up"},
    "max_length": {
        "type": positive_int,
        "help": "tokens per input (default {stage}; capped at the model's positions)",
    },
    "freeze_embeddings": {
        "action": argparse.BooleanOptionalAction,
        "help": "keep the word-embedding table fixed (default: when it holds more than half "
        "of the parameters, as in e5-small)",
    },
    "max_steps": {
        "type": int,
        "help": "stop after N steps (-1: off; the evaluations then take fewer questions, "
        "see --eval-questions)",
    },
    "evaluate_before": {
        "flag": "--no-eval-before",
        "action": "store_false",
        "help": "skip the evaluation before training (its figures stay empty)",
    },
    "save_steps": {"type": positive_int, "help": "checkpoint every N steps"},
    "logging_steps": {"type": positive_int, "help": "log the loss every N steps"},
    "seed": {"type": int, "help": "seed of splits, sampling and init"},
    "hub_repo_id": {
        "flag": "--push-to-hub",
        "metavar": "REPO_ID",
        "help": "upload the finished model to the Hugging Face hub",
    },
    "pooling": {
        "choices": ["mean", "cls", "max"],
        "help": "how token vectors become the sentence vector (mean: the book's)",
    },
    "num_negatives": {"type": positive_int, "help": "negatives per question"},
    "candidates": {
        "type": int_at_least(2),
        "help": "candidates per question in the reranking evaluation",
    },
    "first_stage": {
        "choices": list(FIRST_STAGES),
        "help": "where the evaluation's candidates come from (default: dense with "
        "--embedding-model, else bm25)",
    },
    "embedding_model": {"help": "bi-encoder directory whose top passages are the candidates"},
    "layers": {
        "type": positive_int,
        "help": "keep only the base's first N encoder layers (a faster reranker from a deep "
        "base, e.g. 4 of e5-small's 12 on a CPU; default: all)",
    },
}
#: The negatives and losses differ by stage.
STAGE_FLAGS: dict[str, dict[str, dict[str, Any]]] = {
    "sts": {
        "loss": {
            "choices": list(STS_LOSSES),
            "help": "cosine similarity against label / 5 (the book's) or CoSENT",
        }
    },
    "mrc": {
        "negatives": {
            "choices": list(MRC_NEGATIVES),
            "help": "in-batch: the other passages of a batch only (book); bm25: plus each "
            "question's best BM25 passages that are not its own, other paragraphs of the same "
            "article included",
        },
        "num_negatives": {"type": positive_int, "help": "bm25: mined negatives per question"},
    },
    "cross-encoder": {
        "negatives": {
            "choices": list(NEGATIVE_KINDS),
            "help": "random other-title passages (book) or BM25's best passages, other "
            "paragraphs of the same article included",
        },
        "loss": {
            "choices": list(LOSSES),
            "help": "binary cross-entropy on pairs (book) or a softmax over each question's "
            "gold passage and its negatives",
        },
    },
}
SHARED = (
    "train_data",
    "test_data",
    "dev_size",
    "epochs",
    "batch_size",
    "learning_rate",
    "warmup_steps",
    "max_length",
    "freeze_embeddings",
    "max_steps",
    "evaluate_before",
    "save_steps",
    "logging_steps",
    "seed",
    "hub_repo_id",
)
MRC_DATA = ("test_size", "pairs", "pair_questions", "eval_questions")
#: Each stage: its training function, its settings class and the default ``--model``.
STAGES: dict[str, tuple[str, type, str | None]] = {
    "sts": ("training.sts:train_sts", StsSettings, "klue/roberta-base"),
    "mrc": ("training.mrc:train_mrc", MrcSettings, None),
    "cross-encoder": (
        "training.cross_encoder:train_cross_encoder",
        CrossEncoderSettings,
        "klue/roberta-small",
    ),
}


def add_fields(p: argparse.ArgumentParser, cls: type, stage: str, names: tuple[str, ...]) -> None:
    """One flag per field of dataclass ``cls`` in ``names`` (:data:`FLAGS`, overridden by the
    stage's :data:`STAGE_FLAGS`), its default the field's (a None default shows the stage's)."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for name in names:
        kw = dict(STAGE_FLAGS[stage].get(name) or FLAGS[name])
        flag = kw.pop("flag", "--" + name.replace("_", "-"))
        default = defaults.get(name)
        shown = STAGE_DEFAULTS[stage].get(name, default)
        kw["help"] = kw["help"].format(stage=shown)
        if default is not None and "action" not in kw and "default" not in kw["help"]:
            kw["help"] += f" (default: {default})"
        p.add_argument(flag, dest=name, default=default, **kw)


def _stage(stages: argparse._SubParsersAction, stage: str, text: str) -> None:
    """The parser of one training stage: ``OUTPUT``, ``--model``, the shared flags, the MRC
    data flags (MRC stages) and the stage's own."""
    p = stages.add_parser(stage, help=text)
    p.add_argument("output", help="model directory to write (checkpoints go to OUTPUT.ckpt/)")
    _, settings, model = STAGES[stage]
    p.add_argument(
        "--model",
        default=model,
        required=model is None,
        help="where training starts: a hub id, e5-small, scratch:SIZE[:ARCH], kiwi:static, "
        "or a trained model folder (the previous stage's)"
        + (f" (default: {model})" if model else ""),
    )
    add_fields(p, TrainingArgs, stage, SHARED + (MRC_DATA if stage != "sts" else ()))
    add_fields(p, settings, stage, tuple(f.name for f in fields(settings)))
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
    add_no_progress(p)
    add_input_files(p, "train_data", "test_data")
    p.set_defaults(func=run_stage)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` with its ``sts``, ``mrc``, ``cross-encoder`` and ``base`` subcommands."""
    p = sub.add_parser("train", help="train the STS bi-encoder, MRC bi-encoder or reranker")
    stages = p.add_subparsers(dest="stage", required=True, metavar="STAGE")
    _stage(stages, "sts", "stage 1: sentence embeddings from KLUE STS")
    _stage(stages, "mrc", "stage 2: fine-tune the bi-encoder on question/passage")
    _stage(stages, "cross-encoder", "stage 3: cross-encoder reranker")

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
    check_model_flags(args, model="model", embedding_model="embedding model")
    target, settings, _ = STAGES[args.stage]
    module, name = target.split(":")
    train = getattr(importlib.import_module(module), name)
    result = train(
        args.output, args.model, from_args(settings, args), from_args(TrainingArgs, args)
    )
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
