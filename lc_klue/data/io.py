"""Reading tabular files (CSV, TSV, JSON, JSONL, parquet) with clear errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from lc_klue.errors import DataError, ModelError, NotUtf8Error
from lc_klue.runtime import TABLE_SUFFIXES, check_hub_model, hub_offline


def existing_file(path: str | Path) -> Path:
    """Return ``path`` as a ``Path`` or raise :class:`DataError` if it is not a file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if not p.is_file():
        raise DataError(f"{p}: not a file")
    return p


def require_content(path: Path) -> None:
    """Raise :class:`DataError` when ``path`` is empty (nothing but white space)."""
    with path.open("rb") as f:
        if not f.read(4096).strip() and not f.read(1):
            raise DataError(f"{path}: the file is empty")


def read_text(path: Path) -> str:
    """A file's text (UTF-8, BOM dropped): a binary file is one :class:`DataError` line, a
    text file in another encoding (EUC-KR/CP949…) one :class:`NotUtf8Error` line."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if b"\x00" in raw[:8192]:
        raise DataError(f"{path}: not a text file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NotUtf8Error(
            f"{path}: not a text file (not UTF-8: byte {e.start}; convert it, e.g. "
            "iconv -f cp949 -t utf-8)"
        ) from None


def _json_error(path: Path, line: int, error: json.JSONDecodeError) -> DataError:
    """The one message of a JSON syntax error: ``file:LINE: not valid JSON (why, column)``."""
    return DataError(f"{path}:{line}: not valid JSON ({error.msg}, column {error.colno})")


def read_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names ``file:LINE``."""
    require_content(path)
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise _json_error(path, e.lineno, e) from None


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of a JSONL file; a line that is not
    JSON is one :class:`DataError` naming ``file:LINE`` (the one JSONL reader of the package:
    documents, MRC, passage and STS files)."""
    for n, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            raise _json_error(path, n, e) from None


def _jsonl_table(path: Path) -> pd.DataFrame:
    """The rows of a JSONL file as a frame (each must be a JSON object)."""
    records = []
    for n, row in jsonl_rows(path):
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        records.append(row)
    return pd.DataFrame.from_records(records)


def read_table(path: Path) -> pd.DataFrame:
    """Read a flat table by file suffix (.csv, .tsv, .jsonl, .json records, .parquet)."""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        require_content(path)
    try:
        if suffix == ".csv":
            return pd.read_csv(path, keep_default_na=False)
        if suffix == ".tsv":
            # KorSTS sentences contain bare quotes: never treat them as CSV quoting.
            return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
        if suffix == ".jsonl":
            return _jsonl_table(path)
        if suffix == ".json":
            data = read_json(path)
            if not isinstance(data, list):
                raise DataError(f"{path}: expected a JSON list of records")
            return pd.DataFrame.from_records(data)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except DataError:
        raise
    except (ValueError, pd.errors.ParserError, OSError) as e:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({e})") from e
    raise DataError(
        f"{path}: unknown format {suffix or '(no suffix)'}; expected one of "
        f"{', '.join(sorted(TABLE_SUFFIXES))}"
    )


def row_location(path: Path, index: int) -> str:
    """Where data row ``index`` of a table read by :func:`read_table` is in its file, for
    messages: ``line N`` of a CSV/TSV/JSONL file (the header is line 1 of a CSV), else
    ``record N`` (1-based)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            reader = (
                csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if suffix == ".tsv"
                else csv.reader(f)
            )
            row, start = -2, 1  # the first record is the header
            for record in reader:
                if record:  # blank lines are skipped, as by pandas
                    row += 1
                    if row == index:
                        return f"line {start}"
                start = reader.line_num + 1
    elif suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            lines = (n for n, line in enumerate(f, start=1) if line.strip())
            for row, number in enumerate(lines):
                if row == index:
                    return f"line {number}"
    return f"record {index + 1}"


def squad_paragraphs(data: dict[str, Any], path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(title, paragraph)`` for every paragraph of a SQuAD-style document."""
    articles = data.get("data")
    if not isinstance(articles, list):
        raise DataError(f"{path}: 'data' must be a list of articles")
    for a_i, article in enumerate(articles):
        title = str(article.get("title", f"article-{a_i}"))
        paragraphs = article.get("paragraphs")
        if not isinstance(paragraphs, list):
            raise DataError(f"{path}: article {a_i} ({title!r}) has no 'paragraphs' list")
        for p_i, para in enumerate(paragraphs):
            if "context" not in para:
                raise DataError(f"{path}: article {a_i} paragraph {p_i} has no 'context'")
            yield title, para


def require_columns(frame: pd.DataFrame, columns: Iterable[str], where: str | Path) -> None:
    """Raise :class:`DataError` naming the missing columns of ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}; found: {found}")


def require_rows(n_rows: int, where: str | Path) -> None:
    """Raise :class:`DataError` when a data set has no rows."""
    if n_rows == 0:
        raise DataError(f"{where}: the data set is empty")


def hub_frame(name: str, task: str, split: str, local_formats: str) -> pd.DataFrame:
    """A hub data set as a frame: ``load_dataset("klue", task)`` for ``"klue"``, else ``name``.

    Any failure (offline, unknown name or split) becomes one :class:`DataError` that says which
    local files work instead; an unreachable hub is found with one probe, not a minute of the
    loader's retries (:func:`lc_klue.runtime.check_hub_model`).
    """
    from datasets import load_dataset

    if not hub_offline():  # offline, the loader reads only its cache and fails at once
        hint = f"pass a local file ({local_formats}), or set HF_HUB_OFFLINE=1 for a cached copy"
        try:  # "klue" is the hub's klue/klue
            check_hub_model(
                "klue/klue" if name == "klue" else name,
                f"{task.upper()} data set",
                repo_type="dataset",
                hint=hint,
            )
        except ModelError as e:
            raise DataError(str(e)) from None
    try:
        ds = (
            load_dataset(name, task, split=split)
            if name == "klue"
            else load_dataset(name, split=split)
        )
    except Exception as e:  # the hub raises many types; all mean "cannot load"
        raise DataError(
            f"cannot load {task.upper()} data set {name!r} split {split!r} from the Hugging Face "
            f"hub ({e}). Offline? Pass a local file instead ({local_formats})."
        ) from e
    return ds.to_pandas()
