"""The pipeline grid: each configuration id as a pipeline, run on the same questions."""

from __future__ import annotations

import logging
import time
from typing import Any

from lc_klue.bench.configs import CONFIGS, check_configs
from lc_klue.bench.settings import BenchmarkSettings
from lc_klue.bench.stages import stage_check
from lc_klue.errors import DataError
from lc_klue.evaluation import PROTOCOLS, EvalSet, EvalSettings, evaluate
from lc_klue.evaluation.report import result_row
from lc_klue.retrieval.bm25 import TUNED_BM25
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import PipelineSpec, build_pipeline

logger = logging.getLogger(__name__)

#: Fusion weights per configuration id.
Weights = dict[str, dict[str, float]]


def config_spec(config: str, s: BenchmarkSettings, weights: Weights | None = None) -> PipelineSpec:
    """The pipeline of benchmark configuration ``config`` with ``s``'s models and sizes.

    ``fusion-all`` is a cascade: the tuned lexical + dense fusion keeps its top ``ce_depth``
    passages and only those are rescored with the cross-encoder added (first feature: the
    previous fusion's score). ``weights`` are the tuned fusion weights per configuration.
    """
    g = s.grid
    if config in ("default", "default-e5"):  # as shipped: fitted weights, nothing retuned
        from lc_klue.retrieval.saved_pipeline import DENSE_DEFAULT, default_pipeline

        saved = default_pipeline(DENSE_DEFAULT if config == "default-e5" else None)
        return saved.spec.model_copy(update={"k": g.k, "top_n": g.top_n})
    first, stages = _stage_table(s, weights or {})[config]
    return PipelineSpec.checked(first_stage=first, stages=stages, k=g.k, top_n=g.top_n)


def _stage_table(
    s: BenchmarkSettings, weights: Weights
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Configuration id → (first stage, later stages) of every tunable configuration."""
    m = s.models
    first_only = {"first_stage": 1.0}
    bm25: dict[str, Any] = {"kind": "bm25"}
    tuned: dict[str, Any] = {"kind": "bm25", **TUNED_BM25}
    mrc: dict[str, Any] = {"kind": "dense", "embedding_model": m.mrc_model}
    hybrid: dict[str, Any] = {"kind": "hybrid", "embedding_model": m.mrc_model}
    rerank: dict[str, Any] = {"kind": "rerank", "cross_encoder": m.cross_encoder}
    lex = {"kind": "fusion", "weights": weights.get("fusion-lex", first_only)}
    lex_dense = {
        "kind": "fusion",
        "embedding_model": m.sts_model if m.fusion_dense == "sts" else m.mrc_model,
        "weights": weights.get("fusion-lex-dense", first_only),
        "keep": s.grid.ce_depth,
    }
    ce_fusion = {
        "kind": "fusion",
        "lexical": False,
        "cross_encoder": m.cross_encoder,
        "weights": weights.get("fusion-all", first_only),
    }
    return {
        "sts": ({"kind": "dense", "embedding_model": m.sts_model}, []),
        "mrc": (mrc, []),
        "mrc+ce": (mrc, [rerank]),
        "bm25": (bm25, []),
        "bm25-tuned": (tuned, []),
        "bm25+ce": (tuned, [rerank]),
        "hybrid": (hybrid, []),
        "hybrid+ce": (hybrid, [rerank]),
        "hybrid+ce-rrf": (hybrid, [rerank | {"fusion": "rrf"}]),
        "fusion-lex": (tuned, [lex]),
        "fusion-lex-dense": (tuned, [lex_dense]),
        "fusion-all": (tuned, [lex_dense, ce_fusion]),
        "fusion-hybrid": (
            hybrid,
            [lex_dense | {"weights": weights.get("fusion-hybrid", first_only)}],
        ),
    }


def check_settings(s: BenchmarkSettings) -> tuple[list[str], dict[str, list[str]]]:
    """The configurations to run, in canonical order, and those skipped for missing models."""
    g, m = s.grid, s.models
    configs = check_configs(g.configs, g.k, g.top_n, g.ce_depth, m.fusion_dense)
    for p in s.data.protocols:
        if p not in PROTOCOLS:
            raise DataError(f"protocol must be book or full, got {p!r}")
    paths = {"sts": m.sts_model, "mrc": m.mrc_model, "ce": m.cross_encoder}
    paths["dense"] = paths[m.fusion_dense]
    skipped = {c: [x for x in CONFIGS[c][1] if not paths[x]] for c in configs}
    skipped = {c: x for c, x in skipped.items() if x}
    configs = [c for c in configs if c not in skipped]
    if not configs:
        raise DataError("no configuration can run: give the model paths it needs")
    return configs, skipped


def row_id(config: str, tag: str | None) -> str:
    """A row's id: the configuration, prefixed with ``tag`` when it uses models."""
    return f"{tag}-{config}" if tag and CONFIGS[config][1] else config


def run_protocol(
    configs: list[str], es: EvalSet, parts: PipelineParts, s: BenchmarkSettings, weights: Weights
) -> list[dict[str, Any]]:
    """One result row per configuration on one protocol's questions."""
    settings = EvalSettings(
        batch_size=max(s.models.batch_size, 256),
        latency_queries=s.grid.latency_queries,
        show_progress=s.show_progress,
    )
    rows = []
    for config in configs:
        pipeline = build_pipeline(config_spec(config, s, weights), parts)
        result = evaluate(pipeline, es, name=config, settings=settings)
        row = result_row(result.to_dict())
        row |= {
            "id": row_id(config, s.grid.tag),
            "config": config,
            "name": CONFIGS[config][0],
            "group": es.protocol,
        }
        rows.append(row)
        logger.info("%s/%s: %s in %.1f s", es.protocol, config, result.metrics, result.total_s)
    return rows


def run_paraphrase(
    configs: list[str],
    es: EvalSet,
    full_parts: PipelineParts,
    s: BenchmarkSettings,
    weights: Weights,
) -> dict[str, Any]:
    """The paraphrase section: every configuration on the paraphrase set (rows as those of a
    protocol, group ``paraphrase``), with ``full_parts``'s models and the fusion ``weights``
    tuned on the data's train titles, not refitted."""
    t0 = time.perf_counter()
    rows = run_protocol(configs, es, full_parts.with_documents(es.documents()), s, weights)
    min_score = s.data.paraphrase_min_score
    return {
        "file": str(s.data.paraphrase),
        "min_score": min_score,
        "queries": len(es.questions),
        "passages": len(es.passages),
        "protocol": (
            f"pairs scored >= {min_score:g}: sentence 1 the query, sentence 2 its "
            "gold passage; search space: every distinct sentence 2 of the file"
        ),
        "fusion_weights": "as tuned on the data's train titles; not refitted on this set",
        "rows": rows,
        "stage_check": stage_check(rows),
        "total_s": time.perf_counter() - t0,
    }
