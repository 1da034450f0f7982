"""``lc-klue evaluate``: hit@k, MRR, nDCG and latency of a retriever on any MRC-format file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lc_klue.commands import (
    add_device,
    add_no_progress,
    add_overwrite,
    add_questions,
    add_retrieval,
    check_index_dir,
    check_model_flags,
    index_overrides,
    int_list,
    non_negative_int,
    open_index_from,
    positive_int,
)
from lc_klue.errors import DataError

_ks = int_list("--ks", "1,5,10")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    p = sub.add_parser(
        "evaluate",
        help="measure a retriever on question/passage data (hit@k, MRR, nDCG, latency)",
        description=(
            "Evaluate a retriever on an MRC-format file (SQuAD-style JSON, or JSONL/parquet/CSV "
            "with question and context columns). The search space is --corpus (one passage per "
            "row: context, optional id/title; it must contain every question's passage) or, "
            "without it, the data's distinct passages. The retriever is an index built with "
            "`lc-klue index` (--index: its saved pipeline) or one built here over the search "
            "space: by default lc-klue's default pipeline (BM25 top 30 + lexical fusion), or "
            "--first-stage alone."
        ),
    )
    add_questions(p, "passage file that becomes the search space")
    p.add_argument("--index", type=Path, help="index directory from `lc-klue index`")
    p.add_argument(
        "--protocol",
        choices=["full", "book"],
        default="full",
        help="full: search the whole corpus; book: only the sampled questions' own passages",
    )
    p.add_argument(
        "--split",
        choices=["all", "train", "test"],
        default="all",
        help="which questions: all, or one side of the title split that 'lc-klue train' "
        "uses (same --test-size and --seed), e.g. test to score only titles a model trained "
        "on this file never saw; the search space stays every passage (default: all)",
    )
    p.add_argument(
        "--test-size",
        type=float,
        default=0.3,
        help="fraction of titles in the test side of --split (default 0.3)",
    )
    p.add_argument(
        "--questions", type=non_negative_int, default=1000, help="sampled questions (0 = all)"
    )
    p.add_argument("--seed", type=int, default=42, help="seed of --split and the sample")
    add_retrieval(p, 10, "the passages searched (the index's, or the data's)")
    p.add_argument("--ks", type=_ks, default=(1, 5, 10), help="hit@k cut-offs (default: 1,5,10)")
    p.add_argument(
        "--latency-queries", type=non_negative_int, default=100, help="single-query timings"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=64, help="texts per model batch (default 64)"
    )
    add_device(p)
    p.add_argument(
        "--answers",
        action="store_true",
        help="also score the offline extractive answer: the share of questions whose answer "
        "sentence contains a gold answer",
    )
    p.add_argument("--output", type=Path, help="write the result as JSON here")
    add_overwrite(p, "--output")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the arguments, build or load the retriever, evaluate it and print a table."""
    _check_args(args)
    data, es = _eval_set(args)
    retriever, name, saved = _index_retriever(args) if args.index else _built_retriever(args, es)
    result = _evaluate(args, es, retriever, name)
    tuned_on = saved.tuned_on(es.questions) if saved is not None else 0
    _report(args, data, es, retriever, result, tuned_on)
    return 0


def _eval_set(args: argparse.Namespace) -> tuple[Any, Any]:
    """The questions (one side of the title split with ``--split``) and the evaluation set."""
    from lc_klue.data import load_mrc, load_passages, split_by_title
    from lc_klue.evaluation import build_eval_set

    data = load_mrc(args.data)
    corpus = load_passages(args.corpus) if args.corpus else None
    if args.split != "all":  # one side's questions; the search space stays every passage
        if corpus is None and args.protocol == "full":
            corpus = load_passages(args.data)
        data = split_by_title(data, args.test_size, seed=args.seed)[args.split]
    es = build_eval_set(data, args.protocol, args.questions or None, seed=args.seed, corpus=corpus)
    return data, es


def _evaluate(args: argparse.Namespace, es: Any, retriever: Any, name: str) -> Any:
    """The evaluation of ``retriever`` on ``es`` (metrics and latency)."""
    from lc_klue.evaluation import EvalSettings, evaluate

    settings = EvalSettings(
        ks=args.ks,
        # a cross-encoder takes seconds a question on a CPU: smaller batches move the bar
        batch_size=args.batch_size if args.cross_encoder else max(args.batch_size, 256),
        latency_queries=args.latency_queries,
        show_progress=args.show_progress,
    )
    return evaluate(retriever, es, name=name, settings=settings)


def _check_args(args: argparse.Namespace) -> None:
    """Every problem the arguments show before any data is read or model library imported
    (the data files are checked by their argparse type): model paths, the index directory,
    a first stage that needs a model, an existing ``--output``."""
    from lc_klue.storage import refuse_existing

    check_model_flags(args, embedding_model="embedding model", cross_encoder="cross-encoder")
    check_index_dir(args.index)
    if not args.index and args.first_stage in ("dense", "hybrid") and not args.embedding_model:
        raise DataError(f"--first-stage {args.first_stage} needs --embedding-model")
    if args.output:
        refuse_existing(args.output, "result file", args.overwrite)


def _index_retriever(args: argparse.Namespace) -> tuple[Any, str, Any]:
    """The retriever of ``--index`` (:func:`~lc_klue.retrieval.index.open_index`: its saved
    pipeline with the flags' overrides), its name and the saved pipeline it serves (None for
    a first stage alone)."""
    from lc_klue.retrieval import RerankingRetriever
    from lc_klue.retrieval.index import saved_pipeline

    retriever = open_index_from(args, args.index)
    reranked = args.cross_encoder and isinstance(retriever, RerankingRetriever)
    saved = saved_pipeline(args.index) if args.first_stage is None else None
    return retriever, f"{args.index}{' + cross-encoder' if reranked else ''}", saved


def _built_retriever(args: argparse.Namespace, es: Any) -> tuple[Any, str, Any]:
    """The retriever built over the evaluation set's passages (the default pipeline, or
    ``--first-stage`` alone, with the flags' overrides), its name and its saved pipeline (None
    for a first stage)."""
    from lc_klue.retrieval import RerankingRetriever
    from lc_klue.retrieval.index import serve
    from lc_klue.retrieval.parts import PipelineParts
    from lc_klue.retrieval.pipeline import PipelineSpec
    from lc_klue.retrieval.saved_pipeline import default_pipeline

    parts = PipelineParts(
        es.documents(), device=args.device, batch_size=args.batch_size, backend=args.backend
    )
    kind = args.first_stage or ("hybrid" if args.embedding_model else None)
    saved = default_pipeline() if kind is None else None
    first = {"kind": kind, "embedding_model": args.embedding_model}
    spec = saved.spec if saved is not None else PipelineSpec.checked(first_stage=first)
    fs = default_pipeline().spec.first_stage  # its BM25 proposes the check's distractors
    checked_on = (parts.documents, parts.bm25(fs.k1, fs.b), (fs.k1, fs.b))
    retriever = serve(spec, parts, index_overrides(args), checked_on, check=args.check)
    reranked = args.cross_encoder and isinstance(retriever, RerankingRetriever)
    name = f"{kind or 'default pipeline'}{' + cross-encoder' if reranked else ''}"
    return retriever, name, saved


def _report(
    args: argparse.Namespace, data: Any, es: Any, retriever: Any, result: Any, tuned_on: int
) -> None:
    """Print the table, the extractive answers' score (``--answers``) and the warnings; write
    ``--output``."""
    from lc_klue.evaluation.report import COLUMNS, markdown_table, result_row, write_json

    split = "" if args.split == "all" else f", {args.split} titles of the title split"
    print(
        f"{es.describe()['questions']} questions{split}, {len(es.passages)} passages "
        f"(protocol {es.protocol})"
    )
    row = result_row(result.to_dict())
    print(markdown_table([row]), end="")
    shown = {key for _, key, _ in COLUMNS}
    extra = {k: v for k, v in row.items() if k.startswith("hit@") and k not in shown}
    if extra:
        print(", ".join(f"{k} {v:.3f}" for k, v in extra.items()))
    if tuned_on:
        result.warnings.append(
            f"{tuned_on} of the {len(es.questions)} questions are ones the pipeline's fusion "
            "weights were fitted on: score questions it never saw (e.g. --split test)"
        )
    answers = None
    if args.answers:
        answers = _answers(args, data, es, retriever)
        print(
            f"extractive answers: {answers['answer_contains_gold']:.3f} of the questions' "
            f"answer sentences contain the gold answer (their top-3 sources: "
            f"{answers['sources_contain_gold']:.3f})"
        )
        result.extra["answers"] = answers
    for w in result.warnings:
        print(f"warning: {w}")
    if args.output:
        described = es.describe()
        if args.split != "all":
            described["split"] = {
                "side": args.split,
                "test_size": args.test_size,
                "seed": args.seed,
            }
        write_json({"eval_set": described, "result": result.to_dict()}, args.output)
        print(f"wrote {args.output}")


def _answers(args: argparse.Namespace, data: Any, es: Any, retriever: Any) -> dict[str, Any]:
    """The extractive answer's share of answer sentences holding a gold answer."""
    from lc_klue.chain import ExtractiveAnswerer
    from lc_klue.data import sample_questions
    from lc_klue.evaluation.answers import evaluate_answers

    if "answers" not in data.column_names or not any(a["text"] for a in data["answers"]):
        raise DataError(f"{args.data}: no answers to judge the extractive answer by")
    sample = sample_questions(data, args.questions, seed=args.seed) if args.questions else data
    if list(sample["question"]) != es.questions:
        raise DataError("the answers' questions do not match the evaluated ones")
    golds = [list(a["text"]) for a in sample["answers"]]
    return evaluate_answers(
        retriever, ExtractiveAnswerer(), es.questions, golds, show_progress=args.show_progress
    )
