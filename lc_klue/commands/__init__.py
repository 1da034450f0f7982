"""Subcommands of the ``lc-klue`` CLI; each module has ``register(subparsers)``.

Shared here, so every command treats its arguments the same way: count types, the rule for k,
input files, questions, model paths and index directories checked before any work (and before
any model library is imported), ``--overwrite``, and filling a settings dataclass from flags
named like its fields.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: How every command treats a k larger than the corpus (said in each ``--k`` help).
K_RULE = "more than the corpus holds returns all of it"


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``, else one clear message."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def recall_target(text: str) -> float:
    """An argparse type: a recall@10 target in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a recall target lies in (0, 1], got {text!r}")
    return value


def add_input_files(p: argparse.ArgumentParser, *dests: str, folders: bool = False) -> None:
    """Declare the flags (by ``dest``) that name input data: the CLI checks them with
    :func:`check_input_files` before the command runs (``folders``: a folder is input too)."""
    p.set_defaults(input_files=(*(p.get_default("input_files") or ()), *dests))
    if folders:
        p.set_defaults(input_folders=(*(p.get_default("input_folders") or ()), *dests))


def check_input_files(args: argparse.Namespace) -> None:
    """Fail at once when a declared input (:func:`add_input_files`; a value, or each of a
    list) is a local file that is not there, before any data is read or model library
    imported. Hub data set names (``klue``) pass: local is :func:`lc_klue.runtime.is_local`,
    the rule of ``lc_klue.data``, whose words the :class:`~lc_klue.errors.DataError` uses."""
    from lc_klue.errors import DataError
    from lc_klue.runtime import is_local

    for dest in getattr(args, "input_files", ()):
        value = getattr(args, dest, None)
        for source in value if isinstance(value, list | tuple) else [value]:
            if source is None or not is_local(source):
                continue
            path = Path(source).expanduser()
            if not path.exists():
                raise DataError(f"{path}: file not found")
            if not path.is_file() and not (
                dest in getattr(args, "input_folders", ()) and path.is_dir()
            ):
                raise DataError(f"{path}: not a file")


def non_empty(what: str) -> Callable[[str], str]:
    """An argparse type: text that is not empty or white space (``what`` names it)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"empty {what}")
        return text

    parse.__name__ = f"non_empty_{what.replace(' ', '_')}"
    return parse


def int_list(flag: str, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated integers (``1,5,10``), else one clear message."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            return tuple(int(x.replace("_", "")) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} must be integers like {example}, got {text!r}"
            ) from None

    parse.__name__ = f"int_list_{flag.strip('-')}"
    return parse


def available_device(text: str) -> str:
    """An argparse type: a device this machine has (``cpu``, ``cuda``, ``cuda:N``, ``mps``),
    checked when the flags are read, before any data or model loads; else one clear message
    (:func:`lc_klue.runtime.device_problem`)."""
    from lc_klue.runtime import device_problem

    problem = device_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device``: where the models run (:func:`available_device`); the one definition
    every command and example script uses."""
    p.add_argument(
        "--device",
        type=available_device,
        default=None,
        help="cpu, cuda, cuda:N or mps (default: the best available)",
    )


def from_args(cls: Callable[..., T], args: argparse.Namespace, **overrides: Any) -> T:
    """An instance of dataclass ``cls`` from the flags whose ``dest`` is one of its fields."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    given = {k: v for k, v in vars(args).items() if k in names}
    return cls(**(given | overrides))


def check_model_flags(args: argparse.Namespace, **kinds: str) -> None:
    """Fail at once when a model flag (``dest=kind``) names a local path that is not there:
    before any model library is imported or any data is read
    (:func:`lc_klue.runtime.local_model_dir`)."""
    from lc_klue.runtime import local_model_dir

    for dest, kind in kinds.items():
        value = getattr(args, dest, None)
        if value is not None:
            local_model_dir(value, kind)


def check_index_dir(path: str | Path | None) -> None:
    """Fail at once when an index directory (``lc-klue index``'s output) is not there, before
    the retrieval stack is imported (``lc_klue.retrieval.index.read_manifest`` words it so)."""
    from lc_klue.errors import RetrievalError

    if path is not None and not Path(path).expanduser().is_dir():
        raise RetrievalError(f"{Path(path).expanduser()}: index directory not found")


def add_overwrite(p: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: replace a finished output (``what``) instead of refusing to."""
    p.add_argument("--overwrite", action="store_true", help=f"replace {what} if it already exists")


def add_questions(p: argparse.ArgumentParser, corpus_help: str) -> None:
    """The question file (``data``) and the passage file that is the search space
    (``--corpus``)."""
    p.add_argument(
        "data",
        type=Path,
        help="questions with their gold passages (MRC format: SQuAD-style "
        "JSON, or JSONL/parquet/CSV with question and context)",
    )
    p.add_argument("--corpus", type=Path, help=corpus_help)
    add_input_files(p, "data", "corpus")


def add_no_progress(p: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bar at all, ours or the libraries' (dest
    ``show_progress``)."""
    p.add_argument(
        "--no-progress",
        dest="show_progress",
        action="store_false",
        help="hide every progress bar (also the model libraries')",
    )


def add_backend(p: argparse.ArgumentParser) -> None:
    """``--backend``: the models' inference backend."""
    p.add_argument(
        "--backend",
        choices=["torch", "onnx", "int8"],
        default=None,
        help="model inference: torch (default; fp16/bf16 on a GPU), or on the CPU onnx "
        "(ONNX Runtime) or int8 (ONNX Runtime, int8 quantised)",
    )


def add_retrieval(p: argparse.ArgumentParser, top_n: int, where: str) -> None:
    """The flags that shape the retriever of ``chat`` and ``evaluate`` alike: ``--first-stage``,
    ``--embedding-model``, ``--k``, ``--top-n``, ``--backend`` and the cross-encoder's
    (:func:`index_overrides`); ``where`` names the passages a cross-encoder is checked on."""
    p.add_argument(
        "--first-stage",
        choices=["dense", "bm25", "hybrid"],
        default=None,
        help="serve this first stage alone instead of the pipeline (default: the pipeline; "
        "an index without one serves hybrid when it has both indexes)",
    )
    p.add_argument(
        "--embedding-model",
        "-m",
        default=None,
        help="bi-encoder of the dense first stage (directory or hub id; with an index: the "
        "one it was built with, by default)",
    )
    p.add_argument(
        "--k", type=positive_int, default=30, help=f"first-stage candidates (default 30; {K_RULE})"
    )
    p.add_argument(
        "--top-n",
        type=positive_int,
        default=top_n,
        help=f"passages returned (default {top_n}; {K_RULE})",
    )
    add_reranking(p, where)
    add_backend(p)


def add_reranking(p: argparse.ArgumentParser, where: str) -> None:
    """``--cross-encoder`` and how it reranks: ``--rerank-fusion``, ``--rerank-window``,
    ``--cascade-margin``, ``--no-check`` (its quick check on ``where``)."""
    p.add_argument(
        "--cross-encoder",
        default=None,
        metavar="PATH",
        help="cross-encoder (directory or hub id) reranking the last stage's --k candidates "
        "to --top-n",
    )
    p.add_argument(
        "--rerank-fusion",
        choices=["none", "rrf"],
        default=None,
        help="fuse the cross-encoder's rank with the previous stage's (default: rrf after the "
        "pipeline, none after --first-stage)",
    )
    p.add_argument(
        "--rerank-window",
        type=positive_int,
        default=None,
        metavar="TOKENS",
        help="the cross-encoder reads each passage's best window of TOKENS tokens (lexical "
        "coverage of the question) instead of its start",
    )
    p.add_argument(
        "--cascade-margin",
        type=float,
        default=None,
        help="skip reranking when the first stage's top-1 score leads its top-2 by this much",
    )
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help=f"use --cross-encoder without its quick check on {where} (by default one near "
        "chance is left out, with a warning)",
    )


def open_index_from(args: argparse.Namespace, index_dir: str | Path) -> Any:
    """:func:`~lc_klue.retrieval.index.open_index` of ``index_dir`` with the
    :func:`add_retrieval` flags as its overrides."""
    from lc_klue.retrieval.index import open_index

    return open_index(
        index_dir,
        index_overrides(args),
        device=args.device,
        backend=args.backend,
        batch_size=getattr(args, "batch_size", 64),
        check=args.check,
    )


def index_overrides(args: argparse.Namespace) -> Any:
    """The :func:`add_retrieval` flags as an :class:`~lc_klue.retrieval.index.IndexOverrides`."""
    from lc_klue.retrieval.index import IndexOverrides

    return from_args(IndexOverrides, args)
