"""The hyper-parameters and run settings every training stage shares.

In the spirit of sentence-transformers' ``*TrainingArguments``: one typed object goes to any
stage (``train_sts(..., args=TrainingArgs(epochs=2))``), the CLI builds it once from its flags,
and a field left at ``None`` takes the stage's own default (:meth:`TrainingArgs.for_stage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from lc_klue.errors import DataError

#: Each stage's defaults for what :class:`TrainingArgs` leaves at None (the book's recipes).
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sts": {"epochs": 4, "max_length": 128},
    "mrc": {"epochs": 1, "max_length": 256},
    "cross-encoder": {"epochs": 1, "max_length": 512},
}


@dataclass(frozen=True)
class TrainingArgs:
    """Shared hyper-parameters and run settings of a training stage."""

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
        for name in ("batch_size", "save_steps", "logging_steps", "max_length"):
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
        defaults = STAGE_DEFAULTS[stage]
        return replace(
            self,
            epochs=self.epochs if self.epochs is not None else defaults["epochs"],
            max_length=self.max_length if self.max_length is not None else defaults["max_length"],
        )

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
