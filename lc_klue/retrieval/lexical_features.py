"""Lexical relevance features of (query, passage) candidates for score fusion.

MRC questions are usually paraphrases of one sentence of their passage, so besides the
passage's BM25 score the features look at the best-matching sentence and at how much of the
question's IDF mass falls inside one short window of the passage:

- ``bm25``: passage BM25 over Kiwi content morphemes (:func:`kiwi_tokenize`);
- ``sentence``: BM25 of the best sentence of the passage (sentences indexed on their own);
- ``sentence_coverage``: share of the question's IDF mass found in the best sentence;
- ``bigram``: BM25 over morphemes plus adjacent-morpheme pairs (phrases, word order);
- ``char2``: BM25 over character bigrams inside words (robust to segmentation differences);
- ``window<N>``: share of the question's IDF mass inside the best window of N morphemes.

Every feature is computed for a passage of the indexed corpus; candidates outside it are an
error. All queries of a batch are analysed with one Kiwi call.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import bm25s
import numpy as np
from langchain_core.documents import Document

from lc_klue.data import context_id
from lc_klue.errors import DataError, RetrievalError
from lc_klue.ranking import bm25_idf
from lc_klue.storage import atomic_write_text
from lc_klue.text import (
    char_ngrams,
    kiwi_tokenize,
    sentence_morphemes,
    sentence_spans,
    with_bigrams,
)

FORMAT = "lc-klue-lexical-features"


def analyse_corpus(
    texts: Sequence[str], show_progress: bool = False
) -> tuple[list[list[str]], list[int]]:
    """One Kiwi analysis of a corpus: every sentence's content morphemes and the row of its
    passage (a passage without sentences is one empty sentence). What :class:`LexicalFeatures`
    indexes, and, joined per passage, the morphemes Kiwi BM25 indexes."""
    sentence_tokens: list[list[str]] = []
    owners: list[int] = []
    for i, sents in enumerate(sentence_morphemes(list(texts), show_progress)):
        parts = sents or [[]]
        sentence_tokens.extend(parts)
        owners.extend([i] * len(parts))
    return sentence_tokens, owners


def passage_morphemes(analysis: tuple[list[list[str]], list[int]], n: int) -> list[list[str]]:
    """The morphemes of each of ``n`` passages, joined from :func:`analyse_corpus`'s."""
    out: list[list[str]] = [[] for _ in range(n)]
    for tokens, owner in zip(*analysis, strict=True):
        out[owner].extend(tokens)
    return out


def _bm25(corpus_tokens: list[list[str]], k1: float, b: float) -> bm25s.BM25:
    index = bm25s.BM25(k1=k1, b=b)
    index.index(corpus_tokens, show_progress=False)
    return index


def _scores(index: bm25s.BM25, tokens: list[str], size: int) -> np.ndarray:
    ids = index.get_tokens_ids(tokens)
    if not ids:
        return np.zeros(size, dtype=np.float32)
    return np.asarray(index.get_scores_from_ids(ids), dtype=np.float32)


class LexicalFeatures:
    """Lexical features of candidates drawn from a fixed passage corpus (see module doc)."""

    def __init__(
        self,
        documents: Sequence[Document],
        *,
        k1: float = 0.9,
        b: float = 0.4,
        windows: Sequence[int] = (12, 25),
        show_progress: bool = False,
        analysis: tuple[list[list[str]], list[int]] | None = None,
    ) -> None:
        """Analyse ``documents`` with Kiwi (:func:`analyse_corpus`) and index them; ``analysis``
        (``sentence_tokens, owners`` from it or :meth:`analysis`) skips the Kiwi work."""
        docs = list(documents)
        if not docs:
            raise DataError("lexical features need a non-empty corpus")
        if any(w <= 0 for w in windows):
            raise DataError(f"window sizes must be positive, got {list(windows)}")
        self.k1, self.b = float(k1), float(b)
        self.windows = tuple(int(w) for w in windows)
        self.names: tuple[str, ...] = (
            "bm25",
            "sentence",
            "sentence_coverage",
            "bigram",
            "char2",
            *(f"window{w}" for w in self.windows),
        )
        self._position = {context_id(d): i for i, d in enumerate(docs)}
        texts = [d.page_content for d in docs]
        if analysis is None:
            sent_tokens, owners = analyse_corpus(texts, show_progress)
        else:
            sent_tokens, owners = [list(t) for t in analysis[0]], [int(o) for o in analysis[1]]
            if len(sent_tokens) != len(owners) or set(owners) != set(range(len(docs))):
                raise DataError("lexical analysis does not match the corpus (re-index it)")
        self._sent_tokens, self._owners = sent_tokens, owners
        self._sentences_of: list[list[int]] = [[] for _ in docs]
        for j, owner in enumerate(owners):
            self._sentences_of[owner].append(j)
        self._tokens = passage_morphemes((sent_tokens, owners), len(docs))
        self._sentence_sets = [set(t) for t in sent_tokens]
        self._n_docs, self._n_sentences = len(docs), len(sent_tokens)
        self._passage = _bm25(self._tokens, k1, b)
        self._sentence = _bm25(sent_tokens, k1, b)
        self._bigram = _bm25([with_bigrams(t) for t in self._tokens], k1, b)
        self._char = _bm25([char_ngrams(t) for t in texts], k1, b)
        df = Counter(term for toks in self._tokens for term in set(toks))
        n = len(docs)
        self._idf = {t: float(bm25_idf(c, n)) for t, c in df.items()}
        self._idf_unseen = float(bm25_idf(0, n))

    def __len__(self) -> int:
        return self._n_docs

    def analysis(self) -> tuple[list[list[str]], list[int]]:
        """The Kiwi analysis of the corpus: each sentence's morphemes and its passage's row."""
        return self._sent_tokens, self._owners

    def save(self, path: str | Path) -> Path:
        """Save the analysis and settings as JSON (atomically); :meth:`load` rebuilds the
        indexes from it in a moment instead of analysing the corpus again."""
        tokens, owners = self.analysis()
        payload = {
            "format": FORMAT,
            "version": 1,
            "k1": self.k1,
            "b": self.b,
            "windows": list(self.windows),
            "passages": self._n_docs,
            "owners": owners,
            "sentence_tokens": tokens,
        }
        return atomic_write_text(path, json.dumps(payload, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path, documents: Sequence[Document]) -> LexicalFeatures:
        """Features of ``documents`` (the corpus they were saved for) from :meth:`save`."""
        file = Path(path).expanduser()
        try:
            payload = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{file}: cannot read the lexical features ({e})") from None
        if payload.get("format") != FORMAT or payload.get("passages") != len(documents):
            raise DataError(f"{file}: not the lexical features of this corpus (re-index it)")
        return cls(
            documents,
            k1=payload["k1"],
            b=payload["b"],
            windows=payload["windows"],
            analysis=(payload["sentence_tokens"], payload["owners"]),
        )

    def _positions(self, docs: Sequence[Document]) -> np.ndarray:
        try:
            return np.array([self._position[context_id(d)] for d in docs], dtype=np.int64)
        except KeyError as e:
            raise RetrievalError(
                f"candidate passage {e.args[0]!r} is not in the corpus the lexical features "
                "were built from; build them over the first stage's corpus"
            ) from None

    def _window_coverage(self, doc: int, query_idf: dict[str, float], total: float) -> list[float]:
        tokens = self._tokens[doc]
        hits = [(p, t) for p, t in enumerate(tokens) if t in query_idf]
        out = []
        for w in self.windows:
            best = 0.0
            for s, (start, _) in enumerate(hits):
                seen = {t for p, t in hits[s:] if p < start + w}
                best = max(best, sum(query_idf[t] for t in seen))
            out.append(best / total)
        return out

    def features(
        self, queries: Sequence[str], candidates: Sequence[Sequence[Document]]
    ) -> list[np.ndarray]:
        """One ``(len(candidates[i]), len(names))`` float32 matrix per query."""
        if len(queries) != len(candidates):
            raise RetrievalError(f"{len(queries)} queries but {len(candidates)} candidate lists")
        out = []
        for tokens, text, docs in zip(
            kiwi_tokenize(list(queries)), queries, candidates, strict=True
        ):
            pos = self._positions(docs)
            feats = np.zeros((len(docs), len(self.names)), dtype=np.float32)
            if not len(docs):
                out.append(feats)
                continue
            sent = _scores(self._sentence, tokens, self._n_sentences)
            feats[:, 0] = _scores(self._passage, tokens, self._n_docs)[pos]
            feats[:, 3] = _scores(self._bigram, with_bigrams(tokens), self._n_docs)[pos]
            feats[:, 4] = _scores(self._char, char_ngrams(text), self._n_docs)[pos]
            query_idf = {t: self._idf.get(t, self._idf_unseen) for t in set(tokens)}
            total = sum(query_idf.values()) or 1.0
            for row, p in enumerate(pos):
                sids = self._sentences_of[p]
                feats[row, 1] = max(sent[j] for j in sids)
                feats[row, 2] = (
                    max(
                        sum(query_idf[t] for t in query_idf.keys() & self._sentence_sets[j])
                        for j in sids
                    )
                    / total
                )
                feats[row, 5:] = self._window_coverage(int(p), query_idf, total)
            out.append(feats)
        return out


class PassageWindows:
    """The best window of each candidate passage for a question, for a cross-encoder that
    reads ``budget`` tokens of passage instead of the whole (windowed reranking).

    A window is a run of whole sentences of at most ``budget`` tokens (``count_tokens``: the
    reranker's tokenizer; default Kiwi morphemes) that covers the most of the question's
    content morphemes, each weighted by its IDF among the question's candidates (the
    ``window<N>`` coverage of :class:`LexicalFeatures`, on sentences). Ties go to the earlier
    window; a passage within the budget is its own window; a longer single sentence stays whole
    (the model truncates it). Passage analyses (sentences, their morphemes and token counts) are
    cached for the most recent ``cache`` texts: passages recur across questions.
    """

    def __init__(
        self,
        budget: int,
        count_tokens: Callable[[list[str]], list[int]] | None = None,
        cache: int = 50_000,
    ) -> None:
        if budget <= 0:
            raise RetrievalError(f"window budget must be positive, got {budget}")
        self.budget = int(budget)
        self._count = count_tokens
        self._cache_size = cache
        self._cache: OrderedDict[str, _Analysed] = OrderedDict()

    def analyse(self, texts: Sequence[str]) -> None:
        """Analyse (and cache) the passages not yet seen, all in one Kiwi call."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if not todo:
            return
        spans = sentence_spans(todo)
        sentences = [s for per in spans for s, _, _ in per]
        tokens = kiwi_tokenize(sentences) if sentences else []
        counts = self._count(sentences) if self._count and sentences else [len(t) for t in tokens]
        j = 0
        for text, per in zip(todo, spans, strict=True):
            n = len(per)
            sets = [frozenset(t) for t in tokens[j : j + n]]
            self._cache[text] = _Analysed(
                [(a, b) for _, a, b in per],
                sets,
                [int(c) for c in counts[j : j + n]],
                frozenset().union(*sets),
            )
            j += n
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def select(
        self, queries: Sequence[str], candidates: Sequence[Sequence[str]]
    ) -> list[list[str]]:
        """Per query, the window text of each of its candidate passages."""
        if len(queries) != len(candidates):
            raise RetrievalError(f"{len(queries)} queries but {len(candidates)} candidate lists")
        self.analyse([t for texts in candidates for t in texts])
        out = []
        for tokens, texts in zip(kiwi_tokenize(list(queries)), candidates, strict=True):
            analysed = [self._cache[t] for t in texts]
            terms = set(tokens)
            df = Counter(t for a in analysed for t in terms & a.terms)
            weights = {t: float(bm25_idf(df.get(t, 0), max(len(texts), 1))) for t in terms}
            out.append([self._window(t, a, weights) for t, a in zip(texts, analysed, strict=True)])
        return out

    def _window(self, text: str, a: _Analysed, weights: dict[str, float]) -> str:
        if not a.spans or sum(a.counts) <= self.budget:
            return text
        hits = [frozenset(weights.keys() & s) for s in a.sets]
        best, best_span = -1.0, (0, 0)
        for start in range(len(a.spans)):
            used, end = 0, start
            covered: set[str] = set()
            while end < len(a.spans) and (end == start or used + a.counts[end] <= self.budget):
                used += a.counts[end]
                covered |= hits[end]
                end += 1
            score = sum(weights[t] for t in covered)
            if score > best:
                best, best_span = score, (start, end - 1)
        return text[a.spans[best_span[0]][0] : a.spans[best_span[1]][1]]


class _Analysed(NamedTuple):
    """A passage's sentences: character spans, content-morpheme sets, token counts."""

    spans: list[tuple[int, int]]
    sets: list[frozenset[str]]
    counts: list[int]
    terms: frozenset[str]
