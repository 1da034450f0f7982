"""The benchmark's configurations by id: their display names and the models they need.

A light module (no heavy imports), so the CLI can list the ids in ``--help`` without loading
any model library. :func:`lc_klue.bench.grid.config_spec` turns an id into a pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence

from lc_klue.errors import DataError

__all__ = ["CONFIGS", "DEFAULT_CONFIGS", "STAGE_CHAINS", "check_configs"]

#: Configuration id → (display name, models it needs; "dense" = the fusion's bi-encoder).
CONFIGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sts": ("STS bi-encoder (book 1)", ("sts",)),
    "mrc": ("MRC bi-encoder (book 2)", ("mrc",)),
    "mrc+ce": ("MRC bi-encoder + CE 30→10 (book 3)", ("mrc", "ce")),
    "bm25": ("BM25-Kiwi (k1=1.5, b=0.75)", ()),
    "bm25-tuned": ("BM25-Kiwi (k1=0.9, b=0.4)", ()),
    "bm25+ce": ("BM25-Kiwi (tuned) top 30 + CE alone", ("ce",)),
    "hybrid": ("Hybrid RRF (BM25 + MRC)", ("mrc",)),
    "hybrid+ce": ("Hybrid + CE 30→10", ("mrc", "ce")),
    "hybrid+ce-rrf": ("Hybrid + CE, RRF with first stage", ("mrc", "ce")),
    "fusion-lex": ("BM25 top30 + lexical fusion", ()),
    "fusion-lex-dense": ("BM25 top30 + lexical + dense fusion", ("dense",)),
    "fusion-all": ("… its top 10: fused score + CE score", ("dense", "ce")),
    "fusion-hybrid": ("Hybrid top30 (MRC ∪ BM25) + lexical + dense fusion", ("mrc", "dense")),
    "default": ("Shipped default (BM25 top30 + lexical fusion, fitted)", ()),
    "default-e5": ("Shipped default with e5 extra (BM25 ∪ e5 top30 + lexical + dense)", ()),
}
#: Configurations run by default (``hybrid+ce-rrf`` scores the same pairs as ``hybrid+ce``;
#: the shipped pipelines are asked for by name).
DEFAULT_CONFIGS: tuple[str, ...] = tuple(
    c for c in CONFIGS if c not in ("hybrid+ce-rrf", "default", "default-e5")
)
#: Chains of configurations, each adding a stage to the one before it (a fine-tuned model, a
#: reranker, a fusion feature): the stage check reports where hit@1 drops along them.
STAGE_CHAINS: tuple[tuple[str, ...], ...] = (
    ("sts", "mrc", "mrc+ce"),
    ("hybrid", "hybrid+ce"),
    ("hybrid", "hybrid+ce-rrf"),
    ("bm25-tuned", "fusion-lex", "fusion-lex-dense", "fusion-all"),
    ("hybrid", "fusion-hybrid"),
    ("default", "default-e5"),
)


def check_configs(
    configs: Sequence[str], k: int, top_n: int, ce_depth: int, fusion_dense: str
) -> list[str]:
    """``configs`` in canonical order (fusion nesting); :class:`DataError` for an unknown one
    or sizes that cannot work together. Light, so the CLI checks before any work."""
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise DataError(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
    if k < top_n:
        raise DataError(f"k={k} candidates cannot give top_n={top_n}")
    if "fusion-all" in configs and not top_n <= ce_depth <= k:
        raise DataError(
            f"need top_n <= ce_depth <= k, got top_n={top_n}, ce_depth={ce_depth}, k={k}"
        )
    if fusion_dense not in ("sts", "mrc"):
        raise DataError(f"fusion_dense must be sts or mrc, got {fusion_dense!r}")
    return [c for c in CONFIGS if c in configs]
