"""Training-time evaluation: sentence-transformers evaluators of what each stage measures.

- STS: Spearman of cosine similarity against the gold scores (:func:`sts_evaluator`, an
  ``EmbeddingSimilarityEvaluator``).
- The book's pair evaluation: the first ``n`` test questions with their own passage (1) and a
  passage of another title (0), for a bi-encoder (:func:`pair_evaluator`) or a cross-encoder
  (:func:`correlation_evaluator`, a ``CrossEncoderCorrelationEvaluator``).
- Retrieval: a bi-encoder ranking the held-out passages (:class:`RetrievalEvaluator`), and a
  cross-encoder reordering each question's candidates (:class:`RerankingEvaluator`) drawn by
  :func:`candidate_lists`; both report hit@1/5/10, MRR@10 and nDCG@10 (lc-klue's metrics, which
  the library's reranking evaluator lacks hit@k of).
- :class:`StageEvaluator`: a stage's evaluators in turn, under the names its report uses; the
  runner calls it before and after training and hands it to the trainer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers import CrossEncoder, SentenceTransformer
from sentence_transformers.base.evaluation import BaseEvaluator
from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

from lc_klue.data import context_id, relevance_pairs
from lc_klue.errors import DataError
from lc_klue.ranking import retrieval_metrics

logger = logging.getLogger(__name__)

#: Held-out questions of the retrieval evaluation before and after training (``--eval-questions``).
EVAL_QUESTIONS = 1000
#: The same when training is capped (``--max-steps``) and no number was given: a short run's
#: two evaluations should not outlast its training (1,000 questions × 30 candidates of 512
#: tokens take over 10 minutes on a CPU, 200 about a fifth of that).
CAPPED_EVAL_QUESTIONS = 200


def eval_question_count(given: int | None, max_steps: int) -> int:
    """Questions of the retrieval evaluation: ``given``, else :data:`CAPPED_EVAL_QUESTIONS`
    when ``max_steps`` caps training (said in one log line), else :data:`EVAL_QUESTIONS`."""
    if given is not None:
        return given
    if max_steps > 0:
        logger.warning(
            "--max-steps %d caps training: the evaluations before and after use at most %d "
            "held-out questions, not %d (--eval-questions sets the number)",
            max_steps,
            CAPPED_EVAL_QUESTIONS,
            EVAL_QUESTIONS,
        )
        return CAPPED_EVAL_QUESTIONS
    return EVAL_QUESTIONS


def sts_evaluator(
    ds: Dataset, name: str, batch_size: int = 64, prompt: str = ""
) -> EmbeddingSimilarityEvaluator:
    """Spearman/Pearson of the cosine similarity against the gold scores of ``ds``, both
    sentences prefixed with ``prompt`` (the model's query prompt: STS pairs are alike)."""
    return EmbeddingSimilarityEvaluator(
        [prompt + s for s in ds["sentence1"]],
        [prompt + s for s in ds["sentence2"]],
        list(ds["score"]),
        batch_size=batch_size,
        main_similarity="cosine",
        similarity_fn_names=["cosine"],
        name=name,
        write_csv=False,
    )


class StageEvaluator(BaseEvaluator):
    """A stage's figures: the primary metric of each evaluator in ``single`` under its report
    name (``{"test_spearman": sts_evaluator(...)}``), then every figure of each evaluator in
    ``every`` under its own name (the retrieval metrics). ``primary`` names the main figure."""

    def __init__(
        self,
        single: Mapping[str, BaseEvaluator],
        every: Sequence[BaseEvaluator] = (),
        primary: str | None = None,
    ) -> None:
        super().__init__()
        self.single, self.every = dict(single), list(every)
        self.primary_metric = primary or next(iter(self.single))

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """Run each evaluator once on ``model``; the figures in report order."""
        out: dict[str, float] = {}
        for name, evaluator in self.single.items():
            results = evaluator(model, output_path, epoch, steps)
            assert isinstance(results, dict) and evaluator.primary_metric is not None
            out[name] = float(results[evaluator.primary_metric])
        for evaluator in self.every:
            results = evaluator(model, output_path, epoch, steps)
            assert isinstance(results, dict)
            out |= results
        return out


class RetrievalEvaluator(BaseEvaluator):
    """A bi-encoder ranking all ``corpus`` passages for each of ``questions``: hit@1/5/10,
    MRR@10 and nDCG@10 of each question's own passage (:func:`dense_retrieval_metrics`)."""

    def __init__(self, questions: Dataset, corpus: Dataset, show_progress: bool = False) -> None:
        super().__init__()
        self.questions, self.corpus, self.show_progress = questions, corpus, show_progress
        self.primary_metric = "hit@1"

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """The retrieval metrics of ``model``."""
        return dense_retrieval_metrics(model, self.questions, self.corpus, self.show_progress)


class RerankingEvaluator(BaseEvaluator):
    """A cross-encoder reordering each question's ``candidates`` (indices into ``corpus``):
    hit@1/5/10, MRR@10 and nDCG@10 of its own passage after reranking (:func:`rerank_metrics`;
    primary: hit@1, the product's figure)."""

    def __init__(
        self,
        questions: Dataset,
        corpus: Dataset,
        candidates: list[list[int]],
        show_progress: bool = False,
    ) -> None:
        super().__init__()
        self.questions, self.corpus, self.candidates = questions, corpus, candidates
        self.show_progress = show_progress
        self.primary_metric = "hit@1"

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """The retrieval metrics after ``model`` reranks the candidates."""
        return rerank_metrics(
            model, self.questions, self.corpus, self.candidates, show_progress=self.show_progress
        )


def book_pairs(test: Dataset, n: int = 100, seed: int = 42) -> Dataset:
    """The pairs of the book's evaluation: each of the first ``n`` test questions with its
    passage (1) and the passage of another title among them (0). When those questions all
    come from one title, the error names ``--pair-questions`` and what would do."""
    first = test.select(range(min(n, len(test))))
    titles = list(first["title"])
    if len(set(titles)) < 2:
        other = next((i for i, t in enumerate(test["title"]) if t != titles[0]), None)
        fix = (
            f"use --pair-questions {other + 1} or more"
            if other is not None
            else "the test data has that one title only: give --test-data with more titles"
        )
        raise DataError(
            f"the pair evaluation (--pair-questions {n}) pairs the first {len(first)} test "
            f"questions with passages of other titles among them, but all come from "
            f"{titles[0]!r}; {fix}"
        )
    return relevance_pairs(first, seed=seed)


def pair_evaluator(
    test: Dataset, n: int = 100, seed: int = 42, prompts: tuple[str, str] = ("", "")
) -> EmbeddingSimilarityEvaluator:
    """The book's evaluation for a bi-encoder: :func:`book_pairs`, Spearman of cosine against
    the labels; questions and passages prefixed with ``prompts`` (query, document)."""
    pairs = book_pairs(test, n, seed)
    return EmbeddingSimilarityEvaluator(
        [prompts[0] + q for q in pairs["question"]],
        [prompts[1] + c for c in pairs["context"]],
        list(pairs["label"]),
        main_similarity="cosine",
        similarity_fn_names=["cosine"],
        name="mrc-pairs",
        write_csv=False,
    )


def correlation_evaluator(
    test: Dataset, n: int = 100, seed: int = 42
) -> CrossEncoderCorrelationEvaluator:
    """The book's evaluation for a cross-encoder: :func:`book_pairs`, Spearman of its
    scores."""
    pairs = book_pairs(test, n, seed)
    return CrossEncoderCorrelationEvaluator(
        [[q, c] for q, c in zip(pairs["question"], pairs["context"], strict=True)],
        list(pairs["label"]),
        name="mrc-pairs",
        write_csv=False,
        show_progress_bar=False,
    )


def rank_passages(
    model: SentenceTransformer,
    questions: Sequence[str],
    passages: Sequence[str],
    k: int = 10,
    batch_size: int = 64,
    show_progress: bool = False,
) -> np.ndarray:
    """Indices of the ``k`` passages with the highest cosine similarity for each question
    (questions through ``encode_query``, passages through ``encode_document``: a model's own
    prompts apply)."""
    if not passages:
        raise DataError("no passages to rank")
    k = min(k, len(passages))

    def encode(texts: Sequence[str], query: bool) -> torch.Tensor:
        method = model.encode_query if query else model.encode_document
        return method(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=show_progress,
        )

    p, q = encode(passages, False), encode(questions, True)
    return torch.topk(q @ p.T, k, dim=1).indices.cpu().numpy()


def dense_retrieval_metrics(
    model: SentenceTransformer, questions: Dataset, corpus: Dataset, show_progress: bool = False
) -> dict[str, float]:
    """hit@1/5/10, MRR@10, nDCG@10 of ``questions`` against the passages of ``corpus``."""
    ids = list(corpus["context_id"])
    top = rank_passages(
        model, list(questions["question"]), list(corpus["context"]), 10, show_progress=show_progress
    )
    ranked = [[ids[j] for j in row] for row in top]
    return retrieval_metrics(ranked, [context_id(c) for c in questions["context"]])


def candidate_lists(
    questions: Dataset,
    corpus: Dataset,
    n: int = 30,
    bi_encoder: SentenceTransformer | None = None,
    seed: int = 42,
) -> list[list[int]]:
    """Per question, indices into ``corpus`` to rerank: the bi-encoder's top ``n`` or (no
    bi-encoder) the gold passage plus ``n - 1`` random passages of other titles, shuffled."""
    texts = list(corpus["context"])
    if bi_encoder is not None:
        return rank_passages(bi_encoder, list(questions["question"]), texts, k=n).tolist()
    index = {context_id(c): i for i, c in enumerate(texts)}
    titles = np.array(list(corpus["title"]), dtype=object)
    rng = np.random.default_rng(seed)
    out = []
    for context, title in zip(questions["context"], questions["title"], strict=True):
        others = np.flatnonzero(titles != title)
        picks = rng.choice(others, size=min(n - 1, len(others)), replace=False).tolist()
        cands = [index[context_id(context)], *picks]
        rng.shuffle(cands)
        out.append(cands)
    return out


def candidate_metrics(
    questions: Dataset, corpus: Dataset, candidates: list[list[int]]
) -> dict[str, float]:
    """Retrieval metrics of the candidates in their given order (the first stage's)."""
    ids = list(corpus["context_id"])
    return retrieval_metrics(
        [[ids[j] for j in c] for c in candidates], [context_id(c) for c in questions["context"]]
    )


def rerank_metrics(
    model: CrossEncoder,
    questions: Dataset,
    corpus: Dataset,
    candidates: list[list[int]],
    batch_size: int = 64,
    show_progress: bool = False,
) -> dict[str, float]:
    """Retrieval metrics after ordering each question's candidates by cross-encoder score
    (all pairs of all questions scored in one length-sorted stream)."""
    from lc_klue.models.reranker import score_pairs_batched
    from lc_klue.ranking import order

    texts = list(corpus["context"])
    scores = score_pairs_batched(
        model,
        list(questions["question"]),
        [[texts[j] for j in cands] for cands in candidates],
        batch_size=batch_size,
        show_progress=show_progress,
    )
    reordered = [[cands[j] for j in order(s)] for cands, s in zip(candidates, scores, strict=True)]
    return candidate_metrics(questions, corpus, reordered)
