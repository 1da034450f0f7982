"""The ``lc-klue`` console script. Each subcommand lives in ``lc_klue.commands.<name>``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from lc_klue.commands import check_input_files
from lc_klue.errors import LcKlueError

# Order of the story: data → training → indexes (tuned) → chat → evaluation, and the demo.
COMMANDS = (
    "data",
    "train",
    "index",
    "tune",
    "chat",
    "evaluate",
    "benchmark",
    "benchmark-scale",
    "demo",
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``lc-klue CMD: error: ...``."""

    def error(self, message: str) -> NoReturn:
        """Print the problem in one line (with a pointer to ``--help``) and exit with 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = Parser(
        prog="lc-klue",
        description="Train Korean retrieval models on KLUE-style data and use them in LangChain.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        path = f"lc_klue.commands.{name.replace('-', '_')}"
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as e:
            if e.name == path:
                continue  # command not part of this build
            raise
        module.register(sub)
    return parser


def close_progress_bars() -> None:
    """Close every open tqdm bar (each ends its line), so what is printed next starts on its
    own line and is not drawn over when the bars would close at exit."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def quiet_libraries() -> None:
    """The model libraries log errors only (``-v`` shows their warnings): transformers through
    the variable it reads when first imported (so nothing heavy is imported here), and
    sentence-transformers' logger ("Converting ... to CrossEncoder")."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status: a :class:`LcKlueError` or a bad argument prints
    one clear line and gives 2; Ctrl-C prints "interrupted" on its own line and gives 130.
    ``--no-progress`` hides every progress bar, and the model libraries' warnings unless
    ``-v`` (:func:`lc_klue.runtime.quiet_output`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        return e.code if isinstance(e.code, int) else 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # the model libraries' notices (LOAD REPORT tables, optional packages)
        quiet_libraries()
    quiet: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if getattr(args, "show_progress", True) is False:
        from lc_klue.runtime import quiet_output

        quiet = quiet_output(library_warnings=not args.verbose)
    try:
        with quiet:
            check_input_files(args)  # a missing data file before anything is loaded
            return int(args.func(args) or 0)
    except LcKlueError as e:
        close_progress_bars()
        print(f"lc-klue {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        close_progress_bars()
        print(f"lc-klue {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
