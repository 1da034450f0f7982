"""KLUE STS (and KorSTS) loading, normalised to ``sentence1, sentence2, score`` in [0, 1], and
STS pairs as a paraphrase retrieval set (:func:`paraphrase_retrieval`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict

from lc_klue.data import io
from lc_klue.data.passages import context_id, unique_contexts
from lc_klue.errors import DataError
from lc_klue.runtime import is_local

STS_COLUMNS = ["sentence1", "sentence2", "score"]
MAX_LABEL = 5.0


def load_sts(
    source: str | Path = "klue",
    split: str = "train",
    *,
    label_key: str = "label",
) -> Dataset:
    """Load an STS data set as ``sentence1, sentence2, score`` with ``score = label / 5``.

    ``source`` is ``"klue"`` (the hub's ``load_dataset("klue", "sts")``, needs network) or a
    local file: KLUE's original JSON (``labels.label``, or ``label_key="real-label"``), a CSV
    with ``sentence1,sentence2,label`` (``score`` in 0–1 is accepted too), or KorSTS TSV.
    """
    if not is_local(source):
        return _from_hub(str(source), split, label_key)
    path = io.existing_file(source)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _normalise(_klue_json_frame(path, label_key), path)
    frame = io.read_table(path)
    if "label" not in frame.columns and "score" in frame.columns:
        io.require_columns(frame, ["sentence1", "sentence2"], path)
        # KorSTS TSV: score is 0–5; elsewhere a score column is already 0–1
        return _normalise(frame, path, "score", MAX_LABEL if suffix == ".tsv" else 1.0)
    io.require_columns(frame, ["sentence1", "sentence2", "label"], path)
    return _normalise(frame, path)


def _from_hub(name: str, split: str, label_key: str) -> Dataset:
    frame = io.hub_frame(name, "sts", split, "KLUE JSON, CSV or KorSTS TSV")
    if "labels" in frame.columns:
        frame["label"] = [row[label_key] for row in frame["labels"]]
    io.require_columns(frame, ["sentence1", "sentence2", "label"], f"hub:{name}/{split}")
    return _normalise(frame, f"hub:{name}/{split}")


def _klue_json_frame(path: Path, label_key: str) -> pd.DataFrame:
    records = io.read_json(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: expected KLUE STS JSON (a list of records)")
    rows = []
    for i, rec in enumerate(records):
        try:
            rows.append((rec["sentence1"], rec["sentence2"], rec["labels"][label_key]))
        except (KeyError, TypeError) as e:
            raise DataError(
                f"{path}: record {i} lacks sentence1, sentence2 or labels.{label_key}"
            ) from e
    return pd.DataFrame(rows, columns=["sentence1", "sentence2", "label"])


def _normalise(
    frame: pd.DataFrame, where: str | Path, column: str = "label", top: float = MAX_LABEL
) -> Dataset:
    """``sentence1, sentence2, score`` with ``score = frame[column] / top``; a value outside
    0–``top`` is an error naming the file's line (or record) and the value as written."""
    io.require_rows(len(frame), where)
    labels = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(labels) | (labels < 0) | (labels > top))
    if bad.size:
        i = int(bad[0])
        at = io.row_location(where, i) if isinstance(where, Path) else f"row {i + 1}"
        value = labels[i]
        problem = (
            f"{column} {value:g} is outside 0–{top:g}"
            if np.isfinite(value)
            else f"{column} {str(frame[column].iloc[i])!r} is not a number"
        )
        raise DataError(f"{where}, {at}: {problem} ({bad.size} bad value(s) in all)")
    return Dataset.from_dict(
        {
            "sentence1": frame["sentence1"].astype(str).tolist(),
            "sentence2": frame["sentence2"].astype(str).tolist(),
            "score": (labels / top).tolist(),
        }
    )


def split_sts(ds: Dataset, validation_size: float = 0.1, seed: int = 42) -> DatasetDict:
    """The book's split: hold out ``validation_size`` of train (seeded) as ``validation``."""
    if not 0 < validation_size < 1:
        raise DataError(f"validation_size must be in (0, 1), got {validation_size}")
    if len(ds) < 2:
        raise DataError(f"cannot split an STS data set of {len(ds)} row(s)")
    parts = ds.train_test_split(test_size=validation_size, seed=seed)
    return DatasetDict(train=parts["train"], validation=parts["test"])


def paraphrase_retrieval(sts_source: str | Path, min_score: float = 4.0) -> tuple[Dataset, Dataset]:
    """A paraphrase retrieval set from an STS file (any local format of :func:`load_sts`).

    Returns ``(queries, corpus)``. ``queries``: every pair scored ``min_score`` or more (on the
    0–5 scale) as an MRC row ``id, title, context, question, answers``: question = sentence 1,
    context (its gold passage) = sentence 2, ``id`` = ``pair-N`` (the pair's 0-based row),
    ``title`` = the passage's :func:`context_id` (each passage its own article), no answers.
    ``corpus``: every distinct sentence 2 of the file, whatever its pair's score, as
    ``context_id, title, context`` (like :func:`~lc_klue.data.load_passages`).
    """
    ds = load_sts(sts_source)
    firsts, seconds = list(ds["sentence1"]), list(ds["sentence2"])
    scores = np.asarray(ds["score"], dtype=float) * MAX_LABEL
    keep = np.flatnonzero(scores >= min_score - 1e-9).tolist()
    if not keep:
        raise DataError(
            f"{sts_source}: no pair scored {min_score:g} or more for a paraphrase set "
            f"({len(ds)} pairs, highest score {scores.max():g})"
        )
    empty = sum(not s.strip() for s in seconds)
    empty += sum(not firsts[i].strip() for i in keep)
    if empty:
        raise DataError(f"{sts_source}: {empty} empty sentence(s) in the paraphrase set")
    contexts = [seconds[i] for i in keep]
    queries = Dataset.from_dict(
        {
            "id": [f"pair-{i}" for i in keep],
            "title": [context_id(c) for c in contexts],
            "context": contexts,
            "question": [firsts[i] for i in keep],
            "answers": [{"text": [], "answer_start": []} for _ in keep],
        }
    )
    titles = [context_id(c) for c in seconds]
    return queries, unique_contexts(Dataset.from_dict({"title": titles, "context": seconds}))
