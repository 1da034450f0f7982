"""``lc-klue benchmark``: the book's configurations beside BM25, hybrid and fused pipelines."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lc_klue.bench.configs import CONFIGS, DEFAULT_CONFIGS, check_configs
from lc_klue.commands import (
    K_RULE,
    add_device,
    add_input_files,
    add_no_progress,
    add_overwrite,
    add_questions,
    check_model_flags,
    from_args,
    non_negative_int,
    positive_int,
)

if TYPE_CHECKING:
    from lc_klue.bench.settings import BenchmarkSettings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand."""
    p = sub.add_parser(
        "benchmark",
        help="compare retrieval pipelines on the same questions (quality and time)",
        description=(
            "Run the book's three configurations (STS bi-encoder, MRC bi-encoder, MRC + "
            "cross-encoder 30→10), BM25-Kiwi, hybrid, hybrid + cross-encoder and score fusion "
            "on the same test-title questions of an MRC file, in one process. Takes trained "
            "model paths; never trains. Writes OUTPUT_DIR/NAME.json, .md and .png."
        ),
    )
    add_questions(p, "passage file (default: the data's passages)")
    p.add_argument("--sts-model", help="STS-trained bi-encoder (directory or hub id)")
    p.add_argument("--mrc-model", help="MRC fine-tuned bi-encoder")
    p.add_argument("--cross-encoder", help="cross-encoder reranker")
    p.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated, from {','.join(CONFIGS)} (default: all but hybrid+ce-rrf)",
    )
    p.add_argument(
        "--paraphrase",
        type=Path,
        metavar="FILE",
        help="STS file (KorSTS TSV, KLUE STS JSON/CSV): also run every configuration on its "
        "paraphrase retrieval set (pairs scored >= 4: sentence 1 → sentence 2, among every "
        "distinct sentence 2), fusion weights not refitted",
    )
    p.add_argument(
        "--protocol",
        choices=["full", "book", "both"],
        default="full",
        help="full: all distinct passages; book: the questions' own passages (default: full)",
    )
    add_input_files(p, "paraphrase")
    _add_sizes(p)
    _add_speed_and_run(p)
    p.set_defaults(func=run)


def _add_sizes(p: argparse.ArgumentParser) -> None:
    """The question sample, the split, the pipeline sizes, fusion tuning and the row tag."""
    p.add_argument(
        "--questions",
        dest="n_questions",
        type=positive_int,
        default=1000,
        help="sampled test questions",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the split and samples")
    p.add_argument("--test-size", type=float, default=0.3, help="fraction of titles for test")
    p.add_argument(
        "--k", type=positive_int, default=30, help=f"first-stage candidates (default: 30; {K_RULE})"
    )
    p.add_argument(
        "--top-n", type=positive_int, default=10, help=f"passages returned (default: 10; {K_RULE})"
    )
    p.add_argument(
        "--ce-depth",
        type=positive_int,
        default=10,
        help="fused top passages the CE rescores (fusion-all)",
    )
    p.add_argument(
        "--tune-questions", type=positive_int, default=1000, help="train-title questions"
    )
    p.add_argument(
        "--dev-size",
        type=float,
        default=0.0,
        help="tune fusion weights on this share of the train titles, held out from training "
        "with the same `lc-klue train --dev-size` (default 0: on train-title questions)",
    )
    p.add_argument(
        "--tag", help="prefix of the ids of rows that use models (e.g. kiwi → kiwi-bm25+ce)"
    )


def _add_speed_and_run(p: argparse.ArgumentParser) -> None:
    """The reranking speed test, latency, the dense fusion feature, runtime and output."""
    p.add_argument(
        "--speed-queries", type=non_negative_int, default=50, help="reranking speed test size"
    )
    p.add_argument(
        "--speed-backend",
        choices=["auto", "int8", "onnx", "torch", "none"],
        default="auto",
        help="backend of the fast reranking variants of the speed test (CPU; default auto: "
        "int8 when onnxruntime is installed and the model can be exported, else torch only; "
        "torch or none: torch only)",
    )
    p.add_argument(
        "--speed-window",
        type=non_negative_int,
        default=128,
        help="passage tokens of the windowed variants of the speed test (0: none; default 128)",
    )
    p.add_argument(
        "--no-speed-cascade",
        dest="speed_cascade",
        action="store_false",
        help="leave the cascade (skip confident queries) out of the speed test",
    )
    p.add_argument(
        "--latency-queries", type=non_negative_int, default=50, help="single-query timings"
    )
    p.add_argument(
        "--fusion-dense",
        choices=["sts", "mrc"],
        default="sts",
        help="bi-encoder used as a fusion feature (default: sts, unseen MRC questions)",
    )
    p.add_argument(
        "--threads", type=positive_int, help="torch CPU threads (default: torch's choice)"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=64, help="texts per model batch (default 64)"
    )
    p.add_argument(
        "--max-length", type=int, help="cross-encoder max tokens (default: the model's own)"
    )
    add_device(p)
    p.add_argument("--output-dir", type=Path, default=Path("results"), help="default: results")
    p.add_argument("--name", default="benchmark", help="output file stem (default: benchmark)")
    add_overwrite(p, "OUTPUT_DIR/NAME.*")
    add_no_progress(p)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the reports and print the table."""
    from lc_klue.bench.report import report_paths
    from lc_klue.storage import refuse_existing

    check_model_flags(
        args, sts_model="STS model", mrc_model="MRC model", cross_encoder="cross-encoder"
    )
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    check_configs(configs, args.k, args.top_n, args.ce_depth, args.fusion_dense)
    for path in report_paths(args.output_dir, args.name).values():  # before the long run
        refuse_existing(path, "benchmark report", args.overwrite)

    from lc_klue.bench.report import benchmark_markdown, write_benchmark
    from lc_klue.bench.run import run_benchmark

    result = run_benchmark(_settings(args, configs))
    paths = write_benchmark(result, args.output_dir, args.name)
    print(benchmark_markdown(result))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _settings(args: argparse.Namespace, configs: list[str]) -> BenchmarkSettings:
    """The :class:`~lc_klue.bench.settings.BenchmarkSettings` of the flags."""
    from lc_klue.bench.settings import (
        BenchmarkSettings,
        DataSettings,
        GridSettings,
        ModelSettings,
        SpeedSettings,
    )

    protocols = ("full", "book") if args.protocol == "both" else (args.protocol,)
    return BenchmarkSettings(
        data=from_args(DataSettings, args, protocols=protocols),
        models=from_args(ModelSettings, args),
        grid=from_args(GridSettings, args, configs=configs),
        speed=SpeedSettings(
            queries=args.speed_queries,
            backend=None if args.speed_backend == "none" else args.speed_backend,
            window=args.speed_window or None,
            cascade=args.speed_cascade,
        ),
        show_progress=args.show_progress,
        extra={"command": "lc-klue " + shlex.join(sys.argv[1:])},
    )
