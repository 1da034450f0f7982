"""Passages, the unit of retrieval: their identity, passage files, and passages as Documents.

:func:`context_id` is the package's one passage identity: retrievers fuse and deduplicate by
it, indexes store it, and the evaluator judges retrieved passages by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import pandas as pd
from datasets import Dataset
from langchain_core.documents import Document

from lc_klue.data.io import (
    existing_file,
    read_json,
    read_table,
    require_columns,
    require_rows,
    squad_paragraphs,
)
from lc_klue.errors import DataError

#: What passage-taking functions accept: an MRC or passage file, a Dataset with a ``context``
#: column (``title``/``context_id`` optional), or LangChain Documents.
MrcSource: TypeAlias = Dataset | str | Path | Sequence[Document]


def context_id(passage: str | Document) -> str:
    """The identity of a passage.

    For a Document, its ``metadata["context_id"]`` when set; otherwise (and for text) the first
    16 hex digits of the SHA-1 of the text with its whitespace collapsed, so the same passage
    keeps its identity whatever file or splitter its spacing came from.
    """
    if isinstance(passage, Document):
        cid = passage.metadata.get("context_id") if passage.metadata else None
        return str(cid) if cid is not None else context_id(passage.page_content)
    return hashlib.sha1(" ".join(passage.split()).encode("utf-8")).hexdigest()[:16]


def _distinct(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` with a passage not seen before (first one kept)."""
    return frame.loc[~pd.Series([context_id(c) for c in frame["context"]]).duplicated().to_numpy()]


def load_passages(source: str | Path) -> Dataset:
    """Load a passage collection (a search space): ``context_id, title, context``, distinct.

    Accepts flat files with a ``context`` column (``id``/``title`` optional) or a SQuAD-style
    JSON, whose paragraphs count even when they have no questions.
    """
    path = existing_file(source)
    data = read_json(path) if path.suffix.lower() == ".json" else None
    if isinstance(data, dict):
        pairs = list(squad_paragraphs(data, path))
        frame = pd.DataFrame(
            {"title": [t for t, _ in pairs], "context": [p["context"] for _, p in pairs]}
        )
    else:
        frame = pd.DataFrame.from_records(data) if isinstance(data, list) else read_table(path)
    require_columns(frame, ["context"], path)
    require_rows(len(frame), path)
    frame = frame.assign(context=frame["context"].astype(str))
    empty = int((frame["context"].str.strip() == "").sum())
    if empty:
        raise DataError(f"{path}: {empty} empty context(s)")
    if "title" not in frame.columns:
        frame["title"] = [context_id(c) for c in frame["context"]]
    frame = _distinct(frame)
    # In a passage file ``id`` names the passage; in a question file it names the question.
    ids = (
        frame["id"].astype(str).tolist()
        if "id" in frame.columns and "question" not in frame.columns
        else [context_id(c) for c in frame["context"]]
    )
    return Dataset.from_dict(
        {
            "context_id": ids,
            "title": frame["title"].astype(str).tolist(),
            "context": frame["context"].tolist(),
        }
    )


def unique_contexts(ds: Dataset) -> Dataset:
    """The distinct passages of an MRC data set: ``context_id, title, context`` (first title)."""
    missing = [c for c in ("context", "title") if c not in ds.column_names]
    if missing:
        raise DataError(f"MRC data set: missing column(s) {', '.join(missing)}")
    frame = _distinct(pd.DataFrame({"title": ds["title"], "context": ds["context"]}))
    return Dataset.from_dict(
        {
            "context_id": [context_id(c) for c in frame["context"]],
            "title": frame["title"].tolist(),
            "context": frame["context"].tolist(),
        }
    )


def mrc_documents(data: MrcSource) -> list[Document]:
    """The distinct passages of MRC-format data as Documents.

    ``data`` is an MRC file (SQuAD-style JSON, JSONL/parquet/CSV with ``question``/``context``
    or a passage file with ``context``), a Dataset with ``context`` (and ``title``, optionally
    ``context_id``) columns, or Documents. Duplicate passages (same :func:`context_id`) are
    removed, the first one kept; ``metadata`` holds ``context_id`` and ``title``.
    """
    if isinstance(data, str | Path):
        data = load_passages(data)
    if isinstance(data, Dataset):
        if "context" not in data.column_names:
            raise DataError(
                f"MRC data set: missing column 'context'; found: {', '.join(data.column_names)}"
            )
        if "title" not in data.column_names:
            data = data.add_column("title", [context_id(c) for c in data["context"]])
        if "context_id" not in data.column_names:
            data = unique_contexts(data)
        docs = [
            Document(page_content=c, metadata={"context_id": str(i), "title": str(t)})
            for i, t, c in zip(data["context_id"], data["title"], data["context"], strict=True)
        ]
    else:
        docs = [_with_context_id(d) for d in data]
    seen: set[str] = set()
    unique = []
    for doc in docs:
        if not doc.page_content.strip():
            raise DataError("MRC data set: a passage is empty")
        key = context_id(doc.page_content)
        if key not in seen:
            seen.add(key)
            unique.append(doc)
    if not unique:
        raise DataError("MRC data set: no passages (the corpus is empty)")
    return unique


def _with_context_id(doc: Document) -> Document:
    if not isinstance(doc, Document):
        raise DataError(f"expected a langchain Document, got {type(doc).__name__}")
    if "context_id" in doc.metadata:
        return doc
    meta = {"context_id": context_id(doc.page_content), **doc.metadata}
    meta.setdefault("title", meta["context_id"])
    return Document(page_content=doc.page_content, metadata=meta, id=doc.id)
