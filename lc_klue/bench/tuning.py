"""Fusion weights of the benchmark's fusion configurations, tuned on train-title questions
(never on the evaluated ones)."""

from __future__ import annotations

import time
from typing import Any

from lc_klue.bench.grid import Weights, config_spec
from lc_klue.bench.settings import BenchmarkSettings
from lc_klue.retrieval.fusion import MIN_GAIN
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import build_pipeline


def tune_fusion(
    parts: PipelineParts,
    s: BenchmarkSettings,
    configs: list[str],
    train_questions: list[str],
    train_gold: list[str],
) -> dict[str, Any]:
    """Fusion weights per fusion configuration, tuned on training-title questions.

    ``fusion-lex`` and ``fusion-lex-dense`` share BM25's candidates, so their features are
    computed once; ``fusion-all`` is tuned on the candidates of the tuned ``fusion-lex-dense``.
    Each stage keeps the previous stage's weights and tunes only what it adds, and a change
    must raise the tuning MRR@10 by more than :data:`~lc_klue.retrieval.fusion.MIN_GAIN`.
    """
    if not any(c.startswith("fusion") for c in configs):
        return {}
    t0 = time.perf_counter()
    weights: Weights = {}
    out: dict[str, Any] = {}

    def fusion(config: str) -> Any:
        """The pipeline of ``config`` with the weights tuned so far."""
        return build_pipeline(config_spec(config, s, weights), parts)

    def keep(config: str, fitted: dict[str, Any]) -> None:
        """Record the fit of ``config`` and keep its weights for the next stages."""
        out[config] = fitted
        weights[config] = fitted["weights"]

    cheap = [c for c in ("fusion-lex", "fusion-lex-dense") if c in configs or c == "fusion-lex"]
    if "fusion-all" in configs and "fusion-lex-dense" not in cheap:
        cheap.append("fusion-lex-dense")
    features, gold_index = fusion(cheap[-1]).tuning_features(train_questions, train_gold)
    keep("fusion-lex", fusion("fusion-lex").fit_features(features, gold_index, min_gain=MIN_GAIN))
    if "fusion-lex-dense" in cheap:  # keep the lexical weights, tune the new feature only
        lexical = weights["fusion-lex"]
        fitted = fusion("fusion-lex-dense").fit_features(
            features, gold_index, start=lexical, tune=("dense",), min_gain=MIN_GAIN
        )
        keep("fusion-lex-dense", fitted)
    if "fusion-hybrid" in configs:  # dense ∪ BM25 candidates: every weight tuned on them
        hybrid = fusion("fusion-hybrid")
        h_features, h_gold = hybrid.tuning_features(train_questions, train_gold)
        start = weights.get("fusion-lex-dense")
        keep(
            "fusion-hybrid", hybrid.fit_features(h_features, h_gold, start=start, min_gain=MIN_GAIN)
        )
    if "fusion-all" in configs:  # the previous stage's score fused with the cross-encoder's
        out["fusion-all"] = fusion("fusion-all").fit(
            train_questions, train_gold, tune=("cross_encoder",), min_gain=MIN_GAIN
        )
    out["_seconds"] = time.perf_counter() - t0
    return out
