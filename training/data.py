"""Training data: any data argument (hub name, local file or Dataset) as a checked Dataset, and
the MRC train/test parts shared by the MRC and cross-encoder stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from datasets import Dataset, DatasetDict

from lc_klue.data import load_mrc, split_by_title
from lc_klue.errors import DataError

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


def mrc_splits(
    train_data: DataSource,
    test_data: DataSource | None = None,
    test_size: float = 0.3,
    seed: int = 42,
) -> DatasetDict:
    """``train``/``test`` MRC data: the given test set, KLUE validation for ``"klue"``, or a
    split of ``train_data`` by title (no article in both)."""
    train = as_dataset(train_data, load_mrc, "train", MRC_NEEDED, "MRC training data")
    if test_data is None and isinstance(train_data, str) and train_data == "klue":
        test_data = "klue"
    if test_data is None:
        titles = len(set(train["title"]))
        if titles < 2:
            raise DataError(
                f"MRC training data {describe_source(train_data)}: {titles} title; holding "
                "titles out for the test part (--test-size) needs at least 2: give more "
                "titles or --test-data"
            )
        return split_by_title(train, test_size=test_size, seed=seed)
    test = as_dataset(test_data, load_mrc, "validation", MRC_NEEDED, "MRC test data")
    return DatasetDict(train=train, test=test)


def mrc_card_data(
    train_data: DataSource,
    parts: DatasetDict,
    test_data: DataSource | None,
    passages: int,
    test_size: float,
    seed: int,
    pair_questions: int,
    train_note: str = "",
) -> dict[str, str]:
    """The model-card lines of an MRC stage's data: its train part (plus ``train_note``), its
    test part, and the book's pair evaluation."""
    train, test = parts["train"], parts["test"]
    where = describe_source(test_data) if test_data is not None else "title split"
    split = "" if test_data is not None else f" (test_size {test_size}, seed {seed})"
    return {
        "train": f"{describe_source(train_data)}: {len(train)} questions, "
        f"{len(set(train['title']))} titles{train_note}",
        "test": f"{where}: {len(test)} questions, {len(set(test['title']))} titles, "
        f"{passages} passages{split}",
        "pair_evaluation": f"first {min(pair_questions, len(test))} test questions × "
        "(own passage = 1, other-title passage = 0)",
    }
