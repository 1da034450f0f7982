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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from datasets import Dataset
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from tqdm.auto import tqdm

from lc_klue.data import context_id, sample_questions, unique_contexts
from lc_klue.data.gold import corpus_ids_by_text, gold_ids
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


@dataclass(frozen=True)
class EvalSettings:
    """How :func:`evaluate_retriever` runs and scores a retriever; checked when made."""

    ks: Sequence[int] = DEFAULT_KS
    """Cut-offs of hit@k (one larger than the corpus simply counts every passage); a retriever
    returning fewer passages than the largest one gets a warning."""
    k_rank: int = 10
    """Cut-off of MRR and nDCG."""
    batch_size: int = 64
    """Questions per ``retriever.batch`` call."""
    latency_queries: int = 100
    """First questions also run one by one with ``invoke`` for p50/p95 latency (0: none)."""
    show_progress: bool = True
    """Show a progress bar over the batches."""

    def __post_init__(self) -> None:
        """:class:`DataError` for settings that cannot work."""
        if not self.ks:
            raise DataError("ks is empty: give at least one k for hit@k")
        for k in [*self.ks, self.k_rank]:
            if not isinstance(k, int | np.integer) or k <= 0:
                raise DataError(f"k must be a positive integer, got {k!r}")
        if self.batch_size <= 0:
            raise DataError(f"batch_size must be positive, got {self.batch_size}")
        if self.latency_queries < 0:
            raise DataError(f"latency_queries must be >= 0, got {self.latency_queries}")


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


def _check_questions(questions: list[str], gold_contexts: list[str]) -> None:
    """:class:`DataError` for no questions, an empty one, or a gold context count that differs."""
    if not questions:
        raise DataError("no questions to evaluate")
    if len(questions) != len(gold_contexts):
        raise DataError(f"{len(questions)} questions but {len(gold_contexts)} gold contexts")
    empty = [i for i, q in enumerate(questions) if not str(q).strip()]
    if empty:
        raise DataError(f"{len(empty)} empty question(s) (first: #{empty[0]})")


def _rankings(
    retriever: BaseRetriever,
    questions: list[str],
    judge: Callable[[list[Document], int], list[str]],
    name: str,
    settings: EvalSettings,
) -> tuple[list[list[str]], float]:
    """The judged ids of every question's results (``judge(docs, i)``), through
    ``retriever.batch`` after one untimed warm-up batch, and the seconds they took."""
    ranked: list[list[str]] = []
    _batch(retriever, questions[:WARMUP_QUERIES], name)  # warm-up, untimed: lazy loading
    start = time.perf_counter()
    size = settings.batch_size
    bar = tqdm(
        total=len(questions),
        desc=f"evaluate {name}",
        disable=not settings.show_progress,
        unit="question",
    )
    with bar:  # counts questions, so its rate and ETA say how long a run takes
        for lo in range(0, len(questions), size):
            chunk = questions[lo : lo + size]
            results = _batch(retriever, chunk, name)
            ranked += [judge(docs, lo + i) for i, docs in enumerate(results)]
            bar.update(len(chunk))
    return ranked, time.perf_counter() - start


def _latencies(retriever: BaseRetriever, questions: list[str], n: int) -> list[float]:
    """Milliseconds of single ``invoke`` calls on the first ``n`` questions, after one
    untimed warm-up call (lazy loading, first-call allocations)."""
    if not n:
        return []
    retriever.invoke(questions[0])
    latencies = []
    for q in questions[:n]:
        t0 = time.perf_counter()
        retriever.invoke(q)
        latencies.append((time.perf_counter() - t0) * 1000.0)
    return latencies


def evaluate_retriever(
    retriever: BaseRetriever,
    questions: Sequence[str],
    gold_contexts: Sequence[str],
    *,
    corpus: Dataset | None = None,
    name: str = "retriever",
    settings: EvalSettings | None = None,
) -> EvaluationResult:
    """Run ``retriever`` on every question and score its rankings.

    ``gold_contexts[i]`` is the text of question ``i``'s passage; with ``corpus`` (the search
    space, ``context_id, title, context``) it is mapped to that corpus's id, otherwise to
    :func:`lc_klue.data.context_id` of the text. A retrieved document is the gold passage when
    its :func:`~lc_klue.data.context_id` or its text matches (:func:`_judged_id`). Questions go
    through ``retriever.batch`` in chunks of ``settings.batch_size`` after one untimed warm-up
    batch of :data:`WARMUP_QUERIES` questions (total time and queries/s); the first
    ``settings.latency_queries`` questions are then also run one by one with ``invoke`` after
    one untimed warm-up call (p50/p95 latency; 0 skips this).
    """
    s = settings or EvalSettings()
    questions, gold_contexts = list(questions), list(gold_contexts)
    _check_questions(questions, gold_contexts)
    gold = gold_ids(gold_contexts, corpus)
    corpus_ids = corpus_ids_by_text(corpus) if corpus is not None else None

    def judge(docs: list[Document], i: int) -> list[str]:
        """The ids question ``i``'s results count as."""
        return [_judged_id(d, gold[i], corpus_ids) for d in docs]

    ranked, total_s = _rankings(retriever, questions, judge, name, s)
    latencies = _latencies(retriever, questions, s.latency_queries)
    max_returned = max((len(r) for r in ranked), default=0)
    warnings = []
    if max_returned < max(s.ks):
        warnings.append(
            f"{name} returned at most {max_returned} documents; hit@{max(s.ks)} counts only those"
        )
        logger.warning(warnings[-1])
    return EvaluationResult(
        name=name,
        metrics=retrieval_metrics(ranked, gold, ks=s.ks, k_rank=s.k_rank),
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


def evaluate(
    retriever: BaseRetriever,
    eval_set: EvalSet,
    *,
    name: str = "retriever",
    settings: EvalSettings | None = None,
) -> EvaluationResult:
    """:func:`evaluate_retriever` on an :class:`EvalSet` (its passages are the corpus)."""
    return evaluate_retriever(
        retriever,
        eval_set.questions,
        eval_set.gold_contexts,
        corpus=eval_set.passages,
        name=name,
        settings=settings,
    )
