"""Training data: any data argument (hub name, local file or Dataset) as a checked Dataset, and
the MRC train/test parts shared by the MRC and cross-encoder stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from datasets import Dataset, DatasetDict

from lc_klue.data import (
    inverse_cloze_pairs,
    load_mrc,
    load_passages,
    split_by_title,
    split_dev,
    unique_contexts,
)
from lc_klue.errors import DataError
from training.args import TrainingArgs

#: A data argument: ``"klue"`` (the hub), a local file, or a Dataset.
DataSource: TypeAlias = str | Path | Dataset
MRC_NEEDED = ("title", "context", "question")


def as_dataset(
    source: DataSource,
    loader: Callable[[str | Path, str], Dataset],
    split: str,
    columns: Sequence[str],
    what: str,
) -> Dataset:
    """``source`` as a Dataset: a Dataset is checked for ``columns``; anything else is loaded."""
    ds = source if isinstance(source, Dataset) else loader(source, split)
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {', '.join(missing)}; found {', '.join(ds.column_names)}"
        )
    if len(ds) == 0:
        raise DataError(f"{what}: no rows")
    return ds


def describe_source(source: object) -> str:
    """How a data argument is named in reports: its path/hub name, or an in-memory Dataset."""
    return "in-memory Dataset" if isinstance(source, Dataset) else str(source)


PAIR_SOURCES = ("questions", "ict")


def mrc_splits(
    train_data: DataSource,
    test_data: DataSource | None = None,
    test_size: float = 0.3,
    seed: int = 42,
    dev_size: float = 0.0,
    pairs: str = "questions",
) -> DatasetDict:
    """``train``/``test`` MRC data: the given test set, KLUE validation for ``"klue"``, or a
    split of ``train_data`` by title (no article in both). With ``dev_size`` > 0 that share of
    the training titles is held out as ``dev`` (:func:`lc_klue.data.split_dev`) and not trained
    on, so fusion weights can later be tuned on it honestly.

    ``pairs="ict"`` needs no questions: ``train_data`` is any passage collection (a passage
    file, or an MRC file whose questions are ignored) and the questions are inverse-cloze
    sentences (:func:`lc_klue.data.inverse_cloze_pairs`)."""
    if pairs not in PAIR_SOURCES:
        raise DataError(f"unknown pairs {pairs!r}; choose from {', '.join(PAIR_SOURCES)}")
    if pairs == "ict":
        if isinstance(train_data, Dataset):
            passages = unique_contexts(train_data)
        else:
            passages = load_passages(train_data)
        train = inverse_cloze_pairs(passages, seed=seed)
    else:
        train = as_dataset(train_data, load_mrc, "train", MRC_NEEDED, "MRC training data")
    if (
        test_data is None
        and isinstance(train_data, str)
        and train_data == "klue"
        and pairs != "ict"
    ):
        test_data = "klue"
    if test_data is None:
        titles = len(set(train["title"]))
        if titles < 2:
            raise DataError(
                f"MRC training data {describe_source(train_data)}: {titles} title; holding "
                "titles out for the test part (--test-size) needs at least 2: give more "
                "titles or --test-data"
            )
        parts = split_by_title(train, test_size=test_size, seed=seed)
    else:
        test = as_dataset(test_data, load_mrc, "validation", MRC_NEEDED, "MRC test data")
        parts = DatasetDict(train=train, test=test)
    if dev_size:
        held = split_dev(parts["train"], dev_size, seed)
        parts = DatasetDict(train=held["train"], dev=held["dev"], test=parts["test"])
    return parts


def mrc_parts(args: TrainingArgs) -> DatasetDict:
    """The MRC parts the data fields of ``args`` describe (:func:`mrc_splits`)."""
    assert args.dev_size is not None  # set by TrainingArgs.for_stage
    return mrc_splits(
        args.train_data, args.test_data, args.test_size, args.seed, args.dev_size, args.pairs
    )


def mrc_card_data(
    args: TrainingArgs, parts: DatasetDict, passages: int, train_note: str = ""
) -> dict[str, str]:
    """The model-card lines of an MRC stage's data: its train part (plus ``train_note``), its
    test part, and the book's pair evaluation."""
    train, test = parts["train"], parts["test"]
    train_data, test_data, seed = args.train_data, args.test_data, args.seed
    test_size, pair_questions = args.test_size, args.pair_questions
    where = describe_source(test_data) if test_data is not None else "title split"
    split = "" if test_data is not None else f" (test_size {test_size}, seed {seed})"
    dev = ""
    if "dev" in parts:
        dev = (
            f"; {len(parts['dev'])} questions of {len(set(parts['dev']['title']))} titles "
            f"held out as dev (not trained on; seed {seed})"
        )
    return {
        "train": f"{describe_source(train_data)}: {len(train)} questions, "
        f"{len(set(train['title']))} titles{train_note}{dev}",
        "test": f"{where}: {len(test)} questions, {len(set(test['title']))} titles, "
        f"{passages} passages{split}",
        "pair_evaluation": f"first {min(pair_questions, len(test))} test questions × "
        "(own passage = 1, other-title passage = 0)",
    }


def positives(ds: Dataset) -> list[str]:
    """The passages a stage trains on as each question's answer: ``positive`` for
    inverse-cloze pairs (the passage without its question sentence), else ``context``."""
    return list(ds["positive"] if "positive" in ds.column_names else ds["context"])
