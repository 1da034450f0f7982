"""The data layer on the real data under ../shared/data (skipped when absent)."""

import os
import subprocess
import sys

import pytest

from lc_klue.data import (
    add_irrelevant_contexts,
    load_mrc,
    load_passages,
    load_sts,
    paraphrase_retrieval,
    sample_questions,
    split_by_title,
    split_sts,
)
from tests.conftest import shared_file

pytestmark = pytest.mark.integration
KORQUAD = "korquad-1.0/KorQuAD_v1.0_dev.json"


def test_klue_sts_train_split(shared_data) -> None:
    ds = load_sts(shared_file(shared_data, "klue-sts/klue_sts_train.csv"))
    assert len(ds) == 11_668
    parts = split_sts(ds, 0.1, seed=42)
    assert (len(parts["train"]), len(parts["validation"])) == (10_501, 1_167)
    assert min(ds["score"]) >= 0.0 and max(ds["score"]) <= 1.0


def test_klue_sts_dev_csv_and_json_agree(shared_data) -> None:
    csv = load_sts(shared_file(shared_data, "klue-sts/klue_sts_val.csv"))
    js = load_sts(
        shared_file(shared_data, "klue-sts/klue-sts-v1.1_dev.json"), label_key="real-label"
    )
    assert len(csv) == len(js) == 519
    assert csv["sentence1"] == js["sentence1"]
    assert csv["score"] == pytest.approx(js["score"])


def test_korsts(shared_data) -> None:
    sizes = [
        len(load_sts(shared_file(shared_data, f"korsts/sts-{s}.tsv")))
        for s in ("train", "dev", "test")
    ]
    assert sizes == [5_749, 1_500, 1_379]


def test_korsts_paraphrase_set(shared_data) -> None:
    queries, corpus = paraphrase_retrieval(shared_file(shared_data, "korsts/sts-test.tsv"))
    assert (len(queries), len(corpus)) == (338, 1_327)
    assert set(queries["context"]) <= set(corpus["context"])


@pytest.fixture(scope="module")
def korquad(shared_data):
    return load_mrc(shared_file(shared_data, KORQUAD))


def test_korquad_sizes(korquad, shared_data) -> None:
    assert len(korquad) == 5_774
    assert len(set(korquad["title"])) == 140
    # 964 paragraphs; 961 distinct texts (3 repeat), one of them without questions
    assert len(set(korquad["context"])) == 960
    assert len(load_passages(shared_file(shared_data, KORQUAD))) == 961


def test_korquad_title_split(korquad) -> None:
    parts = split_by_title(korquad, test_size=0.3, seed=42)
    assert not set(parts["train"]["title"]) & set(parts["test"]["title"])
    assert len(set(parts["test"]["title"])) == 42 and len(set(parts["train"]["title"])) == 98
    assert len(parts["train"]) + len(parts["test"]) == 5_774
    again = split_by_title(korquad, test_size=0.3, seed=42)
    assert again["test"]["id"] == parts["test"]["id"]


def test_korquad_title_split_same_across_processes(korquad, shared_data) -> None:
    path = shared_file(shared_data, KORQUAD)
    code = (
        "from lc_klue.data import load_mrc, split_by_title;"
        f"print(sorted(set(split_by_title(load_mrc({str(path)!r}))['test']['title'])))"
    )
    env = {"PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    assert out.stdout.strip() == str(sorted(set(split_by_title(korquad)["test"]["title"])))


def test_korquad_irrelevant_contexts(korquad) -> None:
    ds = add_irrelevant_contexts(korquad, seed=42)
    assert not any(a == b for a, b in zip(ds["title"], ds["irrelevant_title"], strict=True))
    title_of = {c: t for c, t in zip(korquad["context"], korquad["title"], strict=True)}
    assert all(title_of[c] != t for c, t in zip(ds["irrelevant_context"], ds["title"], strict=True))


def test_book_sample(korquad) -> None:
    sample = sample_questions(korquad, 1000, seed=42)
    assert len(sample) == 1000 and len(set(sample["id"])) == 1000
