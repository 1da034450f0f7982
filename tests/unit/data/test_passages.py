"""Passages: the one identity, passage files, distinct passages and Documents."""

import json
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset
from langchain_core.documents import Document

from lc_klue.data import context_id, load_passages, mrc_documents, unique_contexts
from lc_klue.errors import DataError
from tests.unit.data.test_mrc import SQUAD


def test_context_id_is_the_text_up_to_whitespace_or_a_documents_own_id() -> None:
    assert context_id("가 나  다\n") == context_id(" 가 나 다") != context_id("가나다")
    assert len(context_id("문단")) == 16
    assert context_id(Document(page_content="문단", metadata={"context_id": "p7"})) == "p7"
    assert context_id(Document(page_content="문단")) == context_id("문단")


def test_squad_paragraphs_without_questions_are_passages(tmp_path: Path) -> None:
    f = tmp_path / "squad.json"
    f.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    passages = load_passages(f)
    assert len(passages) == 3 and passages["context_id"][0] == context_id("서울은 한국의 수도이다.")


def test_passage_file_ids_titles_and_duplicates(tmp_path: Path) -> None:
    f = tmp_path / "passages.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "context": ["하나.", "둘.", " 하나. "]}).to_csv(
        f, index=False
    )
    passages = load_passages(f)
    assert passages["context_id"] == ["a", "b"]  # " 하나. " is "하나." again
    assert passages["title"] == [context_id("하나."), context_id("둘.")]
    empty = tmp_path / "passages.jsonl"
    empty.write_text('{"context": "x"}\n{"context": " "}\n', encoding="utf-8")
    with pytest.raises(DataError, match="1 empty context"):
        load_passages(empty)


def test_unique_contexts(news_qa: Dataset) -> None:
    u = unique_contexts(news_qa)
    assert len(u) == 32 and len(set(u["context_id"])) == 32
    with pytest.raises(DataError, match="missing column"):
        unique_contexts(Dataset.from_dict({"context": ["x"]}))


def test_mrc_documents_from_every_source(news_qa: Dataset, tmp_path: Path) -> None:
    docs = mrc_documents(news_qa)
    assert len(docs) == 32 and {"context_id", "title"} <= set(docs[0].metadata)
    assert [d.page_content for d in mrc_documents(docs)] == [d.page_content for d in docs]
    plain = mrc_documents([Document(page_content="문단 하나"), Document(page_content="문단  하나")])
    assert len(plain) == 1 and plain[0].metadata["title"] == context_id("문단 하나")
    with pytest.raises(DataError, match="empty"):
        mrc_documents([Document(page_content=" ")])
    with pytest.raises(DataError, match="expected a langchain Document"):
        mrc_documents(["text"])  # type: ignore[list-item]
