"""The benchmark: the book's three configurations beside lexical, hybrid and fused pipelines.

One process, the same questions for every configuration:

- the book's: STS bi-encoder; MRC fine-tuned bi-encoder; fine-tuned + cross-encoder (30 → 10);
- BM25 over Kiwi morphemes (default and ``k1=0.9, b=0.4``), hybrid (RRF of BM25 and the MRC
  bi-encoder), hybrid + cross-encoder (plain, and RRF-fused with the first stage);
- score fusion over BM25's top 30 (:class:`~lc_klue.retrieval.fusion.FusionRetriever`): lexical
  features, + dense cosine, + cross-encoder score; weights tuned on questions of the TRAINING
  titles only (never on the evaluated questions).

Questions come from the test titles of :func:`lc_klue.data.split_by_title`. The ``full``
protocol searches every distinct passage of the data file (or ``corpus``); ``book`` searches
the sampled questions' own passages. With ``paraphrase`` (an STS file) every configuration
also runs on its paraphrase retrieval set (:func:`lc_klue.data.paraphrase_retrieval`): the same
models, and the fusion weights tuned on the data's train titles, not refitted (a held-out test).
The benchmark also times cross-encoder reranking of the same candidates with
:func:`score_pairs_batched` against the book's one-``predict``-per-query loop and checks that
both give the same rankings. It never trains a model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.data import (
    load_mrc,
    load_passages,
    paraphrase_retrieval,
    sample_questions,
    split_by_title,
    split_dev,
)
from lc_klue.data.gold import gold_ids
from lc_klue.errors import DataError
from lc_klue.evaluation.configs import (
    CONFIGS,
    DEFAULT_CONFIGS,
    MIN_GAIN,
    STAGE_CHAINS,
    TUNED_BM25,
    check_configs,
)
from lc_klue.evaluation.evaluator import PROTOCOLS, EvalSet, build_eval_set, evaluate
from lc_klue.evaluation.report import (
    markdown_table,
    markdown_table_beside,
    plot_quality_vs_time,
    report_paths,
    result_row,
    write_json,
)
from lc_klue.retrieval.pipeline import PipelineParts, PipelineSpec, build_pipeline
from lc_klue.runtime import model_origin
from lc_klue.storage import atomic_write_text

logger = logging.getLogger(__name__)


@dataclass
class BenchmarkSettings:
    """What to run. Model paths may be None: configurations needing them are skipped."""

    data: Path
    corpus: Path | None = None
    sts_model: str | None = None
    mrc_model: str | None = None
    cross_encoder: str | None = None
    configs: Sequence[str] = DEFAULT_CONFIGS
    protocols: Sequence[str] = ("full",)
    n_questions: int = 1000
    seed: int = 42
    test_size: float = 0.3
    k: int = 30
    top_n: int = 10
    ce_depth: int = 10
    tune_questions: int = 1000
    dev_size: float = 0.0
    """Tune fusion weights on the questions of this share of the TRAIN titles (the stages'
    ``--dev-size`` hold-out, so no model trained on them); 0: on train-title questions."""
    tag: str | None = None
    """Prefix of the ids of rows that use models (``kiwi`` → ``kiwi-mrc``, ``kiwi-bm25+ce``)."""
    speed_queries: int = 50
    speed_backend: str | None = "auto"
    """Backend of the fast reranking variants (``int8``, ``onnx``; ``auto``: ``int8`` when
    ONNX Runtime is installed, else none; None: only windows and the cascade, on the model as
    loaded)."""
    speed_window: int | None = 128
    """Passage tokens of the windowed variants (None: no windowed variants)."""
    speed_cascade: bool = True
    """Add the cascade variant (margin fitted on the tuning questions)."""
    latency_queries: int = 50
    threads: int | None = None
    paraphrase: Path | None = None
    """An STS file (KorSTS TSV, KLUE STS JSON/CSV): also run every configuration on its
    paraphrase retrieval set (:func:`lc_klue.data.paraphrase_retrieval`), fusion weights as
    tuned on the data's train titles (not refitted on it)."""
    paraphrase_min_score: float = 4.0
    """Score (0–5) from which an STS pair is a query with its gold passage."""
    fusion_dense: str = "sts"
    """Bi-encoder whose cosine is a fusion feature. Default ``sts``: it never saw the MRC
    training questions, so weights tuned on training titles are not inflated by memorisation
    (the MRC model and the cross-encoder were trained on exactly those questions)."""
    batch_size: int = 64
    max_length: int | None = None
    device: str | None = None
    show_progress: bool = True
    stage_drops_expected: str | None = None
    """Why an added stage may lower hit@1 on this run (the demo's tiny models): the stage
    check then reports such a drop as expected, with this reason, instead of as FAILED."""
    extra: dict[str, Any] = field(default_factory=dict)


def _model_info(model: Any, path: str | None) -> dict[str, Any]:
    """Path, parameter count, architecture and origin (how it was made, as far as its
    directory tells: :func:`lc_klue.runtime.model_origin`) of a SentenceTransformer or
    CrossEncoder."""
    torch_model = getattr(model, "model", None) or model
    n_params = sum(p.numel() for p in torch_model.parameters())
    cfg = None
    for candidate in (getattr(model, "config", None), getattr(torch_model, "config", None)):
        if candidate is not None and hasattr(candidate, "hidden_size"):
            cfg = candidate
            break
    if cfg is None and hasattr(model, "__getitem__"):
        try:
            cfg = model[0].auto_model.config
        except (AttributeError, IndexError, KeyError, TypeError):
            cfg = None
    info: dict[str, Any] = {"path": path, "parameters": int(n_params)}
    with contextlib.suppress(IndexError, KeyError, TypeError):
        info["module"] = type(model[0]).__name__  # e.g. Transformer, KiwiStaticEmbedding
    if path:
        info["origin"] = model_origin(path)
    if cfg is not None:
        info |= {
            "model_type": getattr(cfg, "model_type", None),
            "layers": getattr(cfg, "num_hidden_layers", None),
            "hidden": getattr(cfg, "hidden_size", None),
            "vocab": getattr(cfg, "vocab_size", None),
        }
    if not hasattr(model, "predict"):  # a bi-encoder: the size of its vectors
        with contextlib.suppress(TypeError, AttributeError, RuntimeError):
            if dims := model.get_embedding_dimension():
                info["dimensions"] = int(dims)
    max_len = getattr(model, "max_seq_length", None) or getattr(model, "max_length", None)
    if max_len:
        info["max_length"] = int(max_len)
    return info


def _model_summary(m: Mapping[str, Any]) -> str:
    """One line of :func:`_model_info`: size, shape (what is known of it) and origin."""
    n = int(m.get("parameters", 0))
    parts = [f"{n / 1e6:.1f} M parameters" if n >= 100_000 else f"{n:,} parameters"]
    if m.get("layers") is not None:
        parts.append(f"{m['layers']} layers, hidden {m.get('hidden')}")
    elif m.get("module"):
        parts.append(f"module {m['module']}")
    if m.get("dimensions"):
        parts.append(f"{m['dimensions']:,} dimensions")
    line = ", ".join(parts)
    return f"{line}; {m['origin']}" if m.get("origin") else line


def hardware() -> dict[str, Any]:
    """Where the numbers were measured."""
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def config_spec(
    config: str, s: BenchmarkSettings, weights: dict[str, dict[str, float]] | None = None
) -> PipelineSpec:
    """The pipeline of benchmark configuration ``config`` with ``s``'s models and sizes.

    ``fusion-all`` is a cascade: the tuned lexical + dense fusion keeps its top ``ce_depth``
    passages and only those are rescored with the cross-encoder added (first feature: the
    previous fusion's score). ``weights`` are the tuned fusion weights per configuration.
    """
    if config in ("default", "default-e5"):  # as shipped: fitted weights, nothing retuned
        from lc_klue.retrieval.saved_pipeline import DENSE_DEFAULT, default_pipeline

        saved = default_pipeline(DENSE_DEFAULT if config == "default-e5" else None)
        return saved.spec.model_copy(update={"k": s.k, "top_n": s.top_n})
    weights = weights or {}
    first_only = {"first_stage": 1.0}
    bm25: dict[str, Any] = {"kind": "bm25"}
    tuned: dict[str, Any] = {"kind": "bm25", **TUNED_BM25}
    mrc: dict[str, Any] = {"kind": "dense", "embedding_model": s.mrc_model}
    hybrid: dict[str, Any] = {"kind": "hybrid", "embedding_model": s.mrc_model}
    rerank: dict[str, Any] = {"kind": "rerank", "cross_encoder": s.cross_encoder}
    lex = {"kind": "fusion", "weights": weights.get("fusion-lex", first_only)}
    dense_model = s.sts_model if s.fusion_dense == "sts" else s.mrc_model
    lex_dense = {
        "kind": "fusion",
        "embedding_model": dense_model,
        "weights": weights.get("fusion-lex-dense", first_only),
        "keep": s.ce_depth,
    }
    ce_fusion = {
        "kind": "fusion",
        "lexical": False,
        "cross_encoder": s.cross_encoder,
        "weights": weights.get("fusion-all", first_only),
    }
    table: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
        "sts": ({"kind": "dense", "embedding_model": s.sts_model}, []),
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
    first, stages = table[config]
    return PipelineSpec.checked(first_stage=first, stages=stages, k=s.k, top_n=s.top_n)


def _model_infos(parts: PipelineParts, s: BenchmarkSettings, needed: set[str]) -> dict[str, Any]:
    """Size and architecture of every model the run uses, loaded through ``parts``."""
    info: dict[str, Any] = {}
    dense = "sts" if s.fusion_dense == "sts" else "mrc"
    for key, path in (("sts", s.sts_model), ("mrc", s.mrc_model)):
        if path and (key in needed or (key == dense and "dense" in needed)):
            info[key] = _model_info(getattr(parts.embeddings(path), "client", None), path)
    if "ce" in needed and s.cross_encoder:
        info["ce"] = _model_info(parts.cross_encoder(s.cross_encoder), s.cross_encoder)
    return info


def _tune_fusion(
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
    must raise the tuning MRR@10 by more than :data:`MIN_GAIN`.
    """
    if not any(c.startswith("fusion") for c in configs):
        return {}
    t0 = time.perf_counter()
    weights: dict[str, dict[str, float]] = {}
    out: dict[str, Any] = {}

    def fusion(config: str) -> Any:
        return build_pipeline(config_spec(config, s, weights), parts)

    cheap = [c for c in ("fusion-lex", "fusion-lex-dense") if c in configs or c == "fusion-lex"]
    if "fusion-all" in configs and "fusion-lex-dense" not in cheap:
        cheap.append("fusion-lex-dense")
    features, gold_index = fusion(cheap[-1]).tuning_features(train_questions, train_gold)
    out["fusion-lex"] = fusion("fusion-lex").fit_features(features, gold_index, min_gain=MIN_GAIN)
    weights["fusion-lex"] = out["fusion-lex"]["weights"]
    if "fusion-lex-dense" in cheap:  # keep the lexical weights, tune the new feature only
        out["fusion-lex-dense"] = fusion("fusion-lex-dense").fit_features(
            features, gold_index, start=weights["fusion-lex"], tune=("dense",), min_gain=MIN_GAIN
        )
        weights["fusion-lex-dense"] = out["fusion-lex-dense"]["weights"]
    if "fusion-hybrid" in configs:  # dense ∪ BM25 candidates: every weight tuned on them
        hybrid = fusion("fusion-hybrid")
        h_features, h_gold = hybrid.tuning_features(train_questions, train_gold)
        out["fusion-hybrid"] = hybrid.fit_features(
            h_features, h_gold, start=weights.get("fusion-lex-dense"), min_gain=MIN_GAIN
        )
        weights["fusion-hybrid"] = out["fusion-hybrid"]["weights"]
    if "fusion-all" in configs:  # the previous stage's score fused with the cross-encoder's
        out["fusion-all"] = fusion("fusion-all").fit(
            train_questions, train_gold, tune=("cross_encoder",), min_gain=MIN_GAIN
        )
    out["_seconds"] = time.perf_counter() - t0
    return out


def _ids(docs: Sequence[Any]) -> list[str]:
    from lc_klue.data import context_id

    return [context_id(d) for d in docs]


def _ranking_summary(
    ranked: list[list[str]], book: list[list[str]], gold: Sequence[str] | None
) -> dict[str, Any]:
    """Quality (hit@1, nDCG@10 against ``gold``) and agreement with the book's rankings."""
    from lc_klue.ranking import retrieval_metrics

    pairs = list(zip(ranked, book, strict=True))
    out: dict[str, Any] = {
        "top1_agreement": float(np.mean([a[:1] == b[:1] for a, b in pairs])),
        "overlap@10": float(
            np.mean([len(set(a[:10]) & set(b[:10])) / max(1, len(b[:10])) for a, b in pairs])
        ),
    }
    if gold is not None:
        m = retrieval_metrics(ranked, list(gold), ks=(1,))
        out |= {"hit@1": m["hit@1"], "mrr@10": m["mrr@10"], "ndcg@10": m["ndcg@10"]}
    return out


#: How far a faster reranking's hit@1 and MRR@10 may be from the book's loop (either way) and
#: still count as the same quality, so that its time ratio counts as a speed-up.
QUALITY_TOLERANCE = 0.005


def _quality_gap(config: dict[str, Any], reference: dict[str, Any], tolerance: float) -> str | None:
    """Why ``config``'s quality is not ``reference``'s (None when it is): no pairs scored, or
    hit@1 / MRR@10 further than ``tolerance`` from the reference's (without gold passages: a
    top 1 other than the reference's for more than ``tolerance`` of the queries)."""
    if config["pairs_scored"] == 0:
        return "scored no pairs (its time is that of skipping the reranker, not of reranking)"
    for key in ("hit@1", "mrr@10"):
        if key in reference and abs(config[key] - reference[key]) > tolerance + 1e-9:
            return f"{key} {config[key]:.3f} vs {reference[key]:.3f}: not the same quality"
    if "hit@1" not in reference and config["top1_agreement"] < 1 - tolerance - 1e-9:
        return f"the same top 1 for only {config['top1_agreement']:.3f} of the queries"
    return None


def equal_quality_speedups(
    configs: dict[str, dict[str, Any]],
    reference: str = "book",
    tolerance: float = QUALITY_TOLERANCE,
) -> dict[str, Any]:
    """Give each configuration its ``time_ratio`` (the reference's seconds over its own) and a
    ``speedup``: that ratio only at the reference's quality (:func:`_quality_gap`), else None
    with the reason in ``speedup_note``. Returns the headline: the fastest configuration at
    that quality (``fastest``, ``fastest_s``, ``speedup``; None and a ``speedup_note`` when
    none is) and the fastest of all (``fastest_overall``, its ``time_ratio``)."""
    ref = configs[reference]
    for name, c in configs.items():
        c["time_ratio"] = ref["seconds"] / c["seconds"] if c["seconds"] > 0 else None
        gap = None if name == reference else _quality_gap(c, ref, tolerance)
        if c["time_ratio"] is None:
            gap = gap or "no measurable time"
        c["speedup"] = None if gap else c["time_ratio"]
        c.pop("speedup_note", None)
        if gap:
            c["speedup_note"] = gap
        for key in ("hit@1", "mrr@10"):
            if key in ref:
                c[f"{key}_change"] = c[key] - ref[key]
    others = [n for n in configs if n != reference]
    overall = min(others, key=lambda n: configs[n]["seconds"])
    kept = [n for n in others if configs[n]["speedup"] is not None]
    fastest = min(kept, key=lambda n: configs[n]["seconds"]) if kept else None
    out: dict[str, Any] = {
        "quality_tolerance": tolerance,
        "fastest": fastest,
        "fastest_s": configs[fastest]["seconds"] if fastest else None,
        "speedup": configs[fastest]["speedup"] if fastest else None,
        "fastest_overall": overall,
        "fastest_overall_time_ratio": configs[overall]["time_ratio"],
    }
    if fastest is None:
        out["speedup_note"] = (
            f"no variant reranked at the quality of {reference!r} (hit@1 and MRR@10 within "
            f"{tolerance}, pairs scored): no speed-up to report"
        )
    return out


def rerank_speed(
    model: Any,
    queries: list[str],
    candidates: list[list[Any]],
    batch_size: int,
    *,
    gold: Sequence[str] | None = None,
    variants: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The book's loop against faster reranking on the same queries and candidates, one run.

    ``candidates`` are Documents (or texts). The book's loop is one ``predict`` per query on the
    whole passages (fp32 as loaded); ``batched`` scores all pairs in one length-sorted stream;
    each of ``variants`` (name → :class:`~lc_klue.retrieval.compressor.CrossEncoderReranker`:
    another backend, windows, a cascade) reranks through ``compress_documents_batch``. Each gets
    seconds, pairs scored, hit@1 and nDCG@10 (with ``gold`` context ids) and agreement with the
    book's rankings (same top 1, overlap of the top 10). ``speedup`` is the book's time over
    the fastest variant's at the book's quality (:func:`equal_quality_speedups`); a variant
    that scores no pairs or changes hit@1 or MRR@10 has a ``time_ratio`` but no speed-up.
    """
    from langchain_core.documents import Document

    from lc_klue.models.reranker import score_pairs_batched, score_pairs_per_query

    docs = [
        [c if isinstance(c, Document) else Document(page_content=c) for c in cs]
        for cs in candidates
    ]
    texts = [[d.page_content for d in cs] for cs in docs]
    pairs = sum(len(c) for c in texts)
    warm = min(4, len(queries))
    score_pairs_batched(model, queries[:warm], texts[:warm], batch_size=batch_size)
    score_pairs_per_query(model, queries[:warm], texts[:warm], batch_size=batch_size)
    t0 = time.perf_counter()
    loop = score_pairs_per_query(model, queries, texts, batch_size=batch_size)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = score_pairs_batched(model, queries, texts, batch_size=batch_size)
    t_batched = time.perf_counter() - t0
    same = [
        np.array_equal(np.argsort(-a, kind="stable"), np.argsort(-b, kind="stable"))
        for a, b in zip(loop, batched, strict=True)
    ]
    diff = max(
        (float(np.max(np.abs(a - b))) for a, b in zip(loop, batched, strict=True) if len(a)),
        default=0,
    )
    from lc_klue.ranking import order

    def ranked(scores: list[np.ndarray]) -> list[list[str]]:
        return [[_ids(cs)[int(i)] for i in order(sc)] for cs, sc in zip(docs, scores, strict=True)]

    book = ranked(loop)
    configs: dict[str, dict[str, Any]] = {
        "book": {"seconds": t_loop, "pairs_scored": pairs, **_ranking_summary(book, book, gold)},
        "batched": {
            "seconds": t_batched,
            "pairs_scored": pairs,
            **_ranking_summary(ranked(batched), book, gold),
        },
    }
    for name, reranker in (variants or {}).items():
        reranker = reranker.model_copy(update={"top_n": max(len(c) for c in docs)})
        reranker.compress_documents_batch(docs[:warm], queries[:warm])
        t0 = time.perf_counter()
        out = reranker.compress_documents_batch(docs, queries)
        seconds = time.perf_counter() - t0
        scored = sum(
            len(cs)
            for cs, o in zip(docs, out, strict=True)
            if o and o[0].metadata.get("reranked", True)
        )
        configs[name] = {
            "seconds": seconds,
            "pairs_scored": scored,
            **_ranking_summary([_ids(o) for o in out], book, gold),
        }
    headline = equal_quality_speedups(configs)
    return {
        "queries": len(queries),
        "pairs": pairs,
        "batch_size": batch_size,
        "per_query_s": t_loop,
        "batched_s": t_batched,
        **headline,
        "identical_rankings": int(sum(same)),
        "max_abs_score_diff": diff,
        "configs": configs,
    }


def _check_settings(s: BenchmarkSettings) -> tuple[list[str], dict[str, list[str]]]:
    """The configurations to run, in canonical order, and those skipped for missing models."""
    configs = check_configs(s.configs, s.k, s.top_n, s.ce_depth, s.fusion_dense)
    for p in s.protocols:
        if p not in PROTOCOLS:
            raise DataError(f"protocol must be book or full, got {p!r}")
    paths = {"sts": s.sts_model, "mrc": s.mrc_model, "ce": s.cross_encoder}
    paths["dense"] = paths[s.fusion_dense]
    skipped = {c: [m for m in CONFIGS[c][1] if not paths[m]] for c in configs}
    skipped = {c: m for c, m in skipped.items() if m}
    configs = [c for c in configs if c not in skipped]
    if not configs:
        raise DataError("no configuration can run: give the model paths it needs")
    return configs, skipped


@dataclass
class _Data:
    """The questions and search spaces of a run."""

    questions: int
    titles: int
    test_questions: int
    train_questions: list[str]
    train_gold: list[str]
    corpus_passages: int
    eval_sets: dict[str, EvalSet]
    paraphrase: EvalSet | None = None


def _load_data(s: BenchmarkSettings) -> _Data:
    """Test-title questions per protocol, and the train-title questions fusion is tuned on."""
    ds = load_mrc(s.data)
    parts = split_by_title(ds, s.test_size, seed=s.seed)
    corpus = load_passages(s.corpus if s.corpus is not None else s.data)
    eval_sets = {
        p: build_eval_set(
            parts["test"], p, s.n_questions, s.seed, corpus=corpus if p == "full" else None
        )
        for p in s.protocols
    }
    tune_from = (
        split_dev(parts["train"], s.dev_size, s.seed)["dev"] if s.dev_size else parts["train"]
    )
    train = sample_questions(tune_from, s.tune_questions, seed=s.seed)
    paraphrase = None
    if s.paraphrase is not None:  # all its queries, over all its distinct second sentences
        queries, passages = paraphrase_retrieval(s.paraphrase, s.paraphrase_min_score)
        es = build_eval_set(queries, "full", None, corpus=passages)
        paraphrase = dataclasses.replace(es, protocol="paraphrase")
    return _Data(
        questions=len(ds),
        titles=len(set(ds["title"])),
        test_questions=len(parts["test"]),
        train_questions=list(train["question"]),
        train_gold=gold_ids(list(train["context"]), corpus),
        corpus_passages=len(corpus),
        eval_sets=eval_sets,
        paraphrase=paraphrase,
    )


def _run_protocol(
    configs: list[str],
    es: EvalSet,
    parts: PipelineParts,
    s: BenchmarkSettings,
    weights: dict[str, dict[str, float]],
) -> list[dict[str, Any]]:
    """One result row per configuration on one protocol's questions."""
    rows = []
    for config in configs:
        result = evaluate(
            build_pipeline(config_spec(config, s, weights), parts),
            es,
            batch_size=max(s.batch_size, 256),
            latency_queries=s.latency_queries,
            name=config,
            show_progress=s.show_progress,
        )
        row = result_row(result.to_dict())
        row |= {
            "id": row_id(config, s.tag),
            "config": config,
            "name": CONFIGS[config][0],
            "group": es.protocol,
        }
        rows.append(row)
        logger.info("%s/%s: %s in %.1f s", es.protocol, config, result.metrics, result.total_s)
    return rows


def _run_paraphrase(
    configs: list[str],
    es: EvalSet,
    full_parts: PipelineParts,
    s: BenchmarkSettings,
    weights: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """The paraphrase section: every configuration on the paraphrase set (rows as those of a
    protocol, group ``paraphrase``), with ``full_parts``'s models and the fusion ``weights``
    tuned on the data's train titles, not refitted."""
    t0 = time.perf_counter()
    rows = _run_protocol(configs, es, full_parts.with_documents(es.documents()), s, weights)
    return {
        "file": str(s.paraphrase),
        "min_score": s.paraphrase_min_score,
        "queries": len(es.questions),
        "passages": len(es.passages),
        "protocol": (
            f"pairs scored >= {s.paraphrase_min_score:g}: sentence 1 the query, sentence 2 its "
            "gold passage; search space: every distinct sentence 2 of the file"
        ),
        "fusion_weights": "as tuned on the data's train titles; not refitted on this set",
        "rows": rows,
        "stage_check": stage_check(rows),
        "total_s": time.perf_counter() - t0,
    }


def _speed(s: BenchmarkSettings, full_parts: PipelineParts, data: _Data) -> dict[str, Any]:
    """The rerank-speed comparison (:func:`rerank_speed`) on the first protocol's questions:
    candidates from the MRC bi-encoder (the book's pipeline) or, without one, tuned BM25;
    variants: the backend, windows, both, and both with a cascade fitted on the tuning
    questions."""
    from lc_klue.models.onnx_backend import exportable, onnx_runtime_installed
    from lc_klue.models.reranker import load_cross_encoder
    from lc_klue.ranking import fit_cascade_margin
    from lc_klue.retrieval.compressor import CrossEncoderReranker, first_stage_margin

    assert s.cross_encoder is not None
    es = next(iter(data.eval_sets.values()))
    qs = es.questions[: s.speed_queries]
    gold = es.gold_ids()[: s.speed_queries]
    fs = (
        {"kind": "dense", "embedding_model": s.mrc_model}
        if s.mrc_model
        else {"kind": "bm25", **TUNED_BM25}
    )
    parts = full_parts if es.protocol == "full" else full_parts.with_documents(es.documents())
    first = build_pipeline(PipelineSpec.checked(first_stage=fs, top_n=s.k), parts)
    cands = first.batch(qs)
    torch_model = full_parts.cross_encoder(s.cross_encoder)
    wanted = None if s.speed_backend in ("torch", "none") else s.speed_backend
    if wanted == "auto":
        wanted = "int8" if onnx_runtime_installed() else None
        if wanted is None:
            logger.info("speed test: no int8 variants (onnxruntime is not installed)")
    if wanted and not exportable(torch_model):  # e.g. KiwiInteraction: torch variants only
        logger.warning("speed test: no %s variants (the cross-encoder cannot be exported)", wanted)
        wanted = None
    t0 = time.perf_counter()
    fast_model = (
        load_cross_encoder(s.cross_encoder, "cpu", s.max_length, backend=wanted)
        if wanted and wanted != "torch"
        else torch_model
    )
    backend_setup = time.perf_counter() - t0

    choosers: dict[int, Any] = {}  # one window chooser (passage analyses) per model

    def reranker(model: Any, window: int | None, margin: float | None = None) -> Any:
        made = CrossEncoderReranker(
            model=model, top_n=s.k, batch_size=s.batch_size, window=window, cascade_margin=margin
        )
        if window:
            made._windows = choosers.setdefault(id(model), made.windows())
        return made

    variants: dict[str, Any] = {}
    backend = wanted if fast_model is not torch_model else None
    if backend:
        variants[backend] = reranker(fast_model, None)
    window_setup = 0.0
    if s.speed_window:
        variants[f"window{s.speed_window}"] = reranker(torch_model, s.speed_window)
        if backend:
            variants[f"{backend}+window{s.speed_window}"] = reranker(fast_model, s.speed_window)
        t0 = time.perf_counter()  # passage analysis: index-time work, done once per corpus
        passages = [d.page_content for d in parts.documents]
        for v in variants.values():
            if v.window:
                v.windows().analyse(passages)
        window_setup = time.perf_counter() - t0
    cascade: dict[str, Any] | None = None
    cascade_full: dict[str, Any] | None = None
    if s.speed_cascade:
        train_cands = build_pipeline(
            PipelineSpec.checked(first_stage=fs, top_n=s.k), full_parts
        ).batch(data.train_questions)
        margins = [
            m if (m := first_stage_margin(c)) is not None else float("-inf") for c in train_cands
        ]
        first_correct = [
            bool(c) and _ids(c)[0] == g for c, g in zip(train_cands, data.train_gold, strict=True)
        ]

        def fit(window: int | None) -> dict[str, Any]:
            """The cascade margin of the reranker on ``window``, fitted on the train titles."""
            out = reranker(fast_model, window).compress_documents_batch(
                train_cands, data.train_questions
            )
            reranked_correct = [
                bool(o) and _ids(o)[0] == g for o, g in zip(out, data.train_gold, strict=True)
            ]
            fitted: dict[str, Any] = dict(
                fit_cascade_margin(margins, first_correct, reranked_correct)
            )
            fitted["fitted_on"] = f"{len(data.train_questions)} train-title questions"
            return fitted

        prefix = [backend] if backend else []
        if s.speed_window:  # the full passage too: the cascade alone, without windows
            cascade_full = fit(None)
            if cascade_full["threshold"] is not None:
                name = "+".join([*prefix, "cascade"])
                variants[name] = reranker(fast_model, None, cascade_full["threshold"])
        cascade = fit(s.speed_window)
        if cascade["threshold"] is not None:
            window = [f"window{s.speed_window}"] if s.speed_window else []
            name = "+".join([*prefix, *window, "cascade"])
            variants[name] = reranker(fast_model, s.speed_window, cascade["threshold"])
    speed = rerank_speed(torch_model, qs, cands, s.batch_size, gold=gold, variants=variants)
    first_ids = [_ids(c) for c in cands]
    speed |= {
        "candidates_from": (
            f"{'MRC bi-encoder' if s.mrc_model else 'BM25-Kiwi (k1 0.9, b 0.4)'} top {s.k}, "
            f"{es.protocol} protocol"
        ),
        "first_stage": _ranking_summary(first_ids, first_ids, gold),
        "backend": backend,
        "backend_setup_s": backend_setup,
        "window": s.speed_window,
        "window_analysis_s": window_setup,
        "cascade": cascade,
        "cascade_full_passage": cascade_full,
    }
    return speed


def run_benchmark(settings: BenchmarkSettings) -> dict[str, Any]:
    """Run every configuration on the same questions; return a JSON-ready result."""
    s = settings
    start = time.perf_counter()
    if s.threads:
        import torch

        torch.set_num_threads(s.threads)
    configs, skipped = _check_settings(s)
    data = _load_data(s)
    full = data.eval_sets.get("full") or build_eval_set(
        load_mrc(s.data), "full", s.n_questions, s.seed
    )
    full_parts = PipelineParts(
        full.documents(),
        device=s.device,
        batch_size=s.batch_size,
        max_length=s.max_length,
        show_progress=s.show_progress,
    )
    needed = {m for c in configs for m in CONFIGS[c][1]}
    if s.speed_queries and s.cross_encoder:  # the speed test reranks with it
        needed.add("ce")
    models = _model_infos(full_parts, s, needed)
    tuning = _tune_fusion(full_parts, s, configs, data.train_questions, data.train_gold)
    weights = {c: t["weights"] for c, t in tuning.items() if not c.startswith("_")}
    rows: list[dict[str, Any]] = []
    setup: dict[str, float] = {}
    for protocol, es in data.eval_sets.items():
        t0 = time.perf_counter()
        parts = full_parts if protocol == "full" else full_parts.with_documents(es.documents())
        rows += _run_protocol(configs, es, parts, s, weights)
        setup[protocol] = time.perf_counter() - t0
    paraphrase = None
    if data.paraphrase is not None:
        paraphrase = _run_paraphrase(configs, data.paraphrase, full_parts, s, weights)
    speed = None
    if s.cross_encoder and s.speed_queries and "ce" in models:
        speed = _speed(s, full_parts, data)
    return {
        "settings": _settings_record(s, len(data.train_questions)),
        "data": _data_record(data),
        "models": models,
        "hardware": hardware(),
        "skipped": skipped,
        "fusion_tuning": tuning,
        "setup_s": setup,
        "rerank_speed": speed,
        "stage_check": stage_check(rows),
        "rows": rows,
        "paraphrase": paraphrase,
        "total_s": time.perf_counter() - start,
    }


def _settings_record(s: BenchmarkSettings, tune_questions: int) -> dict[str, Any]:
    """The ``settings`` of a result: what was run, with how many tuning questions."""
    return {
        "data": str(s.data),
        "corpus": str(s.corpus) if s.corpus else "all distinct contexts of the data file",
        "split": {"by": "title", "test_size": s.test_size, "seed": s.seed},
        "questions": s.n_questions,
        "k": s.k,
        "top_n": s.top_n,
        "ce_depth": s.ce_depth,
        "latency_queries": s.latency_queries,
        "tune_questions": tune_questions,
        "tuned_on": (
            f"questions of the dev titles ({s.dev_size} of the TRAIN titles, held out from "
            "training)"
            if s.dev_size
            else "questions of the TRAIN titles (never the evaluated questions)"
        ),
        "dev_size": s.dev_size,
        "tag": s.tag,
        "bm25_tuned": TUNED_BM25,
        "fusion_dense": s.fusion_dense,
        "stage_drops_expected": s.stage_drops_expected,
        **s.extra,
    }


def _data_record(data: _Data) -> dict[str, Any]:
    """The ``data`` of a result: question, title and passage counts."""
    return {
        "questions": data.questions,
        "titles": data.titles,
        "test_questions": data.test_questions,
        "train_questions": data.questions - data.test_questions,
        "corpus_passages": data.corpus_passages,
        "sampled_questions": len(next(iter(data.eval_sets.values())).questions),
        **{f"{p}_search_space": len(es.passages) for p, es in data.eval_sets.items()},
    }


def row_id(config: str, tag: str | None) -> str:
    """A row's id: the configuration, prefixed with ``tag`` when it uses models."""
    return f"{tag}-{config}" if tag and CONFIGS[config][1] else config


def stage_check(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per protocol, whether each added stage (along :data:`STAGE_CHAINS`: the fine-tuned
    bi-encoder, the reranker, each fusion feature) kept hit@1 at least at the stage before."""
    out = []
    for protocol in dict.fromkeys(r["group"] for r in rows):
        by_id = {r.get("config", r["id"]): r for r in rows if r["group"] == protocol}
        pairs = (
            pair
            for chain in STAGE_CHAINS
            for pair in itertools.pairwise([c for c in chain if c in by_id])
        )
        for prev, cur in pairs:
            out.append(
                {
                    "protocol": protocol,
                    "stage": cur,
                    "after": prev,
                    "hit@1_before": by_id[prev]["hit@1"],
                    "hit@1_after": by_id[cur]["hit@1"],
                    "ok": by_id[cur]["hit@1"] >= by_id[prev]["hit@1"],
                }
            )
    return out


def stage_check_line(checks: Sequence[dict[str, Any]], drops_expected: str | None = None) -> str:
    """The :func:`stage_check` as one line: passed, or FAILED with each stage that lowered
    hit@1; with ``drops_expected`` (why a drop is expected on this run, e.g. tiny models) the
    drops are told as information with that reason, not as a failure."""
    several = len({c["protocol"] for c in checks}) > 1
    bad = [
        f"{c['stage']} {c['hit@1_after']:.3f} < {c['after']} {c['hit@1_before']:.3f}"
        + (f" ({c['protocol']})" if several else "")
        for c in checks
        if not c["ok"]
    ]
    ids = {c["stage"] for c in checks} | {c["after"] for c in checks}
    chains = [" → ".join(c for c in chain if c in ids) for chain in STAGE_CHAINS]
    said = (
        "Stage check (hit@1 of each configuration at least that of the one it adds a stage "
        f"to, along {'; '.join(c for c in chains if '→' in c)}): "
    )
    if not bad:
        return said + "passed."
    if drops_expected:
        return said + f"not raised by {'; '.join(bad)}, as expected here: {drops_expected}."
    return said + "FAILED: " + "; ".join(bad) + "."


def benchmark_markdown(result: dict[str, Any]) -> str:
    """The results as markdown: one table per protocol, the speed comparison and the setup."""
    st, data = result["settings"], result["data"]
    lines = [
        f"Data: `{st['data']}`, split by title (test {st['split']['test_size']}, "
        f"seed {st['split']['seed']}): {data['test_questions']} test / "
        f"{data['train_questions']} train questions; "
        f"{data.get('sampled_questions', st['questions'])} sampled test "
        f"questions (seed {st['split']['seed']}). Fusion weights tuned on "
        f"{st['tune_questions']} train-title questions.",
        "",
    ]
    lines += _protocol_tables(result)
    lines += _speed_lines(result.get("rerank_speed"))
    checks = stage_check(result["rows"])
    if checks:
        lines += [stage_check_line(checks, st.get("stage_drops_expected")), ""]
    models = result.get("models", {})
    if models:
        lines.append("Models:")
        for key, m in models.items():
            lines.append(f"- {key}: `{m.get('path')}` — {_model_summary(m)}")
        lines.append("")
    if st.get("command"):
        lines += ["Reproduce:", "", "```bash", st["command"], "```", ""]
    hw = result["hardware"]
    lines.append(
        f"Hardware: {hw['processor']}, {hw['cpu_count']} CPU cores, torch threads "
        f"{hw['torch_threads']}, GPU: {hw['cuda'] or 'none'}. Whole run: "
        f"{result['total_s'] / 60:.1f} min. Columns: p50/p95 = single-query latency "
        "(`invoke`), total s = all questions through `batch`, batch × = per-query latency / "
        "batched time per query."
    )
    return "\n".join(lines) + "\n"


def _protocol_tables(result: dict[str, Any]) -> list[str]:
    """One table per protocol; the paraphrase set's quality beside the ``full`` protocol's
    (else the first protocol's) rows, with a line that says what it is."""
    data, para = result["data"], result.get("paraphrase")
    protocols = list(dict.fromkeys(r["group"] for r in result["rows"]))
    beside = "full" if "full" in protocols else protocols[0]
    lines = []
    for protocol in protocols:
        size = data.get(f"{protocol}_search_space")
        what = "the questions' own passages" if protocol == "book" else "all distinct passages"
        lines += [f"**Protocol `{protocol}`** — search space: {size} passages ({what}).", ""]
        rows = [r for r in result["rows"] if r["group"] == protocol]
        if para and protocol == beside:
            lines += [
                f"Columns `para …`: paraphrase set `{para['file']}`, {para['queries']} pairs "
                f"scored ≥ {para['min_score']:g} (sentence 1 → sentence 2) searched among "
                f"{para['passages']} distinct second sentences; the same pipelines, fusion "
                "weights as tuned above (not refitted on it).",
                "",
            ]
            lines.append(markdown_table_beside(rows, para["rows"], "para"))
        else:
            lines.append(markdown_table(rows))
    return lines


def _speed_lines(speed: dict[str, Any] | None) -> list[str]:
    """The reranking speed comparison (:func:`rerank_speed`) as markdown lines: a speed-up only
    at the book's quality (:func:`equal_quality_speedups`), every time ratio in the table."""
    if not speed:
        return []
    lines = [
        f"Cross-encoder reranking of the same {speed['pairs']} pairs ({speed['queries']} "
        f"queries, {speed['candidates_from']}): book's per-query loop "
        f"{speed['per_query_s']:.2f} s, batched across queries {speed['batched_s']:.2f} s; "
        f"identical rankings for {speed['identical_rankings']}/{speed['queries']} queries "
        f"(max score difference {speed['max_abs_score_diff']:.1e}). " + _speed_headline(speed),
        "",
    ]
    configs = speed.get("configs") or {}
    if configs:
        lines += [
            "| reranking | seconds | time ratio | speed-up | pairs scored | hit@1 | MRR@10 "
            "| nDCG@10 | same top 1 | overlap@10 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        nan = float("nan")
        for name, c in configs.items():
            ratio, gain = c.get("time_ratio"), c.get("speedup")
            lines.append(
                f"| {name} | {c['seconds']:.2f} | {_ratio(ratio)} | {_ratio(gain)} "
                f"| {c['pairs_scored']} | {c.get('hit@1', nan):.3f} | {c.get('mrr@10', nan):.3f} "
                f"| {c.get('ndcg@10', nan):.3f} | {c['top1_agreement']:.3f} "
                f"| {c['overlap@10']:.3f} |"
            )
        notes = [f"`{n}`: {c['speedup_note']}" for n, c in configs.items() if "speedup_note" in c]
        lines += ["", "No speed-up for " + "; ".join(notes) + "."] if notes else []
        lines.append("")
    return lines


def _ratio(value: float | None) -> str:
    """A time ratio or speed-up as a table cell (``–`` when there is none)."""
    return "–" if value is None else f"{value:.2f}"


def _speed_headline(speed: dict[str, Any]) -> str:
    """The sentence that names the speed-up: the fastest variant at the book's quality, and
    the fastest of all when that one is not it (its time ratio is not a speed-up)."""
    tol = speed.get("quality_tolerance")
    if speed.get("fastest"):
        said = (
            f"Fastest at the book's quality (hit@1 and MRR@10 within {tol}): "
            f"`{speed['fastest']}` → **{speed['speedup']:.2f}×**."
        )
    else:
        said = f"No speed-up: {speed.get('speedup_note')}."
    overall = speed.get("fastest_overall")
    if overall and overall != speed.get("fastest"):
        ratio = speed.get("fastest_overall_time_ratio")
        note = speed.get("configs", {}).get(overall, {}).get("speedup_note", "")
        said += (
            f" The fastest of all, `{overall}` ({_ratio(ratio)}× the book's time), is not a "
            f"speed-up: {note}."
        )
    return said


def write_benchmark(result: dict[str, Any], output_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.png`` (hit@1 against time)."""
    paths = report_paths(output_dir, name)
    write_json(result, paths["json"])
    atomic_write_text(paths["md"], benchmark_markdown(result))
    rows = [r | {"name": r["id"], "group": f"protocol {r['group']}"} for r in result["rows"]]
    plot_quality_vs_time(rows + _speed_points(result.get("rerank_speed")), paths["png"])
    return paths


def _speed_points(speed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rerank-speed variants as plot points of their own panel (hit@1 against time per
    query), beside the configurations' panels."""
    if not speed or "hit@1" not in next(iter(speed["configs"].values()), {}):
        return []
    n = speed["queries"]
    return [
        {"name": name, "group": "rerank speed", "total_s": c["seconds"], "n_queries": n}
        | {"hit@1": c["hit@1"]}
        for name, c in speed["configs"].items()
    ]
