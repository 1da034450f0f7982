"""Evaluation of retrievers: the evaluator (quality and cost through the retriever
interface), the extractive answers' score and the results table. Metrics live in
:mod:`lc_klue.ranking` (``retrieval_metrics`` is re-exported here); the benchmark harness
that writes ``results/`` is :mod:`lc_klue.bench`. Names are imported on first use."""

from __future__ import annotations

from lc_klue._lazy import lazy_exports

_EVALUATOR = "lc_klue.evaluation.evaluator"
_RANKING = "lc_klue.ranking"
_LAZY = {
    "PROTOCOLS": _EVALUATOR,
    "EvalSet": _EVALUATOR,
    "EvalSettings": _EVALUATOR,
    "EvaluationResult": _EVALUATOR,
    "build_eval_set": _EVALUATOR,
    "evaluate": _EVALUATOR,
    "evaluate_retriever": _EVALUATOR,
    "retrieval_metrics": _RANKING,
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
