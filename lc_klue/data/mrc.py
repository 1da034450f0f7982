"""Machine reading comprehension (question → passage) data: KLUE MRC, KorQuAD, flat files.

Every loader returns a :class:`datasets.Dataset` with the columns ``id, title, context,
question, answers`` (``answers = {"text": [...], "answer_start": [...]}``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict

from lc_klue.data.io import (
    existing_file,
    hub_frame,
    read_json,
    read_table,
    require_columns,
    require_rows,
    squad_paragraphs,
)
from lc_klue.data.passages import context_id, unique_contexts
from lc_klue.errors import DataError
from lc_klue.runtime import is_local

MRC_COLUMNS = ["id", "title", "context", "question", "answers"]


def load_mrc(source: str | Path = "klue", split: str = "train") -> Dataset:
    """Load question/passage data as ``id, title, context, question, answers``.

    ``source`` is ``"klue"`` (the hub's ``load_dataset("klue", "mrc")``, needs network), a
    SQuAD-style nested JSON (KLUE MRC's original files, KorQuAD), or a flat JSONL / parquet /
    CSV / JSON-records file with ``question`` and ``context`` columns (``title``, ``id`` and
    ``answers`` optional). A missing title becomes the passage's :func:`context_id`, so that
    every passage is its own article.
    """
    if not is_local(source):
        return _from_hub(str(source), split)
    path = existing_file(source)
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if isinstance(data, dict) and "data" in data:
            return _from_squad(data, path)
        if not isinstance(data, list):
            raise DataError(
                f"{path}: expected SQuAD-style JSON with a top-level 'data' list, "
                "or a JSON list of records"
            )
    frame = read_table(path)
    return _from_flat(frame, path)


def _from_hub(name: str, split: str) -> Dataset:
    frame = hub_frame(name, "mrc", split, "SQuAD-style JSON, JSONL, parquet or CSV")
    if "id" not in frame.columns and "guid" in frame.columns:
        frame["id"] = frame["guid"]
    return _from_flat(frame, f"hub:{name}/{split}")


def _from_squad(data: dict[str, Any], path: Path) -> Dataset:
    rows: dict[str, list[Any]] = {c: [] for c in MRC_COLUMNS}
    for title, para in squad_paragraphs(data, path):
        for q_i, qa in enumerate(para.get("qas", [])):
            if "question" not in qa:
                raise DataError(f"{path}: a question of {title!r} (#{q_i}) has no 'question'")
            answers = qa.get("answers") or []
            rows["id"].append(str(qa.get("id", qa.get("guid", f"{title}-{len(rows['id'])}"))))
            rows["title"].append(title)
            rows["context"].append(para["context"])
            rows["question"].append(qa["question"])
            rows["answers"].append(
                {
                    "text": [str(x["text"]) for x in answers],
                    "answer_start": [int(x["answer_start"]) for x in answers],
                }
            )
    require_rows(len(rows["id"]), path)
    return Dataset.from_dict(rows)


def _parse_answers(value: Any) -> dict[str, list[Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"text": [value] if value else [], "answer_start": [-1] if value else []}
    if isinstance(value, dict):
        text = [str(t) for t in list(value.get("text", []))]
        start = [int(s) for s in list(value.get("answer_start", [-1] * len(text)))]
        return {"text": text, "answer_start": start}
    if isinstance(value, list):  # SQuAD-style list of {"text", "answer_start"}
        return {
            "text": [str(a["text"]) for a in value],
            "answer_start": [int(a.get("answer_start", -1)) for a in value],
        }
    return {"text": [], "answer_start": []}


def _from_flat(frame: pd.DataFrame, where: str | Path) -> Dataset:
    require_columns(frame, ["question", "context"], where)
    require_rows(len(frame), where)
    contexts = frame["context"].astype(str).tolist()
    questions = frame["question"].astype(str).tolist()
    empty = sum(1 for c in contexts if not c.strip()) + sum(1 for q in questions if not q.strip())
    if empty:
        raise DataError(f"{where}: {empty} empty question(s) or context(s)")
    titles = (
        [
            str(t) if str(t).strip() else context_id(c)
            for t, c in zip(frame["title"], contexts, strict=True)
        ]
        if "title" in frame.columns
        else [context_id(c) for c in contexts]
    )
    ids = (
        frame["id"].astype(str).tolist()
        if "id" in frame.columns
        else [f"q{i}" for i in range(len(frame))]
    )
    answers = (
        [_parse_answers(a) for a in frame["answers"]]
        if "answers" in frame.columns
        else [{"text": [], "answer_start": []} for _ in contexts]
    )
    return Dataset.from_dict(
        {"id": ids, "title": titles, "context": contexts, "question": questions, "answers": answers}
    )


def split_by_title(ds: Dataset, test_size: float = 0.3, seed: int = 42) -> DatasetDict:
    """Split so that no article (title) straddles ``train`` and ``test``.

    ``test_size`` is the fraction of titles that go to test. The titles are sorted before a
    seeded permutation, so the split is the same in every run and process.
    """
    if not 0 < test_size < 1:
        raise DataError(f"test_size must be in (0, 1), got {test_size}")
    titles = np.array(sorted(set(ds["title"])), dtype=object)
    if len(titles) < 2:
        raise DataError(f"a title split needs at least 2 titles, found {len(titles)}")
    n_test = min(max(1, round(len(titles) * test_size)), len(titles) - 1)
    order = np.random.default_rng(seed).permutation(len(titles))
    test_titles = set(titles[order[:n_test]].tolist())
    is_test = np.array([t in test_titles for t in ds["title"]])
    return DatasetDict(
        train=ds.select(np.flatnonzero(~is_test)), test=ds.select(np.flatnonzero(is_test))
    )


def split_dev(train: Dataset, dev_size: float, seed: int = 42) -> DatasetDict:
    """Hold out ``dev_size`` of the *training* titles as ``dev`` (:func:`split_by_title` with
    the same seed): questions no model trains on, for tuning what sits on top of the models
    (fusion weights) without touching the test titles."""
    parts = split_by_title(train, test_size=dev_size, seed=seed)
    return DatasetDict(train=parts["train"], dev=parts["test"])


def sample_questions(ds: Dataset, n: int = 1000, seed: int = 42) -> Dataset:
    """The book's evaluation sample: ``train_test_split(test_size=n, seed=seed)["test"]``.

    Returns the whole data set when it has ``n`` questions or fewer.
    """
    if n <= 0:
        raise DataError(f"n must be positive, got {n}")
    if len(ds) <= n:
        return ds
    return ds.train_test_split(test_size=n, seed=seed)["test"]


def add_irrelevant_contexts(ds: Dataset, seed: int = 42) -> Dataset:
    """Add ``irrelevant_context``/``irrelevant_title``: a random passage of another title.

    Vectorised: draws a passage per question and redraws only the clashes, so the cost is
    linear in the number of questions and titles may contain any character.
    """
    passages = unique_contexts(ds)
    p_titles = np.array(list(passages["title"]), dtype=object)
    codes, uniques = pd.factorize(pd.Series(list(p_titles) + list(ds["title"])))
    p_codes, q_codes = codes[: len(p_titles)], codes[len(p_titles) :]
    if len(uniques) < 2:
        raise DataError("irrelevant contexts need at least 2 distinct titles")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(p_titles), size=len(ds))
    clash = np.flatnonzero(p_codes[pick] == q_codes)
    while clash.size:
        pick[clash] = rng.integers(0, len(p_titles), size=clash.size)
        clash = clash[p_codes[pick[clash]] == q_codes[clash]]
    contexts = list(passages["context"])
    ds = ds.add_column("irrelevant_context", [contexts[i] for i in pick])
    return ds.add_column("irrelevant_title", p_titles[pick].tolist())


def relevance_pairs(ds: Dataset, seed: int = 42) -> Dataset:
    """``question, context, label``: each question with its passage (1.0) and another (0.0).

    The book's pair evaluation uses the first 100 questions of the test data this way, and its
    cross-encoder trains on the same shape.
    """
    if "irrelevant_context" not in ds.column_names:
        ds = add_irrelevant_contexts(ds, seed=seed)
    n = len(ds)
    return Dataset.from_dict(
        {
            "question": list(ds["question"]) * 2,
            "context": list(ds["context"]) + list(ds["irrelevant_context"]),
            "label": [1.0] * n + [0.0] * n,
        }
    )
