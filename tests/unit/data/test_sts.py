"""STS loading from every local format, normalisation and the book's split."""

import json
from pathlib import Path

import pytest

from lc_klue.data import load_sts, split_sts
from lc_klue.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_scores_are_label_over_five(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "sentence1,sentence2,label\n가,나,5.0\n다,라,2.5\n마,바,0\n")
    ds = load_sts(f)
    assert ds.column_names == ["sentence1", "sentence2", "score"]
    assert ds["score"] == pytest.approx([1.0, 0.5, 0.0])


def test_klue_json_uses_label_or_real_label(tmp_path: Path) -> None:
    rec = {"sentence1": "가", "sentence2": "나", "labels": {"label": 4.9, "real-label": 4.857}}
    f = write(tmp_path / "dev.json", json.dumps([rec]))
    assert load_sts(f)["score"][0] == pytest.approx(0.98)
    assert load_sts(f, label_key="real-label")["score"][0] == pytest.approx(4.857 / 5)


def test_korsts_tsv_with_bare_quotes(tmp_path: Path) -> None:
    f = write(
        tmp_path / "sts-dev.tsv",
        "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"
        'news\tx\t2012\t1\t3.800\t그는 "안녕"이라고 말했다.\t"안녕" 했다.\n',
    )
    ds = load_sts(f)
    assert ds[0]["sentence1"] == '그는 "안녕"이라고 말했다.'
    assert ds[0]["score"] == pytest.approx(0.76)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_sts(tmp_path / "nope.csv")


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown format \.xlsx"):
        load_sts(write(tmp_path / "a.xlsx", "x"))


def test_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing column.*label"):
        load_sts(write(tmp_path / "a.csv", "sentence1,sentence2,grade\n가,나,1\n"))


def test_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        load_sts(write(tmp_path / "a.csv", "sentence1,sentence2,label\n"))


@pytest.mark.parametrize("label", ["5.5", "-1", "abc"])
def test_label_outside_range(tmp_path: Path, label: str) -> None:
    f = write(tmp_path / "a.csv", f"sentence1,sentence2,label\n가,나,1\n다,라,{label}\n")
    with pytest.raises(DataError, match=r"a\.csv: label .* row 1 is outside 0–5"):
        load_sts(f)


def test_book_split_is_seeded(sts_pairs) -> None:
    a, b = split_sts(sts_pairs), split_sts(sts_pairs)
    assert len(a["validation"]) == 16 and len(a["train"]) == 144
    assert a["validation"]["sentence1"] == b["validation"]["sentence1"]
    assert split_sts(sts_pairs, seed=7)["validation"]["sentence1"] != a["validation"]["sentence1"]


def test_bundled_sts_pairs(sts_pairs) -> None:
    assert len(sts_pairs) == 160
    assert min(sts_pairs["score"]) >= 0.0 and max(sts_pairs["score"]) <= 1.0
