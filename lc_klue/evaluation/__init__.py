"""Evaluation of retrievers: ranking metrics, the evaluator and the benchmark."""

from lc_klue.evaluation.evaluator import (
    PROTOCOLS,
    EvalSet,
    EvaluationResult,
    build_eval_set,
    evaluate,
    evaluate_retriever,
)
from lc_klue.ranking import (
    DEFAULT_KS,
    first_relevant_rank,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    retrieval_metrics,
)

__all__ = [
    "DEFAULT_KS",
    "PROTOCOLS",
    "EvalSet",
    "EvaluationResult",
    "build_eval_set",
    "evaluate",
    "evaluate_retriever",
    "first_relevant_rank",
    "hit_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "retrieval_metrics",
]
