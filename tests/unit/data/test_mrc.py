"""MRC loading (SQuAD JSON, flat files), title split, sampling and irrelevant contexts."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset

from lc_klue.data import (
    MRC_COLUMNS,
    add_irrelevant_contexts,
    context_id,
    load_mrc,
    relevance_pairs,
    sample_questions,
    split_by_title,
)
from lc_klue.errors import DataError

SQUAD = {
    "version": "x",
    "data": [
        {
            "title": "가",
            "paragraphs": [
                {
                    "context": "서울은 한국의 수도이다.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "한국의 수도는?",
                            "answers": [{"text": "서울", "answer_start": 0}],
                        }
                    ],
                },
                {"context": "질문이 없는 문단.", "qas": []},
            ],
        },
        {
            "title": "나",
            "paragraphs": [
                {
                    "context": "부산은 항구 도시이다.",
                    "qas": [{"guid": "g2", "question": "항구 도시는?"}],
                }
            ],
        },
    ],
}


def test_squad_json(tmp_path: Path) -> None:
    f = tmp_path / "squad.json"
    f.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    ds = load_mrc(f)
    assert ds.column_names == MRC_COLUMNS
    assert ds["id"] == ["q1", "g2"]
    assert ds[0]["answers"] == {"text": ["서울"], "answer_start": [0]}
    assert ds[1]["answers"] == {"text": [], "answer_start": []}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_flat_formats_with_optional_columns(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"question": ["무엇?", "어디?"], "context": ["문단 하나.", "문단 둘."]})
    f = tmp_path / f"flat{suffix}"
    if suffix == ".jsonl":
        frame.to_json(f, orient="records", lines=True, force_ascii=False)
    elif suffix == ".csv":
        frame.to_csv(f, index=False)
    else:
        frame.to_parquet(f)
    ds = load_mrc(f)
    assert ds["id"] == ["q0", "q1"]
    assert ds["title"] == [context_id("문단 하나."), context_id("문단 둘.")]


def test_flat_answers_as_json_string(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    pd.DataFrame(
        {"question": ["q"], "context": ["c"], "answers": ['{"text": ["c"], "answer_start": [0]}']}
    ).to_csv(f, index=False)
    assert load_mrc(f)[0]["answers"] == {"text": ["c"], "answer_start": [0]}


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_mrc(tmp_path / "missing.json")
    bad = tmp_path / "bad.csv"
    bad.write_text("query,passage\n가,나\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.csv: missing column\(s\) question, context"):
        load_mrc(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_mrc(empty)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        load_mrc(broken)
    txt = tmp_path / "x.txt"
    txt.write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="unknown format"):
        load_mrc(txt)


def test_bundled_news_corpus(news_qa: Dataset) -> None:
    assert len(news_qa) == 96
    assert len(set(news_qa["context"])) == 32 and len(set(news_qa["title"])) == 16
    for row in news_qa:
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True):
            assert row["context"][start : start + len(text)] == text


def test_title_split_is_disjoint_and_seeded(news_qa: Dataset) -> None:
    parts = split_by_title(news_qa, test_size=0.25, seed=42)
    train, test = set(parts["train"]["title"]), set(parts["test"]["title"])
    assert not train & test and len(test) == 4 and len(train) == 12
    assert len(parts["train"]) + len(parts["test"]) == len(news_qa)
    again = split_by_title(news_qa.shuffle(seed=1), test_size=0.25, seed=42)
    assert set(again["test"]["title"]) == test  # row order does not matter
    assert set(split_by_title(news_qa, test_size=0.25, seed=3)["test"]["title"]) != test


def test_title_split_bad_fraction(news_qa: Dataset) -> None:
    with pytest.raises(DataError, match="test_size"):
        split_by_title(news_qa, test_size=1.5)


def test_sample_questions(news_qa: Dataset) -> None:
    sample = sample_questions(news_qa, n=10, seed=42)
    assert len(sample) == 10
    assert sample["id"] == news_qa.train_test_split(test_size=10, seed=42)["test"]["id"]
    assert len(sample_questions(news_qa, n=1000)) == len(news_qa)


def test_irrelevant_contexts_never_share_the_title(news_qa: Dataset) -> None:
    ds = add_irrelevant_contexts(news_qa, seed=42)
    assert all(a != b for a, b in zip(ds["title"], ds["irrelevant_title"], strict=True))
    title_of = dict(zip(news_qa["context"], news_qa["title"], strict=True))
    assert all(
        title_of[c] == t
        for c, t in zip(ds["irrelevant_context"], ds["irrelevant_title"], strict=True)
    )
    assert (
        add_irrelevant_contexts(news_qa, seed=42)["irrelevant_context"] == ds["irrelevant_context"]
    )


def test_irrelevant_contexts_with_quotes_in_titles() -> None:
    titles = ["O'Brien's 뉴스", 'say "hi"', "평범한 제목"]
    ds = Dataset.from_dict(
        {
            "id": [str(i) for i in range(30)],
            "title": [titles[i % 3] for i in range(30)],
            "context": [f"{titles[i % 3]} 문단 {i % 6}" for i in range(30)],
            "question": [f"질문 {i}" for i in range(30)],
            "answers": [{"text": [], "answer_start": []}] * 30,
        }
    )
    out = add_irrelevant_contexts(ds, seed=0)
    assert all(a != b for a, b in zip(out["title"], out["irrelevant_title"], strict=True))


def test_irrelevant_contexts_need_two_titles(news_qa: Dataset) -> None:
    one = news_qa.filter(lambda r: r["title"] == news_qa[0]["title"])
    with pytest.raises(DataError, match="2 distinct titles"):
        add_irrelevant_contexts(one)


def test_relevance_pairs(news_qa: Dataset) -> None:
    pairs = relevance_pairs(news_qa.select(range(10)))
    assert len(pairs) == 20 and pairs["label"] == [1.0] * 10 + [0.0] * 10
    assert pairs["context"][:10] == news_qa["context"][:10]


def test_title_split_same_in_another_process(news_qa: Dataset) -> None:
    code = (
        "from lc_klue.data import load_mrc, split_by_title;"
        "from lc_klue.resources import NEWS_QA;"
        "print(sorted(set(split_by_title(load_mrc(NEWS_QA))['test']['title'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(sorted(set(split_by_title(news_qa)["test"]["title"])))


def test_hub_path_offline_gives_a_clear_error() -> None:
    from lc_klue.data import load_sts

    with pytest.raises(DataError, match=r"cannot load MRC data set 'klue'.*Offline\?"):
        load_mrc("klue", split="validation")
    with pytest.raises(DataError, match=r"cannot load STS data set 'klue'.*local file"):
        load_sts("klue")
