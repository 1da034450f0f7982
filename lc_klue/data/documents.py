"""Raw documents as passages: text, markdown and JSONL files (or a folder of them), split into
overlapping, sentence-aligned chunks that keep their source and character offsets.

:func:`read_documents` reads the files (one Document per file, or per JSONL row with a
``text`` field); :class:`KoreanSentenceSplitter`, a LangChain ``TextSplitter``, packs Kiwi's
sentences (:func:`lc_klue.text.sentence_spans`) into chunks of at most ``chunk_size``
characters, repeating the last sentences of a chunk (up to ``chunk_overlap`` characters) at the
start of the next; a sentence longer than a chunk is cut by LangChain's
``RecursiveCharacterTextSplitter``. Every chunk is an exact slice of its document:
A document is first split on its markdown headings, so no chunk runs across one, and the
heading lines themselves (``## 설치``) are in no chunk. ``metadata`` holds ``source`` (the file,
relative to the folder), ``start``/``end`` (character offsets), ``heading`` (the text of the
heading the chunk falls under, without ``#``), ``title`` (the source, or a JSONL row's title,
with that heading: ``guide.md › 설치``) and ``context_id`` (``source:start-end``), so answers
can cite where they come from.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter

from lc_klue.data.io import jsonl_rows, read_text
from lc_klue.errors import DataError, NotUtf8Error
from lc_klue.text import sentence_spans

logger = logging.getLogger(__name__)

#: File types read as documents, by suffix.
DOCUMENT_SUFFIXES = (".txt", ".md", ".markdown", ".jsonl")
#: Default chunk size and overlap, in characters (``lc-klue index --chunk-size`` says them too).
CHUNK_SIZE = 500
CHUNK_OVERLAP = 100

#: A markdown (ATX) heading line, without its line break: ``#`` to ``######``, then a space or
#: the end; group 1 is the heading's text (without a closing ``#`` run).
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
#: The opening or closing line of a fenced code block (its ``# comments`` are no headings).
_FENCE = re.compile(r"[ \t]{0,3}(?:```|~~~)")


def is_document_source(path: str | Path) -> bool:
    """Whether ``path`` holds raw documents (a folder, a text or markdown file, or JSONL rows
    with ``text`` and no ``context``) rather than MRC or passage data."""
    p = Path(path).expanduser()
    if p.is_dir():
        return True
    suffix = p.suffix.lower()
    if suffix in (".txt", ".md", ".markdown"):
        return True
    if suffix != ".jsonl" or not p.is_file():
        return False
    try:
        with p.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    return isinstance(row, dict) and "text" in row and "context" not in row
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return False


def _jsonl_documents(path: Path, source: str) -> list[Document]:
    docs = []
    for n, row in jsonl_rows(path):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{path}:{n}: a row needs a string 'text' field")
        if not row["text"].strip():
            logger.warning("%s:%d: empty text, skipped", path, n)
            continue
        name = str(row.get("source") or row.get("id") or f"{source}:{n}")
        docs.append(
            Document(
                page_content=row["text"],
                metadata={"source": name, "title": str(row.get("title") or name)},
            )
        )
    return docs


def _file_documents(path: Path, source: str) -> list[Document]:
    """The documents of one file: a JSONL file's rows, or a text file whole (none if empty)."""
    if path.suffix.lower() == ".jsonl":
        return _jsonl_documents(path, source)
    text = read_text(path)
    if not text.strip():
        logger.warning("%s: empty file, skipped", path)
        return []
    return [Document(page_content=text, metadata={"source": source, "title": source})]


def read_documents(path: str | Path) -> list[Document]:
    """The documents of a file or folder: text and markdown files whole, JSONL one row each
    (``text``; ``title``, ``source`` or ``id`` optional). A folder is read recursively in name
    order (hidden files and other types skipped); empty files, and in a folder files that are
    not UTF-8, are skipped with a warning; no text at all is a :class:`DataError`."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: file or folder not found")
    if root.is_dir():
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        skipped = [p for p in files if p.suffix.lower() not in DOCUMENT_SUFFIXES]
        if skipped:
            logger.warning(
                "%s: %d file(s) of other types skipped (first: %s); read: %s",
                root,
                len(skipped),
                skipped[0].relative_to(root),
                ", ".join(DOCUMENT_SUFFIXES),
            )
        files = [p for p in files if p.suffix.lower() in DOCUMENT_SUFFIXES]
        named = [(p, p.relative_to(root).as_posix()) for p in files]
    else:
        if root.suffix.lower() not in DOCUMENT_SUFFIXES:
            raise DataError(
                f"{root}: unsupported document type {root.suffix or '(none)'}; "
                f"use {', '.join(DOCUMENT_SUFFIXES)}"
            )
        named = [(root, root.name)]
    docs: list[Document] = []
    for file, source in named:
        try:
            docs += _file_documents(file, source)
        except NotUtf8Error as e:
            if not root.is_dir():
                raise
            logger.warning("skipped %s", e)
    if not docs:
        raise DataError(f"{root}: no text to index (no non-empty {', '.join(DOCUMENT_SUFFIXES)})")
    return docs


def _sections(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """The markdown sections of ``text``: per section, its heading's text (``""`` before the
    first heading) and the ``(start, end)`` of its blocks, the runs of lines between blank
    lines. Heading lines are in no block, so no chunk holds one or runs across it; a ``#``
    line inside a fenced code block is no heading. Sections without text are left out."""
    sections: list[tuple[str, list[tuple[int, int]]]] = [("", [])]
    start: int | None = None
    fenced = False
    pos = 0
    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.fullmatch(line.rstrip("\r\n"))
        if (not line.strip() or heading) and start is not None:
            sections[-1][1].append((start, pos))
            start = None
        if heading:
            sections.append(((heading.group(1) or "").strip(), []))
        elif line.strip() and start is None:
            start = pos
        pos = end
    if start is not None:
        sections[-1][1].append((start, pos))
    return [(heading, blocks) for heading, blocks in sections if blocks]


class KoreanSentenceSplitter(TextSplitter):
    """Sentence-aware chunks for Korean (Kiwi), with overlap, as exact slices of the text.

    ``chunk_size`` and ``chunk_overlap`` count characters. A text is first split on its markdown
    headings: a chunk never runs across one, and heading lines (``# …``) are in no chunk (their
    text is the chunk's ``heading``). Sentences never run across a blank line. A chunk holds
    whole sentences (a sentence longer than
    ``chunk_size`` alone is cut at spaces); the next chunk starts with the last sentences of
    the previous one that fit in ``chunk_overlap``.
    """

    def __init__(
        self, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP, **kwargs: Any
    ) -> None:
        """Validate the sizes (one :class:`DataError` line) and set up the splitter."""
        if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
            raise DataError(
                f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got "
                f"{chunk_size} and {chunk_overlap}"
            )
        super().__init__(chunk_size=chunk_size, chunk_overlap=chunk_overlap, **kwargs)
        self._long = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=0, add_start_index=True
        )

    def split_text(self, text: str) -> list[str]:
        """The chunks of ``text``."""
        return [text[s:e] for s, e in self.spans([text])[0]]

    def spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Per text, the ``(start, end)`` of its chunks (one batched Kiwi call for all)."""
        return [[(s, e) for s, e, _ in chunks] for chunks in self.sections(texts)]

    def sections(self, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        """Per text, ``(start, end, heading)`` of its chunks: each markdown section (see
        :func:`_sections`) is chunked on its own, ``heading`` its heading's text (``""``
        before the first heading). One batched Kiwi call for all texts."""
        found = [_sections(t) for t in texts]
        flat = [
            t[s:e] for t, secs in zip(texts, found, strict=True) for _, bs in secs for s, e in bs
        ]
        sentences = iter(sentence_spans(flat))
        out = []
        for text, secs in zip(texts, found, strict=True):
            chunks: list[tuple[int, int, str]] = []
            for heading, blocks in secs:
                units: list[tuple[int, int]] = []
                for start, _ in blocks:
                    for _, s, e in next(sentences):
                        units += self._fit(text, start + s, start + e)
                chunks += [(s, e, heading) for s, e in self._pack(units)]
            out.append(chunks)
        return out

    def _fit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """A sentence as one unit, or cut into pieces of at most ``chunk_size``."""
        if end - start <= self._chunk_size:
            return [(start, end)]
        pieces = self._long.create_documents([text[start:end]])
        return [
            (
                start + p.metadata["start_index"],
                start + p.metadata["start_index"] + len(p.page_content),
            )
            for p in pieces
        ]

    def _pack(self, units: list[tuple[int, int]]) -> list[tuple[int, int]]:
        chunks: list[tuple[int, int]] = []
        i = 0
        while i < len(units):
            j = i
            while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= self._chunk_size:
                j += 1
            chunks.append((units[i][0], units[j][1]))
            if j == len(units) - 1:
                break
            nxt = j + 1
            while nxt - 1 > i and units[j][1] - units[nxt - 1][0] <= self._chunk_overlap:
                nxt -= 1
            i = nxt
        return chunks

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        """The chunks of every document, with ``source``, ``start``, ``end``, ``heading`` (the
        markdown heading the chunk falls under, without ``#``; ``""`` if none), ``title``
        (``title › heading``) and ``context_id`` (``source:start-end``) in their metadata."""
        docs = list(documents)
        out = []
        for doc, chunks in zip(docs, self.sections([d.page_content for d in docs]), strict=True):
            source = str(doc.metadata.get("source") or doc.metadata.get("title") or "document")
            base = str(doc.metadata.get("title") or source)
            for n, (s, e, heading) in enumerate(chunks):
                out.append(
                    Document(
                        page_content=doc.page_content[s:e],
                        metadata={
                            **doc.metadata,
                            "source": source,
                            "title": f"{base} › {heading}" if heading else base,
                            "heading": heading,
                            "chunk": n,
                            "start": s,
                            "end": e,
                            "context_id": f"{source}:{s}-{e}",
                        },
                    )
                )
        return out


def document_passages(
    path: str | Path, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP
) -> list[Document]:
    """The passages of raw documents: :func:`read_documents` split by
    :class:`KoreanSentenceSplitter`."""
    splitter = KoreanSentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    passages = splitter.split_documents(read_documents(path))
    if not passages:
        raise DataError(f"{path}: no sentences to index")
    return passages
