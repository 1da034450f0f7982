"""``lc-klue data``: load a data set from the hub or a local file and print its size."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` subcommand."""
    p = sub.add_parser("data", help="load an STS or MRC data set and print its size")
    p.add_argument("kind", choices=["sts", "mrc"], help="data set type")
    p.add_argument(
        "source",
        nargs="?",
        default="klue",
        help="'klue' (hub, needs network) or a local file (default: klue)",
    )
    p.add_argument("--hub-split", default="train", help="hub split (default: train)")
    p.add_argument(
        "--title-split",
        type=float,
        default=None,
        metavar="FRACTION",
        help="MRC: also report a split by title with this test fraction",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the split (default 42)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load and describe the data set."""
    from lc_klue.data import load_mrc, load_sts, split_by_title, split_sts

    if args.kind == "sts":
        ds = load_sts(args.source, args.hub_split)
        parts = split_sts(ds, seed=args.seed)
        info = {"rows": len(ds), **{k: len(v) for k, v in parts.items()}}
    else:
        ds = load_mrc(args.source, args.hub_split)
        info = {
            "questions": len(ds),
            "contexts": len(set(ds["context"])),
            "titles": len(set(ds["title"])),
        }
        if args.title_split:
            parts = split_by_title(ds, args.title_split, seed=args.seed)
            info |= {f"{k}_questions": len(v) for k, v in parts.items()}
    print(json.dumps(info, ensure_ascii=False))
    return 0
