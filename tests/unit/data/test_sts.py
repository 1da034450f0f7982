"""STS loading from every local format, normalisation and the book's split."""

import json
from pathlib import Path

import pytest

from lc_klue.data import context_id, load_sts, paraphrase_retrieval, split_sts
from lc_klue.errors import DataError
from lc_klue.evaluation.evaluator import build_eval_set
from tests.kit import write_korsts


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


def test_book_split_is_seeded(sts_pairs) -> None:
    a, b = split_sts(sts_pairs), split_sts(sts_pairs)
    assert len(a["validation"]) == 16 and len(a["train"]) == 144
    assert a["validation"]["sentence1"] == b["validation"]["sentence1"]
    assert split_sts(sts_pairs, seed=7)["validation"]["sentence1"] != a["validation"]["sentence1"]


def test_bundled_sts_pairs(sts_pairs) -> None:
    assert len(sts_pairs) == 160
    assert min(sts_pairs["score"]) >= 0.0 and max(sts_pairs["score"]) <= 1.0


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "a.csv",
            "sentence1,sentence2,label\n가,나,1\n\n다,라,7.0\n",
            r"a\.csv, line 4: label 7 is outside 0–5 \(1 bad value\(s\) in all\)$",
        ),
        (
            "b.csv",
            'sentence1,sentence2,label\n"두 줄\n문장",나,1\n다,라,x\n',
            r"b\.csv, line 4: label 'x' is not a number",
        ),
        (
            "c.csv",
            "sentence1,sentence2,score\n가,나,0.5\n다,라,2\n",
            r"line 3: score 2 is outside 0–1",
        ),
        (
            "d.tsv",
            "sentence1\tsentence2\tscore\n가\t나\t5.5\n",
            r"d\.tsv, line 2: score 5\.5 is outside 0–5",
        ),
        (
            "e.jsonl",
            '{"sentence1": "가", "sentence2": "나", "label": -1}\n',
            r"e\.jsonl, line 1: label -1 is outside 0–5",
        ),
    ],
)
def test_a_bad_label_names_the_file_line_and_the_value(tmp_path: Path, name, text, message) -> None:
    with pytest.raises(DataError, match=message):
        load_sts(write(tmp_path / name, text))


def test_a_bad_label_in_klue_json_names_the_record(tmp_path: Path) -> None:
    recs = [{"sentence1": "가", "sentence2": "나", "labels": {"label": v}} for v in (1, 9)]
    with pytest.raises(DataError, match=r"dev\.json, record 2: label 9 is outside 0–5"):
        load_sts(write(tmp_path / "dev.json", json.dumps(recs)))


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.json", "empty.jsonl"])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError, match=rf"{name}: the file is empty$"):
        load_sts(write(tmp_path / name, " \n"))


#: (score, sentence1, sentence2): two sentence 2s repeat (one with other spacing).
PAIRS = [
    (4.0, "고양이가 소파 위에서 잠을 잔다.", "소파에서 고양이 한 마리가 자고 있다."),
    (5.0, "남자가 기타를 치고 있다.", "한 남자가 기타를 연주한다."),
    (3.8, '여자가 "양파"를 썰고 있다.', "한 여성이 양파를 자르고 있다."),
    (1.2, "아이들이 공원에서 뛰어논다.", "한 남자가 기타를 연주한다."),
    (4.6, "남자 한 명이 기타를 연주하고 있다.", "한 남자가  기타를 연주한다."),
]


def test_paraphrase_retrieval_queries_and_corpus(tmp_path: Path) -> None:
    queries, corpus = paraphrase_retrieval(write_korsts(tmp_path / "sts-test.tsv", PAIRS))
    # pairs scored 4 or more (4.0 included) are the queries, sentence 2 their gold passage
    assert queries.column_names == ["id", "title", "context", "question", "answers"]
    assert queries["id"] == ["pair-0", "pair-1", "pair-4"]
    assert queries["question"] == [PAIRS[i][1] for i in (0, 1, 4)]
    assert queries["context"] == [PAIRS[i][2] for i in (0, 1, 4)]
    assert queries["title"] == [context_id(PAIRS[i][2]) for i in (0, 1, 4)]
    assert all(a == {"text": [], "answer_start": []} for a in queries["answers"])
    # the corpus: every distinct sentence 2, whatever the score (spacing does not count)
    assert corpus.column_names == ["context_id", "title", "context"]
    assert corpus["context"] == [PAIRS[i][2] for i in (0, 1, 2)]
    assert corpus["context_id"] == [context_id(c) for c in corpus["context"]]
    es = build_eval_set(queries, "full", None, corpus=corpus)
    assert es.gold_ids() == [corpus["context_id"][i] for i in (0, 1, 1)]
    assert len(paraphrase_retrieval(tmp_path / "sts-test.tsv", min_score=3.5)[0]) == 4


def test_paraphrase_retrieval_without_a_close_pair_is_one_line(tmp_path: Path) -> None:
    f = write_korsts(tmp_path / "sts-dev.tsv", [PAIRS[2], PAIRS[3]])
    with pytest.raises(DataError) as e:
        paraphrase_retrieval(f)
    assert str(e.value) == (
        f"{f}: no pair scored 4 or more for a paraphrase set (2 pairs, highest score 3.8)"
    )
