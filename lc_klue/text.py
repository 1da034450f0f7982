"""Korean text with Kiwi: the one analyser, content morphemes and sentences.

Everything in lc-klue that needs Korean word-level tokens (BM25, lexical features, the
extractive answer) or sentences (lexical features, answers, chunking) comes here, so the whole
package agrees on one analysis.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from tqdm.auto import tqdm

from lc_klue.errors import DataError, ModelError

#: Kiwi tags kept as content morphemes: nouns, numerals, verb/adjective stems, roots, foreign
#: words, numbers, Chinese characters, and web tokens (URL, e-mail, hashtag, mention, serial).
CONTENT_TAGS = frozenset(
    {
        "NNG",
        "NNP",
        "NNB",
        "NR",
        "VV",
        "VA",
        "XR",
        "SL",
        "SN",
        "SH",
        "W_URL",
        "W_EMAIL",
        "W_HASHTAG",
        "W_MENTION",
        "W_SERIAL",
    }
)

#: How Kiwi reads texts. ``context``: each text whole, every word in its sentence (the default).
#: ``word``: each distinct whitespace word analysed once, alone, and reused wherever it occurs;
#: on a large corpus, where words repeat, most of the analysis is skipped (KorQuAD: BM25 hit@1
#: 0.889 against 0.880, the default pipeline 0.913 against 0.917; ``results/README.md``).
ANALYSES = ("context", "word")

#: Texts whose new words ``word`` analysis sends to Kiwi in one call.
WORD_BATCH = 10_000

_kiwi: Any = None
_kiwi_lock = threading.Lock()


def get_kiwi() -> Any:
    """The process-wide Kiwi analyser (loading takes about a second, so it is made once)."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi()
    return _kiwi


def kiwi_model_version() -> str:
    """The installed kiwipiepy-model version: the Kiwi model (dictionaries and language model)
    that every analysis uses (:class:`ModelError` when it is missing)."""
    from importlib import metadata

    for name in ("kiwipiepy_model", "kiwipiepy-model"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    raise ModelError("kiwipiepy-model is not installed: pip install kiwipiepy-model==0.24.0")


def same_kiwi_model(built_with: str | None) -> str:
    """The installed kiwipiepy-model version, after checking that a model built with Kiwi model
    ``built_with`` (None: a new model) can use it (token ids differ between versions)."""
    installed = kiwi_model_version()
    if built_with is not None and built_with != installed:
        raise ModelError(
            f"this model was built with kiwipiepy-model {built_with}, but {installed} is "
            f"installed (token ids differ): pip install kiwipiepy-model=={built_with}"
        )
    return installed


def base_tag(tag: str) -> str:
    """A Kiwi tag without its conjugation mark (``VV-R`` → ``VV``)."""
    return tag.split("-", 1)[0]


def content_morphemes(tokens: Iterable[Any]) -> list[str]:
    """The forms of the content tokens among Kiwi ``tokens``; Latin words lower-cased. Forms
    are interned: a corpus holds each distinct morpheme once, not once per occurrence."""
    out = []
    for t in tokens:
        tag = base_tag(t.tag)
        if tag in CONTENT_TAGS:
            out.append(sys.intern(t.form.lower() if tag == "SL" else t.form))
    return out


def check_analysis(analysis: str) -> str:
    """``analysis`` if it is one of :data:`ANALYSES`, else one :class:`DataError` line."""
    if analysis not in ANALYSES:
        raise DataError(f"unknown Kiwi analysis {analysis!r}; choose from {', '.join(ANALYSES)}")
    return analysis


@overload
def kiwi_tokenize(
    texts: str, show_progress: bool = False, *, analysis: str = "context"
) -> list[str]: ...
@overload
def kiwi_tokenize(
    texts: list[str] | tuple[str, ...], show_progress: bool = False, *, analysis: str = "context"
) -> list[list[str]]: ...
def kiwi_tokenize(
    texts: str | list[str] | tuple[str, ...],
    show_progress: bool = False,
    *,
    analysis: str = "context",
) -> list[str] | list[list[str]]:
    """Content morphemes of Korean text (see :data:`CONTENT_TAGS`). A list of texts is
    analysed in one batched Kiwi call (with a progress bar if ``show_progress``); ``analysis``
    ``word`` analyses each distinct word once instead (:data:`ANALYSES`)."""
    if check_analysis(analysis) == "word":
        if isinstance(texts, str):
            return _word_tokenize([texts], False)[0]
        return _word_tokenize(list(texts), show_progress)
    kiwi = get_kiwi()
    if isinstance(texts, str):
        return content_morphemes(kiwi.tokenize(texts))
    texts = list(texts)
    if not texts:
        return []
    analysed = kiwi.tokenize(texts)
    if show_progress:
        analysed = tqdm(analysed, total=len(texts), desc="Kiwi", unit="text")
    return [content_morphemes(tokens) for tokens in analysed]


def _word_tokenize(texts: list[str], show_progress: bool) -> list[list[str]]:
    """``word`` analysis: texts split at whitespace, each distinct word's content morphemes
    from one batched Kiwi call per :data:`WORD_BATCH` texts (new words only), then reused."""
    kiwi = get_kiwi()
    cache: dict[str, list[str]] = {}
    out: list[list[str]] = []
    with tqdm(total=len(texts), desc="Kiwi (words)", unit="text", disable=not show_progress) as bar:
        for start in range(0, len(texts), WORD_BATCH):
            words = [t.split() for t in texts[start : start + WORD_BATCH]]
            new = list(dict.fromkeys(w for ws in words for w in ws if w not in cache))
            if new:
                for word, tokens in zip(new, kiwi.tokenize(new), strict=True):
                    cache[word] = content_morphemes(tokens)
            out.extend([m for w in ws for m in cache[w]] for ws in words)
            bar.update(len(words))
    return out


@overload
def split_sentences(texts: str, show_progress: bool = False) -> list[str]: ...
@overload
def split_sentences(
    texts: list[str] | tuple[str, ...], show_progress: bool = False
) -> list[list[str]]: ...
def split_sentences(
    texts: str | list[str] | tuple[str, ...], show_progress: bool = False
) -> list[str] | list[list[str]]:
    """Kiwi's sentences of a text (quotes, numbers and missing periods handled), stripped and
    non-empty; a list of texts is split in one batched call."""
    if isinstance(texts, str):
        return [s for s, _, _ in sentence_spans([texts])[0]]
    return [[s for s, _, _ in spans] for spans in sentence_spans(texts, show_progress)]


def sentence_spans(
    texts: list[str] | tuple[str, ...], show_progress: bool = False
) -> list[list[tuple[str, int, int]]]:
    """Per text, ``(sentence, start, end)`` with ``text[start:end] == sentence``: the stripped,
    non-empty sentences and their character offsets."""
    texts = list(texts)
    out: list[list[tuple[str, int, int]]] = [[] for _ in texts]
    for i, sents in _kiwi_sentences(texts, False, show_progress, "sentences"):
        text = texts[i]
        for s in sents:
            start, end = int(s.start), int(s.end)
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                out[i].append((text[start:end], start, end))
    return out


def sentence_morphemes(
    texts: list[str] | tuple[str, ...], show_progress: bool = False
) -> list[list[list[str]]]:
    """Per text, the content morphemes of each of its sentences (those of
    :func:`sentence_spans`), from one Kiwi analysis of the whole text: the passage's morphemes,
    grouped by sentence (:func:`kiwi_tokenize` and :func:`split_sentences` together cost twice
    as much)."""
    texts = list(texts)
    out: list[list[list[str]]] = [[] for _ in texts]
    for i, sents in _kiwi_sentences(texts, True, show_progress, "Kiwi"):
        out[i] = [content_morphemes(s.tokens) for s in sents if s.text.strip()]
    return out


def _kiwi_sentences(
    texts: list[str], return_tokens: bool, show_progress: bool, desc: str
) -> Iterator[tuple[int, Any]]:
    """``(row, Kiwi's sentences)`` of each non-blank text, from one batched
    ``split_into_sents`` call (with tokens if ``return_tokens``; a progress bar ``desc``)."""
    todo = [i for i, t in enumerate(texts) if t.strip()]
    if not todo:
        return iter(())
    split = get_kiwi().split_into_sents([texts[i] for i in todo], return_tokens=return_tokens)
    if show_progress:
        split = tqdm(split, total=len(todo), desc=desc, unit="text")
    return zip(todo, split, strict=True)


# --------------------------------------------------------------------------- surface n-grams

#: Joins the two morphemes of an adjacent pair (:func:`with_bigrams`).
PAIR_SEPARATOR = "\u241f"


def char_ngrams(text: str, n: int = 2) -> list[str]:
    """Character ``n``-grams inside each whitespace word (punctuation dropped): matches that
    survive segmentation differences (해상풍력 / 해상 풍력)."""
    out: list[str] = []
    for word in text.split():
        w = "".join(ch for ch in word if ch.isalnum()).lower()
        if len(w) >= n:
            out.extend(w[i : i + n] for i in range(len(w) - n + 1))
        elif w:
            out.append(w)
    return out


def with_bigrams(tokens: Sequence[str]) -> list[str]:
    """``tokens`` followed by every adjacent pair joined with :data:`PAIR_SEPARATOR`."""
    return [*tokens, *(a + PAIR_SEPARATOR + b for a, b in itertools.pairwise(tokens))]


def lexical_overlap(question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's content morphemes (Kiwi) that each text contains."""
    query, *tokens = kiwi_tokenize([question, *sentences])
    terms = set(query)
    if not terms:
        return [0.0] * len(sentences)
    return [len(terms & set(t)) / len(terms) for t in tokens]
