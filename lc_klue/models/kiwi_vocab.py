"""Kiwi morphemes as the vocabulary of a model: every token of a Kiwi analysis gets a row.

Rows ``0 … V-1`` are the morphemes of the CoNg table (:mod:`lc_klue.models.cong`), indexed by
Kiwi's own token id, so they can start from the pretrained vectors. A token outside the table
takes the row of the same form and tag when the table has one (or of its allomorph, for
particle variants such as 는/JX → 은/JX), else its ``base_id``'s row,
else one of ``oov_buckets`` rows chosen by a stable hash of ``form/tag``. That covers Kiwi's
larger ids (function-word variants, multi-word dictionary entries) and its placeholder ids
``0 … 63``, which Kiwi gives every unknown form of a tag (all numbers share one, as do all
unknown nouns): unknown names, terms and numbers still get a row of their own (up to
collisions), shared by every text that contains them. Special
rows for transformers (``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]``) come last.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import Any, NamedTuple

from lc_klue.models.cong import cong_table
from lc_klue.text import CONTENT_TAGS, base_tag, get_kiwi

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")
#: Kiwi gives some particle and ending variants ids outside the table; their allomorph in
#: the table (by form; the tag must match): 는 → 은, 를 → 을, 가 → 이 …, else 으+form, 이+form.
ALLOMORPHS = {"는": "은", "를": "을", "가": "이", "와": "과", "은": "ᆫ", "을": "ᆯ"}
#: Texts whose analysis :meth:`KiwiVocab.encode_keys` keeps (passages recur while training
#: and reranking; Kiwi's analysis is the slow part).
CACHE_TEXTS = 50_000
#: Distinct tokens (id, form, tag) whose row and hash :meth:`KiwiVocab.lookup` keeps.
TOKEN_CACHE = 1_000_000


def token_key(form: str, tag: str) -> str:
    """The stable name of a morpheme: ``form/TAG`` (tag without conjugation mark; Latin words
    lower-cased, as :func:`lc_klue.text.content_morphemes` does)."""
    tag = base_tag(tag)
    return f"{form.lower() if tag == 'SL' else form}/{tag}"


def stable_hash(text: str) -> int:
    """A non-negative 63-bit hash of ``text`` that is the same in every process (unlike
    ``hash``); it fits an int64 tensor."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


class Encoded(NamedTuple):
    """The kept tokens of one text: rows, ``form/tag`` hashes and sentence numbers."""

    rows: list[int]
    hashes: list[int]
    sentences: list[int]


class KiwiVocab:
    """Token → row mapping over Kiwi analyses (see the module docstring)."""

    def __init__(self, oov_buckets: int = 16_384, content_only: bool = False) -> None:
        if oov_buckets < 1:
            raise ValueError(f"oov_buckets must be positive, got {oov_buckets}")
        table = cong_table()
        self.table_size = table.vocab
        self.placeholders = table.placeholders
        self.oov_buckets = oov_buckets
        self.content_only = content_only
        self._cache: OrderedDict[str, Encoded] = OrderedDict()
        self._tokens: dict[tuple[int, str, str], tuple[int, int]] = {}
        self._kept_tags: dict[str, bool] = {}

    @property
    def size(self) -> int:
        """Rows in all: the CoNg table, the hash buckets and the special rows."""
        return self.table_size + self.oov_buckets + len(SPECIALS)

    def special(self, name: str) -> int:
        """The row of a special token (``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]``)."""
        return self.table_size + self.oov_buckets + SPECIALS.index(name)

    @cached_property
    def _table_ids(self) -> dict[str, int]:
        kiwi = get_kiwi()
        out: dict[str, int] = {}
        for i in range(self.table_size):
            m = kiwi.morpheme(i)
            out.setdefault(token_key(m.form, m.tag), i)
        return out

    def bucket(self, key: str) -> int:
        """The hash-bucket row of a morpheme outside the table."""
        return self.table_size + stable_hash(key) % self.oov_buckets

    def row(self, token: Any) -> int:
        """The row of one Kiwi ``Token``."""
        if self.placeholders <= token.id < self.table_size:
            return int(token.id)
        key = token_key(token.form, token.tag)
        tag = base_tag(token.tag)
        for form in (token.form, ALLOMORPHS.get(token.form), "으" + token.form, "이" + token.form):
            known = self._table_ids.get(token_key(form, tag)) if form else None
            if known is not None:
                return known
        base = getattr(token, "base_id", -1)
        if self.placeholders <= base < self.table_size:
            return int(base)
        return self.bucket(key)

    def keep(self, token: Any) -> bool:
        """Whether a token is encoded (all, or content morphemes only)."""
        return self._keeps(token.tag)

    def _keeps(self, tag: str) -> bool:
        """Whether tokens of Kiwi ``tag`` are encoded (one answer per tag, kept)."""
        kept = self._kept_tags.get(tag)
        if kept is None:
            kept = self._kept_tags[tag] = not self.content_only or base_tag(tag) in CONTENT_TAGS
        return kept

    def lookup(self, token: Any) -> tuple[int, int]:
        """The row and the ``form/tag`` hash (:func:`stable_hash`) of one Kiwi ``Token``
        (kept for the most frequent :data:`TOKEN_CACHE` distinct tokens)."""
        key = (int(token.id), token.form, token.tag)
        found = self._tokens.get(key)
        if found is None:
            found = (self.row(token), stable_hash(token_key(token.form, token.tag)))
            if len(self._tokens) >= TOKEN_CACHE:
                self._tokens.clear()
            self._tokens[key] = found
        return found

    def _encode_tokens(self, tokens: Iterable[Any]) -> Encoded:
        """Rows, hashes and sentence numbers of the kept ``tokens`` of one text."""
        rows: list[int] = []
        hashes: list[int] = []
        sentences: list[int] = []
        for t in tokens:
            if self._keeps(t.tag):
                row, key_hash = self.lookup(t)
                rows.append(row)
                hashes.append(key_hash)
                sentences.append(t.sent_position)
        return Encoded(rows, hashes, sentences)

    def analyse(self, texts: Sequence[str]) -> list[list[Any]]:
        """Kiwi's tokens of each text, in one batched call (empty texts give no tokens)."""
        return [list(tokens) for _, tokens in self._stream(list(texts))]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """The rows of the kept tokens of each text."""
        return [self.rows(tokens) for tokens in self.analyse(texts)]

    def rows(self, tokens: Iterable[Any]) -> list[int]:
        """The rows of the kept ``tokens``."""
        return [self.row(t) for t in tokens if self.keep(t)]

    def encode_keys(self, texts: Sequence[str]) -> list[Encoded]:
        """Per text, the rows, ``form/tag`` hashes (:func:`stable_hash`) and sentence numbers of
        its kept tokens; analyses are cached (the most recent :data:`CACHE_TEXTS` texts)."""
        cache = self._cache
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        fresh = {text: self._encode_tokens(tokens) for text, tokens in self._stream(todo)}
        out = []
        for text in texts:
            found = fresh.get(text)
            if found is None:
                found = cache[text]
                cache.move_to_end(text)
            out.append(found)
        for text, encoded in fresh.items():
            cache[text] = encoded
        while len(cache) > CACHE_TEXTS:
            cache.popitem(last=False)
        return out

    def _stream(self, texts: list[str]) -> Iterator[tuple[str, Iterable[Any]]]:
        """``(text, tokens)`` as Kiwi's workers finish them (the caller's work on one text
        overlaps the analysis of the next); empty texts give no tokens."""
        todo = [t for t in texts if t.strip()]
        analysed = iter(get_kiwi().tokenize(todo)) if todo else iter(())
        for text in texts:
            yield text, (next(analysed) if text.strip() else ())
