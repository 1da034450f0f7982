"""``lc-klue demo``: the whole method offline on the bundled Korean news corpus."""

from __future__ import annotations

import argparse

from lc_klue.commands import add_no_progress, non_negative_int


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="offline demo: train tiny models on bundled news, answer questions, print hit rates",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="where models, indexes and results go (default ~/.cache/lc-klue/demo)",
    )
    p.add_argument("--retrain", action="store_true", help="train the models again")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: tiny models, one epoch per stage"
    )
    p.add_argument("--answers", type=non_negative_int, default=3, help="sample questions to answer")
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from lc_klue.demo import run_demo

    run_demo(
        args.cache_dir,
        retrain=args.retrain,
        quick=args.quick,
        n_answers=args.answers,
        show_progress=args.show_progress,
    )
    return 0
