"""Training data arguments: checked Datasets and the MRC train/test parts."""

from pathlib import Path

import pytest
from datasets import Dataset

from lc_klue.data import load_sts
from lc_klue.errors import DataError
from training.data import as_dataset, describe_source, mrc_splits


def test_as_dataset_names_missing_columns(sts_pairs: Dataset) -> None:
    ds = sts_pairs.rename_column("score", "similarity")
    with pytest.raises(DataError, match=r"missing column.*score"):
        as_dataset(ds, load_sts, "train", ["sentence1", "sentence2", "score"], "STS data")
    with pytest.raises(DataError, match="no rows"):
        as_dataset(sts_pairs.select([]), load_sts, "train", ["sentence1"], "STS data")


def test_as_dataset_loads_files_with_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv"):
        as_dataset(str(tmp_path / "nope.csv"), load_sts, "train", ["sentence1"], "STS data")
    assert describe_source(Dataset.from_dict({"a": [1]})) == "in-memory Dataset"


def test_mrc_splits_keep_articles_whole(news_qa: Dataset) -> None:
    parts = mrc_splits(news_qa, test_size=0.3, seed=42)
    assert not set(parts["train"]["title"]) & set(parts["test"]["title"])
    assert len(parts["train"]) + len(parts["test"]) == len(news_qa)
    given = mrc_splits(news_qa, news_qa.select(range(3)))
    assert len(given["train"]) == len(news_qa) and len(given["test"]) == 3


def test_a_title_split_of_one_title_names_the_data(news_qa: Dataset) -> None:
    one = news_qa.filter(lambda r: r["title"] == news_qa[0]["title"])
    with pytest.raises(
        DataError, match=r"MRC training data in-memory Dataset: 1 title; .*--test-size.*--test-data"
    ):
        mrc_splits(one)
