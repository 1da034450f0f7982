"""A pipeline as a saved artefact: its spec, how its fusion weights were fitted, the checks of
its models, in one JSON file — the default one lc-klue ships, and one in every index directory.

The default pipeline is the best one measured on KorQuAD: BM25 over Kiwi morphemes
(``k1=0.9, b=0.4``) proposes 30 passages, lexical score fusion
(:class:`~lc_klue.retrieval.lexical_features.LexicalFeatures`) reorders them with weights fitted
on questions of the KorQuAD *train* titles (``lc_klue/resources/default_pipeline.json``, which
says how). :func:`fit_pipeline` refits them on anyone's questions (``lc-klue tune``), and
:func:`add_models` adds a bi-encoder or a reranker that passed its
:func:`~lc_klue.retrieval.model_check.check_model`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lc_klue.errors import DataError, RetrievalError
from lc_klue.retrieval.bm25 import TUNED_BM25
from lc_klue.retrieval.fusion import MIN_GAIN
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import (
    FusionStage,
    PipelineSpec,
    RerankStage,
    build_pipeline,
)
from lc_klue.storage import atomic_write_text

logger = logging.getLogger(__name__)

FORMAT = "lc-klue-pipeline"
#: The pipeline file of an index directory.
PIPELINE_FILE = "pipeline.json"
#: Weight of a bi-encoder's cosine added to a fusion stage without fitting (``lc-klue tune``
#: replaces it): one lexical feature's worth, a fraction of the lexical weights together.
UNFITTED_DENSE_WEIGHT = 1.0


#: The pretrained bi-encoder of the default pipeline when the e5 extra is installed.
DENSE_DEFAULT = "e5-small"


def base_spec(k: int = 30, top_n: int = 10, embedding_model: str | None = None) -> PipelineSpec:
    """The default pipeline before fitting: BM25 (k1 0.9, b 0.4) top ``k`` → lexical fusion
    whose only weight is the first stage's (= BM25's ranking). With ``embedding_model`` the
    candidates are the union of BM25's and the bi-encoder's (reciprocal-rank fused) and the
    fusion adds the bi-encoder's cosine (feature ``dense``)."""
    first: dict[str, Any] = {"kind": "bm25", **TUNED_BM25}
    fusion: dict[str, Any] = {
        "kind": "fusion",
        "windows": [12, 25],
        "weights": {"first_stage": 1.0},
    }
    if embedding_model:
        first |= {"kind": "hybrid", "embedding_model": embedding_model}
        fusion["embedding_model"] = embedding_model
    return PipelineSpec.checked(first_stage=first, stages=[fusion], k=k, top_n=top_n)


def question_hash(question: str) -> str:
    """A short, one-way identity of a question (12 hex digits of SHA-1, spacing collapsed):
    a saved pipeline keeps these of its tuning questions, never their text."""
    return hashlib.sha1(" ".join(question.split()).encode("utf-8")).hexdigest()[:12]


@dataclass
class SavedPipeline:
    """A :class:`PipelineSpec` with its history: how its fusion weights were fitted
    (``fitted``), what the checks of its models said (``checks``) and the hashes of the
    questions the weights were fitted on (so an evaluation on them can be flagged)."""

    spec: PipelineSpec
    fitted: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    question_hashes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "format": FORMAT,
            "version": 1,
            "spec": self.spec.model_dump(mode="json"),
            "fitted": self.fitted,
            "checks": self.checks,
            "question_hashes": self.question_hashes,
        }

    def save(self, path: str | Path) -> Path:
        """Write the pipeline file atomically."""
        return atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> SavedPipeline:
        """Read a pipeline file (one :class:`RetrievalError` line when it is not one)."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise RetrievalError(f"{file}: pipeline file not found")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise RetrievalError(f"{file}: not a readable pipeline file ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RetrievalError(f"{file}: not an lc-klue pipeline file")
        try:
            spec = PipelineSpec.checked(**data["spec"])
        except (KeyError, TypeError, RetrievalError) as e:
            raise RetrievalError(f"{file}: {e}") from None
        return cls(
            spec=spec,
            fitted=dict(data.get("fitted") or {}),
            checks=list(data.get("checks") or []),
            question_hashes=list(data.get("question_hashes") or []),
        )

    def tuned_on(self, questions: Sequence[str]) -> int:
        """How many of ``questions`` the fusion weights were fitted on."""
        mine = set(self.question_hashes)
        return sum(question_hash(q) in mine for q in questions)


def default_pipeline(embedding_model: str | None = None) -> SavedPipeline:
    """A pipeline lc-klue ships, its weights fitted on KorQuAD train titles: BM25 top 30 →
    lexical fusion, or with ``embedding_model`` = :data:`DENSE_DEFAULT` the union of BM25's and
    e5-small's candidates → lexical + dense fusion. Another ``embedding_model`` is added to the
    former by :func:`add_models`."""
    from lc_klue.resources import DEFAULT_PIPELINE, DENSE_PIPELINE

    return SavedPipeline.load(
        DENSE_PIPELINE if embedding_model == DENSE_DEFAULT else DEFAULT_PIPELINE
    )


def fusion_stage(spec: PipelineSpec) -> int:
    """The position of the spec's first fusion stage (the one :func:`fit_pipeline` fits)."""
    for i, stage in enumerate(spec.stages):
        if isinstance(stage, FusionStage):
            return i
    raise RetrievalError("the pipeline has no fusion stage whose weights could be fitted")


def fit_pipeline(
    saved: SavedPipeline,
    parts: PipelineParts,
    questions: Sequence[str],
    gold_ids: Sequence[str],
    about: dict[str, Any] | None = None,
) -> SavedPipeline:
    """Refit the weights of the fusion stage on ``questions`` whose gold passage ids (in
    ``parts``' corpus) are known: coordinate ascent on MRR@10 from the first stage's ranking,
    keeping a change only if it gains more than :data:`MIN_GAIN` (the benchmark's procedure).
    Never fit on the questions you evaluate with. ``about`` (data, split, seed) is recorded."""
    spec = saved.spec
    i = fusion_stage(spec)
    stage = spec.stages[i]
    alone = spec.model_copy(
        update={
            "stages": [stage.model_copy(update={"weights": {"first_stage": 1.0}, "keep": None})],
            "top_n": spec.k,
        }
    )
    fusion = build_pipeline(alone, parts)
    report = fusion.fit(list(questions), list(gold_ids), min_gain=MIN_GAIN)  # type: ignore[attr-defined]
    stages = list(spec.stages)
    stages[i] = stage.model_copy(update={"weights": report["weights"]})
    logger.info("fusion weights fitted on %d questions: %s", len(questions), report["weights"])
    return SavedPipeline(
        spec=spec.model_copy(update={"stages": stages}),
        fitted={
            **(about or {}),
            "questions": len(questions),
            "search_space": len(parts.documents),
            "objective": "mrr@10",
            "min_gain": MIN_GAIN,
            **{k: v for k, v in report.items() if k != "weights"},
        },
        checks=saved.checks,
        question_hashes=sorted({question_hash(q) for q in questions}),
    )


def add_models(
    saved: SavedPipeline,
    *,
    embedding_model: str | None = None,
    cross_encoder: str | None = None,
    checks: Sequence[Any] = (),
    rerank_fusion: Literal["none", "rrf"] = "rrf",
) -> SavedPipeline:
    """The pipeline with the models that passed their checks (``checks``: the
    :class:`~lc_klue.retrieval.model_check.ModelCheck` of each model, None where the corpus
    was too small to check): a bi-encoder's cosine joins the fusion stage
    (:data:`UNFITTED_DENSE_WEIGHT` until ``lc-klue tune``), a cross-encoder reranks the fused
    candidates, fused by reciprocal rank with the fusion's ranking (``rerank_fusion``). A model
    near chance is left out, with a warning."""
    from lc_klue.retrieval.model_check import admits

    verdicts = {c.model: c for c in checks if c is not None}
    spec = saved.spec
    stages = list(spec.stages)
    recorded = list(saved.checks)
    for name, kind in ((embedding_model, "embedding model"), (cross_encoder, "cross-encoder")):
        if not name:
            continue
        check = verdicts.get(name)
        if check is not None:
            recorded.append(check.to_dict())
            if not admits(check):
                continue
        else:
            recorded.append({"model": name, "kind": kind, "line": "not checked (corpus too small)"})
        if kind == "embedding model":
            i = fusion_stage(spec)
            stage = stages[i]
            assert isinstance(stage, FusionStage)
            weights = {**stage.weights, "dense": stage.weights.get("dense", UNFITTED_DENSE_WEIGHT)}
            stages[i] = stage.model_copy(update={"embedding_model": name, "weights": weights})
        else:
            stages.append(RerankStage(cross_encoder=name, fusion=rerank_fusion))
    if not stages:
        raise DataError("the pipeline has no stages")
    return SavedPipeline(
        spec=PipelineSpec.checked(
            **{**spec.model_dump(), "stages": [s.model_dump() for s in stages]}
        ),
        fitted=saved.fitted,
        checks=recorded,
        question_hashes=saved.question_hashes,
    )
