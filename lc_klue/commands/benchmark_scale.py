"""``lc-klue benchmark-scale``: how FAISS, Kiwi BM25 and embedded Qdrant grow with the corpus
(build time, memory, disk, latency, recall@10), on synthetic passages made from a real MRC
file's morphemes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lc_klue.commands import (
    add_input_files,
    add_no_progress,
    add_overwrite,
    from_args,
    int_list,
    positive_int,
    recall_target,
)

#: The stores measured by default (each name is checked by
#: :func:`lc_klue.bench.scale.run.check_run`).
DEFAULT_STORES = "faiss-flat,faiss-hnsw,faiss-ivf,bm25s,qdrant-dense,qdrant-bm25"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``benchmark-scale`` subcommand."""
    p = sub.add_parser(
        "benchmark-scale",
        help="measure how the stores grow with the corpus (time, memory, disk, latency, recall)",
        description="Build each store over synthetic Korean passages (morphemes of DATA's "
        "passages, never its text) at each size, in its own process, and measure build time, "
        "peak memory, size on disk, single-query latency and recall@10 against exact search. "
        "A store projected to exceed --budget-s or --memory-gb at the next size stops there.",
    )
    p.add_argument("data", type=Path, help="MRC file whose passages' morphemes seed the corpus")
    add_input_files(p, "data")
    p.add_argument(
        "--sizes",
        type=int_list("--sizes", "10000,100000"),
        default=[10_000, 100_000, 1_000_000],
        help="corpus sizes (default 10000,100000,1000000)",
    )
    p.add_argument(
        "--stores",
        default=DEFAULT_STORES,
        help=f"default: {DEFAULT_STORES}; also qdrant-edge-dense, qdrant-edge-bm25 (the Qdrant "
        "engine in process: pip install qdrant-edge-py), and kiwi-bm25, kiwi-bm25-word (Kiwi "
        "BM25 over text of real sentences, analysis included, in context or word analysis)",
    )
    p.add_argument("--dimension", type=positive_int, default=128, help="dense vector size")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="threads each measurement may use (FAISS, BLAS; default 1); Kiwi uses every core",
    )
    p.add_argument(
        "--hnsw-m",
        type=positive_int,
        default=64,
        help="FAISS HNSW neighbours per node (default 64, as lc-klue index builds)",
    )
    p.add_argument(
        "--questions",
        dest="queries",
        type=positive_int,
        default=200,
        help="questions for recall@10",
    )
    p.add_argument(
        "--latency-queries", type=positive_int, default=100, help="single-query timings per store"
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=300.0,
        help="stop a store whose next build is projected to take longer (default 300)",
    )
    p.add_argument(
        "--memory-gb",
        type=float,
        default=8.0,
        help="stop a store projected to hold more memory (default 8)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic passages")
    p.add_argument(
        "--recall",
        type=recall_target,
        default=0.95,
        help="faiss-hnsw, faiss-ivf, qdrant-edge-dense: search at the cheapest efSearch/nprobe/"
        "hnsw_ef whose recall@10 against exact search reaches this on held-out questions "
        "(as many as --questions; default 0.95; in (0, 1])",
    )
    p.add_argument(
        "--output-dir",
        type=Path,
        default=Path("results"),
        help="default: results (see --overwrite)",
    )
    p.add_argument("--name", default="scale", help="output file stem (default: scale)")
    p.add_argument("--work-dir", type=Path, help="scratch directory (default: a temporary one)")
    add_overwrite(p, "OUTPUT_DIR/NAME.*")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the measurements, print each row as it comes and the table, write JSON/MD/PNG."""
    from lc_klue.bench.report import report_paths
    from lc_klue.bench.scale.measure import Measurement
    from lc_klue.bench.scale.report import markdown, plot
    from lc_klue.bench.scale.run import ScaleSettings, check_run
    from lc_klue.bench.scale.run import run as run_scale
    from lc_klue.evaluation.report import write_json
    from lc_klue.storage import atomic_write_text, refuse_existing

    stores = [x.strip() for x in args.stores.split(",") if x.strip()]
    check_run(args.sizes, stores)
    paths = report_paths(args.output_dir, args.name)
    for path in paths.values():  # before the long run
        refuse_existing(path, "scale report", args.overwrite)

    def show(m: Measurement) -> None:
        if args.show_progress:
            print(
                f"{m.store} {m.passages:,}: build {m.build_s:.1f} s, p50 {m.query_p50_ms:.2f} ms",
                file=sys.stderr,
                flush=True,
            )

    settings = from_args(ScaleSettings, args, sizes=list(args.sizes), stores=stores)
    report = run_scale(args.data, settings, work_dir=args.work_dir, on_result=show)
    write_json(report, paths["json"])
    table = markdown(report)
    atomic_write_text(paths["md"], table)
    plot(report, paths["png"])
    print(json.dumps({"output": str(paths["json"]), "rows": len(report["rows"])}))
    print(table, end="")
    return 0
