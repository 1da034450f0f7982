"""Gold passages in a corpus: the corpus's id for each question's passage, exactly by text
or, when documents were split into overlapping chunks, by the chunk that holds the passage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Dataset

from lc_klue.data.passages import context_id
from lc_klue.errors import DataError


def corpus_ids_by_text(corpus: Dataset) -> dict[str, str]:
    """The corpus's own id of each passage, keyed by the passage's :func:`context_id`."""
    return {
        context_id(c): str(i) for i, c in zip(corpus["context_id"], corpus["context"], strict=True)
    }


def gold_ids(gold_contexts: Sequence[str], corpus: Dataset | None = None) -> list[str]:
    """Map gold passage texts to ids: the corpus's ``context_id`` of the same text, or
    :func:`lc_klue.data.context_id` without a corpus. A gold text absent from the corpus is a
    :class:`DataError` (the question could never be answered)."""
    if corpus is None:
        return [context_id(c) for c in gold_contexts]
    corpus_ids = corpus_ids_by_text(corpus)
    out, missing = [], []
    for n, text in enumerate(gold_contexts):
        cid = corpus_ids.get(context_id(text))
        if cid is None:
            missing.append(n)
        out.append(cid or "")
    if missing:
        first = gold_contexts[missing[0]]
        raise DataError(
            f"{len(missing)} of {len(gold_contexts)} gold context(s) are not in the corpus "
            f"(first: question #{missing[0]}, context {first[:60]!r}...). The corpus must "
            "contain every question's passage."
        )
    return out


#: Characters (spaces left out) of the shingles by which :func:`chunk_gold_ids` finds the
#: chunks that share a gold passage's text.
SHINGLE_CHARS = 8
#: Share of the shorter of a chunk and a gold passage that they must have in common for the
#: chunk to stand for the passage.
MIN_SHARED = 0.5


def chunk_gold_ids(
    gold_contexts: Sequence[str],
    answers: Sequence[dict[str, Any]] | None,
    corpus: Dataset,
) -> list[str | None]:
    """The id of each gold passage in a corpus that may hold it only in pieces (documents
    split into overlapping chunks), None where nothing stands for it.

    The corpus's passage of the same text first, exactly as :func:`gold_ids`; else, among the
    chunks sharing at least :data:`MIN_SHARED` of the shorter text with the gold passage, the
    one that holds its answer where the passage has it (``answers``: MRC ``text`` and
    ``answer_start``, -1 when unknown: then anywhere in the chunk), else the one sharing the
    most characters (ties: the earlier chunk)."""
    corpus_ids = corpus_ids_by_text(corpus)
    ids = [str(i) for i in corpus["context_id"]]
    shared: _SharedText | None = None
    out: list[str | None] = []
    for n, gold in enumerate(gold_contexts):
        cid = corpus_ids.get(context_id(gold))
        if cid is None:
            shared = shared or _SharedText(list(corpus["context"]))
            best = shared.best_chunk(gold, answers[n] if answers else None)
            cid = None if best is None else ids[best]
        out.append(cid)
    return out


def _flat(text: str) -> tuple[str, list[int]]:
    """``text`` without its whitespace, and the offset in ``text`` of each character kept."""
    offsets = [i for i, ch in enumerate(text) if not ch.isspace()]
    return "".join(text[i] for i in offsets), offsets


def _shingles(flat: str) -> list[int]:
    """The hashes of the :data:`SHINGLE_CHARS`-character shingles of ``flat``, by position."""
    k = min(SHINGLE_CHARS, len(flat))
    return [hash(flat[i : i + k]) for i in range(len(flat) - k + 1)] if flat else []


class _SharedText:
    """The chunks of a corpus by their shingles, to find those sharing a passage's text."""

    def __init__(self, texts: list[str]) -> None:
        self.flat = [_flat(t)[0] for t in texts]
        self.postings: dict[int, list[int]] = {}
        for c, flat in enumerate(self.flat):
            for h in dict.fromkeys(_shingles(flat)):
                self.postings.setdefault(h, []).append(c)

    def best_chunk(self, gold: str, answers: dict[str, Any] | None) -> int | None:
        """The chunk that stands for ``gold`` (:func:`chunk_gold_ids`), or None."""
        flat, offsets = _flat(gold)
        k = min(SHINGLE_CHARS, len(flat))
        covered: dict[int, set[int]] = {}  # chunk -> the characters of gold it shares
        for p, h in enumerate(_shingles(flat)):
            for c in self.postings.get(h, ()):
                covered.setdefault(c, set()).update(range(p, p + k))
        spans = _answer_spans(gold, offsets, answers)
        best, best_key = None, (False, 0, 0)
        for c, chars in covered.items():
            if len(chars) < MIN_SHARED * min(len(flat), len(self.flat[c])):
                continue
            holds = any(a in self.flat[c] and at <= chars for a, at in spans)
            key = (holds, len(chars), -c)
            if best is None or key > best_key:
                best, best_key = c, key
        return best


def _answer_spans(
    gold: str, offsets: list[int], answers: dict[str, Any] | None
) -> list[tuple[str, set[int]]]:
    """Each answer of ``gold`` without spaces, with the characters of ``gold``'s flat text it
    takes where ``answer_start`` places it there (empty when it does not)."""
    spans = []
    texts = (answers or {}).get("text") or []
    starts = list((answers or {}).get("answer_start") or []) + [-1] * len(texts)
    for text, start in zip(texts, starts, strict=False):
        flat = "".join(str(text).split())
        if not flat:
            continue
        at: set[int] = set()
        if start >= 0 and gold[start : start + len(text)] == text:
            at = {j for j, o in enumerate(offsets) if start <= o < start + len(text)}
        spans.append((flat, at))
    return spans
