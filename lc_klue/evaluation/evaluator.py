"""Evaluate any LangChain retriever on (question, gold passage) pairs: quality and cost.

Two protocols build the questions and the search space from an MRC data set:

- ``"book"``: the book's evaluation: ``n`` sampled questions, searched among their own
  contexts only (no distractors beyond the sample).
- ``"full"``: the same sampled questions searched among every distinct passage of the data set,
  or of a separate ``corpus`` (the user's own document collection, with distractors).

Quality comes from :mod:`lc_klue.ranking`; throughput from ``retriever.batch``
(one call per chunk of questions, so retrievers that encode/score queries together are measured
that way); per-query latency from single ``retriever.invoke`` calls on the first questions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from datasets import Dataset
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from tqdm.auto import tqdm

from lc_klue.data import context_id, sample_questions, unique_contexts
from lc_klue.errors import DataError, RetrievalError
from lc_klue.ranking import DEFAULT_KS, first_relevant_rank, retrieval_metrics

logger = logging.getLogger(__name__)

Protocol = Literal["book", "full"]
PROTOCOLS: tuple[str, ...] = ("book", "full")


@dataclass(frozen=True)
class EvalSet:
    """Questions, their gold passage texts, and the passages that form the search space."""

    questions: list[str]
    gold_contexts: list[str]
    passages: Dataset  # columns context_id, title, context
    protocol: str

    def documents(self) -> list[Document]:
        """The search space as LangChain documents (metadata ``context_id`` and ``title``)."""
        return [
            Document(page_content=c, metadata={"context_id": i, "title": t})
            for i, t, c in zip(
                self.passages["context_id"],
                self.passages["title"],
                self.passages["context"],
                strict=True,
            )
        ]

    def gold_ids(self) -> list[str]:
        """The gold passage id of every question, looked up in :attr:`passages`."""
        return gold_ids(self.gold_contexts, self.passages)

    def describe(self) -> dict[str, Any]:
        """Sizes for reports."""
        return {
            "protocol": self.protocol,
            "questions": len(self.questions),
            "passages": len(self.passages),
        }


def _corpus_ids(corpus: Dataset) -> dict[str, str]:
    """The corpus's own id of each passage, keyed by the passage's :func:`context_id`."""
    return {
        context_id(c): str(i) for i, c in zip(corpus["context_id"], corpus["context"], strict=True)
    }


def _judged_id(doc: Document, gold: str, corpus_ids: dict[str, str] | None) -> str:
    """The id a retrieved document counts as for a question whose gold id is ``gold``.

    A document is the gold passage when its :func:`context_id` is the gold id or its text is
    the gold passage's text (the same passage under another id scheme, e.g. a store that keeps
    its own ids). Otherwise it counts as its :func:`context_id`.
    """
    own = context_id(doc)
    by_text = context_id(doc.page_content)
    if corpus_ids is not None:
        by_text = corpus_ids.get(by_text, by_text)
    return gold if gold in (own, by_text) else own


def gold_ids(gold_contexts: Sequence[str], corpus: Dataset | None = None) -> list[str]:
    """Map gold passage texts to ids: the corpus's ``context_id`` of the same text, or
    :func:`lc_klue.data.context_id` without a corpus. A gold text absent from the corpus is a
    :class:`DataError` (the question could never be answered)."""
    if corpus is None:
        return [context_id(c) for c in gold_contexts]
    corpus_ids = _corpus_ids(corpus)
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
    corpus_ids = _corpus_ids(corpus)
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


def build_eval_set(
    data: Dataset,
    protocol: str = "full",
    n_questions: int | None = 1000,
    seed: int = 42,
    corpus: Dataset | None = None,
) -> EvalSet:
    """Questions and search space for ``protocol`` from an MRC data set.

    ``n_questions`` questions are drawn with :func:`lc_klue.data.sample_questions` (the book's
    sample; ``None`` keeps all). ``"book"`` searches the sample's own contexts; ``"full"``
    searches ``corpus`` (``context_id, title, context``, e.g. from
    :func:`lc_klue.data.load_passages`) or, without one, every distinct context of ``data``.
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if len(data) == 0:
        raise DataError("the evaluation data set has no questions")
    for col in ("question", "context"):
        if col not in data.column_names:
            raise DataError(f"the evaluation data set has no {col!r} column")
    sample = data if n_questions is None else sample_questions(data, n_questions, seed=seed)
    if protocol == "book":
        if corpus is not None:
            raise DataError(
                "the book protocol searches the sampled questions' own contexts; "
                "a separate corpus needs protocol 'full'"
            )
        passages = unique_contexts(sample)
    else:
        passages = corpus if corpus is not None else unique_contexts(data)
    if len(passages) == 0:
        raise DataError("the corpus has no passages")
    es = EvalSet(
        questions=list(sample["question"]),
        gold_contexts=list(sample["context"]),
        passages=passages,
        protocol=protocol,
    )
    es.gold_ids()  # fail early when the corpus lacks a gold passage
    return es


@dataclass
class EvaluationResult:
    """Quality and cost of one retriever on one question set."""

    name: str
    metrics: dict[str, float]
    n_queries: int
    total_s: float
    queries_per_s: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_mean_ms: float | None
    latency_queries: int
    max_returned: int
    ranks: list[int] = field(repr=False)  # 1-based rank of the gold passage, 0 when missed
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_speedup(self) -> float | None:
        """How much faster ``batch`` served a query than one ``invoke`` (mean latency)."""
        if self.latency_mean_ms is None or self.total_s <= 0:
            return None
        return self.latency_mean_ms / 1000.0 / (self.total_s / self.n_queries)

    def to_dict(self, with_ranks: bool = False) -> dict[str, Any]:
        """JSON-ready dict (per-query ranks only when asked)."""
        d = asdict(self)
        d["batch_speedup"] = self.batch_speedup
        if not with_ranks:
            d.pop("ranks")
        return d


def _check_ks(ks: Sequence[int], k_rank: int) -> None:
    """Positive cut-offs (one larger than the corpus simply counts every passage)."""
    if not ks:
        raise DataError("ks is empty: give at least one k for hit@k")
    for k in [*ks, k_rank]:
        if not isinstance(k, int | np.integer) or k <= 0:
            raise DataError(f"k must be a positive integer, got {k!r}")


#: Questions of the untimed warm-up ``batch`` call before the timed ones: the first call's
#: start-up cost (lazy model loading, first allocations) is not the retriever's throughput.
WARMUP_QUERIES = 4


def _batch(retriever: BaseRetriever, questions: list[str], name: str) -> list[list[Document]]:
    """``retriever.batch(questions)``; a failure other than a :class:`RetrievalError` becomes
    one that names the retriever, instead of a deep traceback."""
    try:
        return retriever.batch(questions)
    except RetrievalError:
        raise
    except Exception as e:  # any retriever may fail
        raise RetrievalError(f"retriever {name!r} failed on a batch: {e}") from e


def evaluate_retriever(
    retriever: BaseRetriever,
    questions: Sequence[str],
    gold_contexts: Sequence[str],
    *,
    corpus: Dataset | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    k_rank: int = 10,
    batch_size: int = 64,
    latency_queries: int = 100,
    name: str = "retriever",
    show_progress: bool = True,
) -> EvaluationResult:
    """Run ``retriever`` on every question and score its rankings.

    ``gold_contexts[i]`` is the text of question ``i``'s passage; with ``corpus`` (the search
    space, ``context_id, title, context``) it is mapped to that corpus's id, otherwise to
    :func:`lc_klue.data.context_id` of the text. A retrieved document is the gold passage when
    its :func:`~lc_klue.data.context_id` or its text matches (:func:`_judged_id`). Questions go
    through ``retriever.batch`` in chunks of ``batch_size`` after one untimed warm-up batch of
    :data:`WARMUP_QUERIES` questions (total time and queries/s); the first ``latency_queries``
    questions are then also run one by one with ``invoke`` after one untimed warm-up call
    (p50/p95 latency; 0 skips this).
    """
    questions = list(questions)
    gold_contexts = list(gold_contexts)
    if not questions:
        raise DataError("no questions to evaluate")
    if len(questions) != len(gold_contexts):
        raise DataError(f"{len(questions)} questions but {len(gold_contexts)} gold contexts")
    empty = [i for i, q in enumerate(questions) if not str(q).strip()]
    if empty:
        raise DataError(f"{len(empty)} empty question(s) (first: #{empty[0]})")
    if batch_size <= 0:
        raise DataError(f"batch_size must be positive, got {batch_size}")
    if latency_queries < 0:
        raise DataError(f"latency_queries must be >= 0, got {latency_queries}")
    _check_ks(ks, k_rank)
    gold = gold_ids(gold_contexts, corpus)
    corpus_ids = _corpus_ids(corpus) if corpus is not None else None

    ranked: list[list[str]] = []
    _batch(retriever, questions[:WARMUP_QUERIES], name)  # warm-up, untimed: lazy loading
    start = time.perf_counter()
    chunks = range(0, len(questions), batch_size)
    for lo in tqdm(chunks, desc=f"evaluate {name}", disable=not show_progress, unit="batch"):
        results = _batch(retriever, questions[lo : lo + batch_size], name)
        for docs, g in zip(results, gold[lo : lo + batch_size], strict=True):
            ranked.append([_judged_id(d, g, corpus_ids) for d in docs])
    total_s = time.perf_counter() - start

    latencies: list[float] = []
    if latency_queries:
        retriever.invoke(questions[0])  # warm-up: lazy loading, first-call allocations
        for q in questions[:latency_queries]:
            t0 = time.perf_counter()
            retriever.invoke(q)
            latencies.append((time.perf_counter() - t0) * 1000.0)

    max_returned = max((len(r) for r in ranked), default=0)
    warnings = []
    if max_returned < max(ks):
        warnings.append(
            f"{name} returned at most {max_returned} documents; hit@{max(ks)} counts only those"
        )
        logger.warning(warnings[-1])
    return EvaluationResult(
        name=name,
        metrics=retrieval_metrics(ranked, gold, ks=ks, k_rank=k_rank),
        n_queries=len(questions),
        total_s=total_s,
        queries_per_s=len(questions) / total_s if total_s > 0 else float("inf"),
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else None,
        latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else None,
        latency_mean_ms=float(np.mean(latencies)) if latencies else None,
        latency_queries=len(latencies),
        max_returned=max_returned,
        ranks=first_relevant_rank(ranked, gold).tolist(),
        warnings=warnings,
    )


def evaluate(retriever: BaseRetriever, eval_set: EvalSet, **kwargs: Any) -> EvaluationResult:
    """:func:`evaluate_retriever` on an :class:`EvalSet` (its passages are the corpus)."""
    return evaluate_retriever(
        retriever, eval_set.questions, eval_set.gold_contexts, corpus=eval_set.passages, **kwargs
    )
