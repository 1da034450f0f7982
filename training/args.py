"""The data, hyper-parameters and run settings every training stage shares.

In the spirit of sentence-transformers' ``*TrainingArguments``: one typed object goes to any
stage (``train_sts(out, model, args=TrainingArgs(epochs=2))``), the CLI builds its flags from
it (``lc_klue.commands.train``), and a field left at ``None`` takes the stage's own default
(:meth:`TrainingArgs.for_stage`). What only one stage has (its loss, its negatives) is that
stage's small settings object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_klue.errors import DataError, ModelError

if TYPE_CHECKING:
    from datasets import Dataset

#: Each stage's defaults for what :class:`TrainingArgs` leaves at None (the book's recipes).
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sts": {"epochs": 4, "max_length": 128, "dev_size": 0.1},
    "mrc": {"epochs": 1, "max_length": 256, "dev_size": 0.0},
    "cross-encoder": {"epochs": 1, "max_length": 512, "dev_size": 0.0},
}


@dataclass(frozen=True)
class TrainingArgs:
    """Shared data, hyper-parameters and run settings of a training stage."""

    train_data: str | Path | Dataset = "klue"
    """Training data: ``"klue"`` (the hub's KLUE STS / MRC), a local file or a Dataset."""
    test_data: str | Path | Dataset | None = None
    """Data evaluated before and after training; None: KLUE validation when training on
    ``"klue"``, else (MRC stages) a title split of the training data (``test_size``)."""
    test_size: float = 0.3
    """MRC stages: share of the titles held out for testing when no ``test_data`` is given."""
    dev_size: float | None = None
    """Share of the training data held out as dev and not trained on; None: the stage's
    default (STS 0.1 of the pairs, evaluated every epoch; MRC stages 0, else that share of
    the training titles, on which ``lc-klue benchmark`` tunes fusion weights honestly)."""
    pairs: str = "questions"
    """MRC stages: ``questions`` (the data's own) or ``ict`` (inverse-cloze pairs of any
    passage collection, no questions needed)."""
    pair_questions: int = 100
    """MRC stages: test questions of the book's pair evaluation."""
    eval_questions: int | None = None
    """MRC stages: held-out questions of the retrieval evaluation; None: 1000, or 200 when
    ``max_steps`` caps training (:func:`training.evaluation.eval_question_count`)."""
    epochs: float | None = None
    """Passes over the training data; None: the stage's default (STS 4, MRC 1, cross-encoder 1)."""
    batch_size: int = 16
    """Examples per optimiser step (per device)."""
    learning_rate: float | None = None
    """Peak learning rate (linear warm-up, then linear decay); None: the model's own
    (:func:`default_learning_rate`: 2e-5 for transformers, more for Kiwi static models)."""
    warmup_steps: int = 100
    """Steps of linear warm-up."""
    max_length: int | None = None
    """Tokens per input (a pair, for the cross-encoder); None: the stage's default (STS 128,
    MRC 256, cross-encoder 512). Capped at what the model's position embeddings allow."""
    freeze_embeddings: bool | None = None
    """Keep the word-embedding table fixed; None: when it holds more than half of the
    parameters of a pretrained model (e5-small: 96 M of 118 M; never a from-scratch base),
    which makes each step much cheaper on a CPU."""
    max_steps: int = -1
    """Stop after this many optimiser steps (-1: train all epochs)."""
    save_steps: int = 500
    """Write a checkpoint every this many steps (to ``OUTPUT.ckpt/``)."""
    logging_steps: int = 50
    """Log the training loss every this many steps."""
    seed: int = 42
    """Seed of data splits, sampling, initialisation and batch order."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``; None: the best available."""
    resume: bool | None = None
    """None: resume from a checkpoint when one exists; True: insist on one; False: start over."""
    overwrite: bool = False
    """Replace an existing finished model directory (otherwise that is an error)."""
    hub_repo_id: str | None = None
    """Upload the finished model to this Hugging Face hub repository."""
    show_progress: bool = True
    """Progress bars while training and evaluating."""
    evaluate_before: bool = True
    """Evaluate the model before training too (the ``before`` figures); False skips that
    evaluation, as long as the one after, when only the trained model's figures matter."""
    callbacks: Sequence[Any] = field(default=(), compare=False, repr=False)
    """Extra ``transformers.TrainerCallback`` objects."""

    def __post_init__(self) -> None:
        """Check the values at once: one clear error instead of a failure deep in training."""
        for name in ("epochs", "learning_rate"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise DataError(f"{name} must be positive, got {value}")
        for name in ("batch_size", "save_steps", "logging_steps", "max_length", "pair_questions"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise DataError(f"{name} must be a positive integer, got {value!r}")
        if self.warmup_steps < 0:
            raise DataError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise DataError(f"max_steps must be positive or -1 (off), got {self.max_steps}")

    def for_stage(self, stage: str) -> TrainingArgs:
        """A copy with ``stage``'s defaults (:data:`STAGE_DEFAULTS`) for the fields left at
        None."""
        unset = {k: v for k, v in STAGE_DEFAULTS[stage].items() if getattr(self, k) is None}
        return replace(self, **unset)

    def hyperparameters(self) -> dict[str, Any]:
        """The values a model card reports (the training recipe, not the run's plumbing)."""
        keep = (
            "epochs",
            "batch_size",
            "learning_rate",
            "warmup_steps",
            "max_length",
            "seed",
        )
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}
        if self.max_steps > 0:
            out["max_steps"] = self.max_steps
        return out


#: The STS stage's losses, the MRC stage's negatives (besides the other passages of each
#: batch), and the cross-encoder stage's negatives, losses and candidate sources.
STS_LOSSES = ("cosine", "cosent")
MRC_NEGATIVES = ("in-batch", "bm25")
NEGATIVE_KINDS = ("random", "bm25")
LOSSES = ("bce", "listwise")
FIRST_STAGES = ("bm25", "dense", "random")


@dataclass(frozen=True)
class StsSettings:
    """What only the STS stage has."""

    pooling: str = "mean"
    """How token vectors become the sentence vector: ``mean`` (the book's), ``cls`` or ``max``."""
    loss: str = "cosine"
    """``cosine`` (cosine similarity regressed on label / 5, the book's) or ``cosent``."""

    def __post_init__(self) -> None:
        """Refuse an unknown loss at once."""
        if self.loss not in STS_LOSSES:
            raise DataError(f"unknown STS loss {self.loss!r}; choose from {', '.join(STS_LOSSES)}")


@dataclass(frozen=True)
class MrcSettings:
    """What only the MRC stage has."""

    negatives: str = "in-batch"
    """``in-batch``: the other passages of a batch only (the book's); ``bm25``: plus each
    question's ``num_negatives`` best BM25 passages among the training passages that are not
    its own (other paragraphs of the same article included: what a first stage confuses)."""
    num_negatives: int = 1
    """BM25-mined negatives per question (``negatives="bm25"``)."""

    def __post_init__(self) -> None:
        """Refuse unknown negatives at once."""
        if self.negatives not in MRC_NEGATIVES:
            raise DataError(
                f"unknown negatives {self.negatives!r}; choose from {', '.join(MRC_NEGATIVES)}"
            )


@dataclass(frozen=True)
class CrossEncoderSettings:
    """What only the cross-encoder stage has."""

    negatives: str = "random"
    """``random``: a passage of another title (the book's); ``bm25``: the question's best BM25
    passages, other paragraphs of its own article included."""
    num_negatives: int = 1
    """Negatives per question."""
    loss: str = "bce"
    """``bce``: binary cross-entropy on pairs (the book's); ``listwise``: a softmax over each
    question's gold passage and its negatives."""
    candidates: int = 30
    """Candidates per question in the reranking evaluation."""
    first_stage: str | None = None
    """Where those candidates come from: ``bm25``, ``dense`` (the ``embedding_model``'s top)
    or ``random`` (the gold passage among random other-title passages); None: ``dense`` with
    an ``embedding_model``, else ``bm25``."""
    embedding_model: str | Path | None = None
    """A sentence-transformers bi-encoder directory giving the ``dense`` candidates."""
    layers: int | None = None
    """Keep only the base's first encoder layers (:func:`training.models.keep_layers`)."""

    def __post_init__(self) -> None:
        """Refuse unknown or inconsistent settings at once."""
        for name, value, known in (
            ("negatives", self.negatives, NEGATIVE_KINDS),
            ("loss", self.loss, LOSSES),
            ("first stage", self.candidate_source, FIRST_STAGES),
        ):
            if value not in known:
                raise DataError(f"unknown {name} {value!r}; choose from {', '.join(known)}")
        if self.candidate_source == "dense" and self.embedding_model is None:
            raise ModelError("first_stage='dense' needs a bi-encoder (--embedding-model)")
        if self.num_negatives < 1 or self.candidates < 2:
            raise DataError("num_negatives must be ≥ 1 and candidates ≥ 2")

    @property
    def candidate_source(self) -> str:
        """The first stage, its default resolved."""
        return self.first_stage or ("dense" if self.embedding_model is not None else "bm25")


#: Learning rate of transformer models when none is given (the book's).
TRANSFORMER_LEARNING_RATE = 2e-5


def default_learning_rate(model: Any) -> float:
    """The learning rate a model trains with when none is given: its first module's
    ``default_learning_rate`` (lc-klue's Kiwi modules), else :data:`TRANSFORMER_LEARNING_RATE`."""
    try:
        first = model[0]
    except (TypeError, IndexError, KeyError):
        return TRANSFORMER_LEARNING_RATE
    return float(getattr(first, "default_learning_rate", TRANSFORMER_LEARNING_RATE))
