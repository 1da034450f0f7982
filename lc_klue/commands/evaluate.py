"""``lc-klue evaluate``: hit@k, MRR, nDCG and latency of a retriever on any MRC-format file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lc_klue.commands import (
    K_RULE,
    add_device,
    add_no_check,
    add_no_progress,
    add_overwrite,
    add_questions,
    add_speed,
    check_index_dir,
    check_model_flags,
    int_list,
    non_negative_int,
    positive_int,
    speed_options,
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
            "--retriever."
        ),
    )
    add_questions(p, "passage file that becomes the search space")
    p.add_argument("--index", type=Path, help="index directory from `lc-klue index`")
    p.add_argument(
        "--retriever",
        choices=["pipeline", "bm25", "dense", "hybrid"],
        help="pipeline (the index's saved one, or the default: BM25 top 30 + lexical fusion) "
        "or a first stage alone (default: pipeline; hybrid with --embedding-model)",
    )
    p.add_argument("--embedding-model", help="bi-encoder for dense/hybrid (directory or hub id)")
    p.add_argument("--cross-encoder", help="rerank the first stage's --k candidates to --top-n")
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
    p.add_argument(
        "--k",
        type=positive_int,
        default=30,
        help=f"first-stage candidates with a reranker (default 30; {K_RULE})",
    )
    p.add_argument(
        "--top-n",
        type=positive_int,
        default=10,
        help=f"passages returned per question (default 10; {K_RULE})",
    )
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
    add_speed(p)
    add_no_check(p, "--cross-encoder", "the passages searched (the index's, or the data's)")
    add_overwrite(p, "--output")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the arguments, build or load the retriever, evaluate it and print a table."""
    _check_args(args)
    from lc_klue.data import load_mrc, load_passages, split_by_title
    from lc_klue.evaluation import EvalSettings, build_eval_set, evaluate

    data = load_mrc(args.data)
    corpus = load_passages(args.corpus) if args.corpus else None
    if args.split != "all":  # one side's questions; the search space stays every passage
        if corpus is None and args.protocol == "full":
            corpus = load_passages(args.data)
        data = split_by_title(data, args.test_size, seed=args.seed)[args.split]
    es = build_eval_set(data, args.protocol, args.questions or None, seed=args.seed, corpus=corpus)
    retriever, name, saved = _index_retriever(args) if args.index else _built_retriever(args, es)
    settings = EvalSettings(
        ks=args.ks,
        batch_size=max(args.batch_size, 256),
        latency_queries=args.latency_queries,
        show_progress=args.show_progress,
    )
    result = evaluate(retriever, es, name=name, settings=settings)
    tuned_on = saved.tuned_on(es.questions) if saved is not None else 0
    _report(args, data, es, retriever, result, tuned_on)
    return 0


def _check_args(args: argparse.Namespace) -> None:
    """Every problem the arguments show before any data is read or model library imported
    (the data files are checked by their argparse type): model paths, the index directory,
    a first stage that needs a model, an existing ``--output``."""
    from lc_klue.storage import refuse_existing

    check_model_flags(args, embedding_model="embedding model", cross_encoder="cross-encoder")
    check_index_dir(args.index)
    if not args.index and args.retriever in ("dense", "hybrid") and not args.embedding_model:
        raise DataError(f"--retriever {args.retriever} needs --embedding-model")
    if args.output:
        refuse_existing(args.output, "result file", args.overwrite)


def _index_retriever(args: argparse.Namespace) -> tuple[Any, str, Any]:
    """The retriever of ``--index`` (its saved pipeline, or the first stage asked for), its
    name and the saved pipeline it serves (None for a first stage)."""
    from lc_klue.retrieval.index import (
        checked_reranker,
        load_pipeline,
        load_retriever,
        saved_pipeline,
    )

    reranker = checked_reranker(  # checked on the index's passages, as `lc-klue chat` does
        args.index,
        args.cross_encoder,
        device=args.device,
        backend=args.backend,
        max_length=None,
        check=args.check,
    )
    speed = speed_options(args)
    kind = args.retriever or "pipeline"
    saved = saved_pipeline(args.index) if kind == "pipeline" else None
    name = f"{args.index}{' + cross-encoder' if reranker is not None else ''}"
    # --rerank-window / --cascade-margin / --backend shape the explicit retriever path
    if args.retriever == "pipeline" or (
        saved is not None and not args.embedding_model and not speed
    ):
        if saved is None:
            raise DataError(f"{args.index}: this index has no saved pipeline")
        retriever = load_pipeline(
            args.index,
            k=args.k,
            top_n=args.top_n,
            device=args.device,
            cross_encoder=reranker,
            check=False,
        )
        return retriever, name, saved
    retriever = load_retriever(
        args.index,
        args.retriever,
        embedding_model=args.embedding_model,
        reranker=reranker,
        k=args.k if reranker is not None else args.top_n,
        top_n=args.top_n,
        device=args.device,
        **speed,
    )
    return retriever, name, None


def _built_retriever(args: argparse.Namespace, es: Any) -> tuple[Any, str, Any]:
    """The retriever built over the evaluation set's passages (the default pipeline, or
    ``--retriever``'s first stage and the reranker), its name and its saved pipeline (None
    for a first stage)."""
    from lc_klue.retrieval.index import check_index_model
    from lc_klue.retrieval.model_check import admits
    from lc_klue.retrieval.pipeline import PipelineParts, PipelineSpec, build_pipeline
    from lc_klue.retrieval.saved_pipeline import add_models, default_pipeline

    reranker = args.cross_encoder
    parts = PipelineParts(
        es.documents(), device=args.device, batch_size=args.batch_size, backend=args.backend
    )
    # checked on the passages searched; the check loads the model through parts, for reuse
    if (
        reranker
        and args.check
        and not admits(check_index_model(parts, default_pipeline(), reranker))
    ):
        reranker = None
    kind = args.retriever or ("hybrid" if args.embedding_model else "pipeline")
    if kind == "pipeline":
        saved = add_models(default_pipeline(), cross_encoder=reranker)
        retriever = build_pipeline(saved.sized(args.k, args.top_n), parts)
        return retriever, "default pipeline" + (" + cross-encoder" if reranker else ""), saved
    rerank = {
        "kind": "rerank",
        "cross_encoder": reranker,
        "window": args.rerank_window,
        "cascade_margin": args.cascade_margin,
    }
    spec = PipelineSpec.checked(
        first_stage={"kind": kind, "embedding_model": args.embedding_model},
        stages=[rerank] if reranker else [],
        k=args.k if reranker else args.top_n,
        top_n=args.top_n,
    )
    return build_pipeline(spec, parts), f"{kind}{' + cross-encoder' if reranker else ''}", None


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
