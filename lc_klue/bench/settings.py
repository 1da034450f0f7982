"""What a benchmark run does, in four small groups: its data, its models, the pipeline grid and
the reranking speed test; and the ``settings`` record a result keeps of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lc_klue.bench.configs import DEFAULT_CONFIGS


@dataclass(frozen=True)
class DataSettings:
    """The questions, their split and the search space."""

    data: Path
    """MRC file: the questions with their gold passages."""
    corpus: Path | None = None
    """Passage file searched by the ``full`` protocol (None: the data's own passages)."""
    protocols: Sequence[str] = ("full",)
    """``full`` (every distinct passage) and/or ``book`` (the sampled questions' passages)."""
    n_questions: int = 1000
    """Test-title questions sampled."""
    seed: int = 42
    """Seed of the title split and of the samples."""
    test_size: float = 0.3
    """Share of the titles whose questions are the test questions."""
    tune_questions: int = 1000
    """Train-title questions the fusion weights are tuned on."""
    dev_size: float = 0.0
    """Tune fusion weights on the questions of this share of the TRAIN titles (the stages'
    ``--dev-size`` hold-out, so no model trained on them); 0: on train-title questions."""
    paraphrase: Path | None = None
    """An STS file (KorSTS TSV, KLUE STS JSON/CSV): also run every configuration on its
    paraphrase retrieval set (:func:`lc_klue.data.paraphrase_retrieval`), fusion weights as
    tuned on the data's train titles (not refitted on it)."""
    paraphrase_min_score: float = 4.0
    """Score (0–5) from which an STS pair is a query with its gold passage."""


@dataclass(frozen=True)
class ModelSettings:
    """The models (None: the configurations needing one are skipped) and how they run."""

    sts_model: str | None = None
    """STS-trained bi-encoder (directory or hub id)."""
    mrc_model: str | None = None
    """MRC fine-tuned bi-encoder."""
    cross_encoder: str | None = None
    """Cross-encoder reranker."""
    fusion_dense: str = "sts"
    """Bi-encoder whose cosine is a fusion feature. Default ``sts``: it never saw the MRC
    training questions, so weights tuned on training titles are not inflated by memorisation
    (the MRC model and the cross-encoder were trained on exactly those questions)."""
    batch_size: int = 64
    """Texts per model batch."""
    max_length: int | None = None
    """Cross-encoder max tokens (None: the model's own)."""
    device: str | None = None
    """cpu, cuda, cuda:N or mps (None: the best available)."""
    threads: int | None = None
    """Torch CPU threads (None: torch's choice)."""


@dataclass(frozen=True)
class GridSettings:
    """The configurations run and the pipelines' sizes."""

    configs: Sequence[str] = DEFAULT_CONFIGS
    """Configuration ids (:data:`lc_klue.bench.configs.CONFIGS`)."""
    k: int = 30
    """First-stage candidates."""
    top_n: int = 10
    """Passages returned."""
    ce_depth: int = 10
    """Fused top passages the cross-encoder rescores (``fusion-all``)."""
    tag: str | None = None
    """Prefix of the ids of rows that use models (``kiwi`` → ``kiwi-mrc``, ``kiwi-bm25+ce``)."""
    latency_queries: int = 50
    """Single-query (``invoke``) timings per configuration."""


@dataclass(frozen=True)
class SpeedSettings:
    """The reranking speed test (:mod:`lc_klue.bench.speed`)."""

    queries: int = 50
    """Queries reranked (0: no speed test)."""
    backend: str | None = "auto"
    """Backend of the fast reranking variants (``int8``, ``onnx``; ``auto``: ``int8`` when
    ONNX Runtime is installed, else none; None: only windows and the cascade, on the model as
    loaded)."""
    window: int | None = 128
    """Passage tokens of the windowed variants (None: no windowed variants)."""
    cascade: bool = True
    """Add the cascade variant (margin fitted on the tuning questions)."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """What to run: data, models, grid and speed test, and what the report says."""

    data: DataSettings
    """The questions, their split and the search space."""
    models: ModelSettings = field(default_factory=ModelSettings)
    """The models and how they run."""
    grid: GridSettings = field(default_factory=GridSettings)
    """The configurations and pipeline sizes."""
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    """The reranking speed test."""
    show_progress: bool = True
    """Show progress bars."""
    stage_drops_expected: str | None = None
    """Why an added stage may lower hit@1 on this run (the demo's tiny models): the stage
    check then reports such a drop as expected, with this reason, instead of as FAILED."""
    extra: dict[str, Any] = field(default_factory=dict)
    """More entries of the result's ``settings`` record (e.g. the command that ran)."""


def settings_record(s: BenchmarkSettings, tune_questions: int) -> dict[str, Any]:
    """The ``settings`` of a result: what was run, with how many tuning questions."""
    from lc_klue.retrieval.bm25 import TUNED_BM25

    d, g = s.data, s.grid
    return {
        "data": str(d.data),
        "corpus": str(d.corpus) if d.corpus else "all distinct contexts of the data file",
        "split": {"by": "title", "test_size": d.test_size, "seed": d.seed},
        "questions": d.n_questions,
        "k": g.k,
        "top_n": g.top_n,
        "ce_depth": g.ce_depth,
        "latency_queries": g.latency_queries,
        "tune_questions": tune_questions,
        "tuned_on": (
            f"questions of the dev titles ({d.dev_size} of the TRAIN titles, held out from "
            "training)"
            if d.dev_size
            else "questions of the TRAIN titles (never the evaluated questions)"
        ),
        "dev_size": d.dev_size,
        "tag": g.tag,
        "bm25_tuned": TUNED_BM25,
        "fusion_dense": s.models.fusion_dense,
        "stage_drops_expected": s.stage_drops_expected,
        **s.extra,
    }
