"""``lc-klue index``: build and save dense and BM25 indexes (FAISS and bm25s files, or a Qdrant
collection) from MRC-format data."""

from __future__ import annotations

import argparse
import json

from lc_klue.commands import (
    add_no_progress,
    add_overwrite,
    add_speed,
    check_model_flags,
    positive_int,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``index`` subcommand."""
    p = sub.add_parser(
        "index",
        help="build FAISS and/or Korean BM25 indexes of the passages of MRC-format data",
        description="Index the distinct passages (contexts) of MRC-format data: SQuAD-style "
        "JSON (KLUE MRC, KorQuAD) or JSONL/parquet/CSV with question and context columns.",
    )
    p.add_argument("data", help="MRC-format file, a passage file, or 'klue' (hub, needs network)")
    p.add_argument("output_dir", help="directory to write (atomically; see --overwrite)")
    p.add_argument(
        "--embedding-model",
        "-m",
        default=None,
        help="sentence-transformers model (directory or hub id); needed for dense",
    )
    p.add_argument(
        "--kinds", default="dense,bm25", help="comma-separated: dense, bm25 (default: dense,bm25)"
    )
    p.add_argument(
        "--index-type",
        choices=["flat", "hnsw", "ivf"],
        default="flat",
        help="FAISS index type (default: flat = exact search)",
    )
    p.add_argument(
        "--store",
        default="faiss",
        metavar="faiss|qdrant[:PATH|URL]",
        help="where the passages and vectors go: faiss (files in OUTPUT_DIR, the default), "
        "qdrant (an embedded Qdrant in OUTPUT_DIR), qdrant:PATH (an embedded Qdrant directory) "
        "or qdrant:URL (a Qdrant server or cluster; API key from $QDRANT_API_KEY)",
    )
    p.add_argument(
        "--collection", default="lc_klue", help="Qdrant collection name (default: lc_klue)"
    )
    p.add_argument("--nlist", type=int, default=None, help="IVF lists (default ~4*sqrt(n))")
    p.add_argument("--hnsw-m", type=int, default=32, help="HNSW graph degree (default 32)")
    p.add_argument(
        "--split", default="validation", help="hub split for 'klue' (default: validation)"
    )
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per encoding batch")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes embedding the passages on the CPU (default 1; more helps models "
        "whose tokenisation is the slow part, such as kiwi:static)",
    )
    add_speed(p, rerank=False)
    add_overwrite(p, "OUTPUT_DIR")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the indexes and print a JSON summary."""
    from lc_klue.errors import RetrievalError
    from lc_klue.storage import refuse_existing

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if "dense" in kinds and not args.embedding_model:
        raise RetrievalError("--embedding-model is required for a dense index (or --kinds bm25)")
    check_model_flags(args, embedding_model="embedding model")
    refuse_existing(args.output_dir, "index directory", args.overwrite, marker="manifest.json")

    from lc_klue.data import load_mrc
    from lc_klue.data.io import is_local
    from lc_klue.retrieval import build_index

    data = args.data if is_local(args.data) else load_mrc(args.data, args.split)
    params = {"hnsw_m": args.hnsw_m}
    if args.nlist is not None:
        params["nlist"] = args.nlist
    manifest = build_index(
        data,
        args.output_dir,
        args.embedding_model,
        kinds=kinds,
        index_type=args.index_type,
        device=args.device,
        batch_size=args.batch_size,
        store=args.store,
        collection=args.collection,
        backend=args.backend,
        workers=args.workers,
        **params,
    )
    print(json.dumps({"output_dir": args.output_dir, **manifest}, ensure_ascii=False))
    return 0
