"""``lc-klue evaluate``: hit@k, MRR, nDCG and latency of a retriever on any MRC-format file."""

from __future__ import annotations

import argparse
from pathlib import Path

from lc_klue.commands import (
    K_RULE,
    add_no_progress,
    add_questions,
    int_list,
    non_negative_int,
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
            "`lc-klue index` (--index) or one built here over the search space (--retriever)."
        ),
    )
    add_questions(p, "passage file that becomes the search space")
    p.add_argument("--index", type=Path, help="index directory from `lc-klue index`")
    p.add_argument(
        "--retriever",
        choices=["bm25", "dense", "hybrid"],
        help="first stage (default: hybrid with --embedding-model, else bm25)",
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
        "--questions", type=non_negative_int, default=1000, help="sampled questions (0 = all)"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--k",
        type=positive_int,
        default=30,
        help=f"first-stage candidates with a reranker (default 30; {K_RULE})",
    )
    p.add_argument("--top-n", type=positive_int, default=10, help="passages returned per question")
    p.add_argument("--ks", type=_ks, default=(1, 5, 10), help="hit@k cut-offs (default: 1,5,10)")
    p.add_argument(
        "--latency-queries", type=non_negative_int, default=100, help="single-query timings"
    )
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    p.add_argument("--output", type=Path, help="write the result as JSON here")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build or load the retriever, evaluate it and print a table."""
    from lc_klue.data import load_mrc, load_passages
    from lc_klue.evaluation.evaluator import build_eval_set, evaluate
    from lc_klue.evaluation.report import COLUMNS, markdown_table, result_row, write_json
    from lc_klue.retrieval.index import load_retriever
    from lc_klue.retrieval.pipeline import PipelineParts, PipelineSpec, build_pipeline

    data = load_mrc(args.data)
    corpus = load_passages(args.corpus) if args.corpus else None
    es = build_eval_set(data, args.protocol, args.questions or None, seed=args.seed, corpus=corpus)
    reranker = args.cross_encoder
    k = args.k if reranker else args.top_n
    kind = args.retriever or ("hybrid" if args.embedding_model else "bm25")
    name = f"{args.index or kind}{' + cross-encoder' if reranker else ''}"
    if args.index:
        retriever = load_retriever(
            args.index,
            args.retriever,
            embedding_model=args.embedding_model,
            reranker=reranker,
            k=k,
            top_n=args.top_n,
            device=args.device,
        )
    else:
        if kind != "bm25" and not args.embedding_model:
            raise DataError(f"--retriever {kind} needs --embedding-model")
        spec = PipelineSpec.checked(
            first_stage={"kind": kind, "embedding_model": args.embedding_model},
            stages=[{"kind": "rerank", "cross_encoder": reranker}] if reranker else [],
            k=k,
            top_n=args.top_n,
        )
        parts = PipelineParts(es.documents(), device=args.device, batch_size=args.batch_size)
        retriever = build_pipeline(spec, parts)
    result = evaluate(
        retriever,
        es,
        ks=args.ks,
        batch_size=max(args.batch_size, 256),
        latency_queries=args.latency_queries,
        name=name,
        show_progress=args.show_progress,
    )
    print(
        f"{es.describe()['questions']} questions, {len(es.passages)} passages "
        f"(protocol {es.protocol})"
    )
    row = result_row(result.to_dict())
    print(markdown_table([row]), end="")
    shown = {key for _, key, _ in COLUMNS}
    extra = {k: v for k, v in row.items() if k.startswith("hit@") and k not in shown}
    if extra:
        print(", ".join(f"{k} {v:.3f}" for k, v in extra.items()))
    for w in result.warnings:
        print(f"warning: {w}")
    if args.output:
        write_json({"eval_set": es.describe(), "result": result.to_dict()}, args.output)
        print(f"wrote {args.output}")
    return 0
