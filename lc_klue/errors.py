"""Exceptions raised by lc-klue: one clear message instead of a deep library traceback."""

from __future__ import annotations


class LcKlueError(Exception):
    """Base class of every error lc-klue raises on purpose."""


class DataError(LcKlueError, ValueError):
    """Input data is missing, malformed or empty. The message names the file and the problem."""


class NotUtf8Error(DataError):
    """A text file is not UTF-8 (a folder of documents skips it with a warning)."""


class ModelError(LcKlueError, ValueError):
    """A model path or hub id cannot be used (missing, wrong kind, mismatched with an index)."""


class RetrievalError(LcKlueError, ValueError):
    """A retrieval request cannot be served (empty query, bad k, missing index)."""


def validation_message(error: Exception) -> str:
    """The first problem of a pydantic ``ValidationError`` as one line: ``field: message``."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error).splitlines()[0]
    first = errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}"
