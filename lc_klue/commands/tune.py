"""``lc-klue tune``: fit a pipeline's fusion weights on your own questions — an index
directory's pipeline, or a pipeline file (how the shipped default weights were fitted)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_klue.commands import (
    add_no_progress,
    add_overwrite,
    add_questions,
    check_index_dir,
    non_negative_int,
)

if TYPE_CHECKING:
    from lc_klue.retrieval.index import Tuning


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` subcommand."""
    p = sub.add_parser(
        "tune",
        help="fit the fusion weights of a retrieval pipeline on your own questions",
        description="Fit the fusion weights of a pipeline (MRR@10, coordinate ascent from "
        "BM25's ranking) on questions whose gold passages are known: an index directory's "
        "pipeline (--index, rewritten in place) or the default pipeline, written as a pipeline "
        "file (--output). A gold passage the index holds only in chunks (raw documents) maps "
        "onto the chunk holding its answer, else the one sharing most of its text; questions "
        "that map to nothing are left out, with a warning. Never tune on the questions you "
        "evaluate with: --split train keeps "
        "to one side of the title split that `lc-klue evaluate --split test` scores.",
    )
    add_questions(
        p,
        "without --index: the passage file that is the search space (default: the data's passages)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", type=Path, help="refit this index directory's pipeline")
    where.add_argument("--output", type=Path, help="write the fitted default pipeline here")
    p.add_argument(
        "--split",
        choices=["all", "train", "test"],
        default="all",
        help="which questions: all, or one side of the title split (default: all)",
    )
    p.add_argument("--test-size", type=float, default=0.3, help="test share of --split titles")
    p.add_argument(
        "--questions", type=non_negative_int, default=1000, help="sampled questions (0 = all)"
    )
    p.add_argument("--seed", type=int, default=42, help="seed of --split and the sample")
    p.add_argument(
        "--embedding-model",
        "-m",
        default=None,
        help="with --output: fit the default pipeline with this bi-encoder (candidates from "
        "BM25 and the model, its cosine in the fusion), as the shipped e5-small one was",
    )
    add_overwrite(p, "--output")
    add_no_progress(p)
    p.set_defaults(func=run)


def tuning_questions(data: Path, split: str, test_size: float, n: int, seed: int) -> Tuning:
    """The questions of ``data`` to fit on (one side of the title split, sampled), with their
    gold passages and answers, and a record of which they are (file name, split, sample)."""
    from lc_klue.data import load_mrc, sample_questions, split_by_title
    from lc_klue.retrieval.index import Tuning

    ds = load_mrc(data)
    if split != "all":
        ds = split_by_title(ds, test_size, seed=seed)[split]
    if n:
        ds = sample_questions(ds, n, seed=seed)
    about: dict[str, Any] = {
        "data": Path(data).name,
        "split": "all" if split == "all" else {"side": split, "test_size": test_size, "seed": seed},
        "sample": {"questions": n or None, "seed": seed},
    }
    answers = list(ds["answers"]) if "answers" in ds.column_names else None
    return Tuning(list(ds["question"]), list(ds["context"]), about, answers)


def run(args: argparse.Namespace) -> int:
    """Fit the weights, write the pipeline and print a JSON summary."""
    from lc_klue.errors import RetrievalError
    from lc_klue.storage import refuse_existing

    check_index_dir(args.index)
    if args.output:
        refuse_existing(args.output, "pipeline file", args.overwrite)
    elif args.embedding_model:
        raise RetrievalError("--embedding-model is for --output; an index keeps its own models")
    from lc_klue.data import load_passages, mrc_documents
    from lc_klue.retrieval.index import pipeline_parts, saved_pipeline, tuning_gold_ids
    from lc_klue.retrieval.parts import PipelineParts
    from lc_klue.retrieval.saved_pipeline import (
        PIPELINE_FILE,
        SavedPipeline,
        base_spec,
        fit_pipeline,
        fusion_stage,
    )

    tune = tuning_questions(args.data, args.split, args.test_size, args.questions, args.seed)
    about = tune.about
    about["command"] = "lc-klue " + shlex.join(sys.argv[1:]) if sys.argv[1:] else None
    if args.index:
        saved = saved_pipeline(args.index)
        if saved is None:
            raise RetrievalError(f"{args.index}: this index has no saved pipeline to tune")
        parts = pipeline_parts(args.index, saved)
        target = Path(args.index) / PIPELINE_FILE
    else:
        corpus = load_passages(args.corpus or args.data)
        saved = SavedPipeline(spec=base_spec(embedding_model=args.embedding_model))
        parts = PipelineParts(mrc_documents(corpus), show_progress=args.show_progress)
        about["corpus"] = Path(args.corpus or args.data).name
        target = args.output
    parts.show_progress = args.show_progress
    questions, gold = tuning_gold_ids(tune, parts.documents)
    fitted = fit_pipeline(saved, parts, questions, gold, about)
    fitted.save(target)
    stage = fitted.spec.stages[fusion_stage(fitted.spec)]
    print(
        json.dumps(
            {
                "written": str(target),
                "weights": getattr(stage, "weights", None),
                **{k: v for k, v in fitted.fitted.items() if k != "command"},
            },
            ensure_ascii=False,
        )
    )
    return 0
