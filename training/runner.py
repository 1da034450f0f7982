"""The one flow every training stage runs.

A stage (``training.sts``, ``training.mrc``, ``training.cross_encoder``) only says what is its
own — its data, model, loss and evaluation — as a :class:`StagePlan`. :func:`run_stage` does
the rest, the same way for all of them: refuse to replace a finished model, measure time and
memory, evaluate before, train on the sentence-transformers trainer (resuming from a
checkpoint in ``OUTPUT.ckpt/``), evaluate after, then write the model with ``metrics.json``
and a model card atomically, and upload it when asked.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from datasets import Dataset
from sentence_transformers import (
    CrossEncoder,
    CrossEncoderTrainer,
    CrossEncoderTrainingArguments,
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from tqdm.auto import tqdm
from transformers import PrinterCallback, ProgressCallback, TrainerCallback, set_seed
from transformers.trainer_utils import get_last_checkpoint

from lc_klue.errors import ModelError
from lc_klue.runtime import pick_device, precision_kwargs
from lc_klue.storage import refuse_existing
from training.args import TrainingArgs, default_learning_rate
from training.evaluation import StageEvaluator, eval_question_count
from training.models import (
    freeze_word_embeddings,
    make_bi_encoder,
    make_cross_encoder,
    resolve_base_model,
)
from training.outputs import StageResult, complete_stage

logger = logging.getLogger(__name__)


@dataclass
class StagePlan:
    """What a stage hands the runner: its model, data, loss and evaluation."""

    model: SentenceTransformer | CrossEncoder
    """The model to train (already on the run's device)."""
    train_dataset: Dataset
    """The training examples, in the columns the loss expects."""
    loss: Any
    """A sentence-transformers loss built on ``model``."""
    evaluator: StageEvaluator
    """The stage's figures (:class:`training.evaluation.StageEvaluator`): called on the model
    before and after training, and the trainer's evaluator unless ``trainer_kwargs`` names
    another."""
    card: dict[str, Any]
    """Model-card entries: ``description``, ``base_model``, ``data`` and any extra keys."""
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra trainer arguments (e.g. ``eval_dataset`` and an ``evaluator`` run every epoch)."""
    args_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra training-arguments fields (e.g. ``batch_sampler``, ``eval_strategy``)."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """Stage-specific recipe values reported beside the shared ones."""
    prompts: dict[str, str] = field(default_factory=dict)
    """The model's prompt per training column (:func:`training.models.stage_prompts`)."""


@dataclass
class StageContext:
    """What a stage may use while planning: the resolved arguments, device and folders."""

    args: TrainingArgs
    """The run's arguments, with the stage's defaults filled in."""
    device: str
    """The device the model trains on."""
    output_dir: Path
    """The finished model's directory."""
    work_dir: Path
    """Checkpoints and built base models (``OUTPUT.ckpt``)."""

    def base_model(self, name_or_path: str | Path, texts: Callable[[], Iterable[str]]) -> str:
        """``name_or_path`` resolved; a ``scratch:`` base is built here from ``texts()``."""
        return resolve_base_model(
            name_or_path,
            texts=texts,
            scratch_dir=self.work_dir / "scratch-base",
            seed=self.args.seed,
        )

    def bi_encoder(self, base: str, pooling: str = "mean") -> SentenceTransformer:
        """A pooled bi-encoder on ``base``, seeded, within the model's length limit."""
        set_seed(self.args.seed)
        model = make_bi_encoder(base, pooling, self.max_length, self.device)
        freeze_word_embeddings(model, self.args.freeze_embeddings)
        return model

    def cross_encoder(self, base: str) -> CrossEncoder:
        """A one-output cross-encoder on ``base``, seeded, within the model's length limit."""
        set_seed(self.args.seed)
        model = make_cross_encoder(base, self.max_length, self.device)
        freeze_word_embeddings(model, self.args.freeze_embeddings)
        return model

    def eval_questions(self) -> int:
        """Held-out questions of the stage's retrieval evaluation: ``args.eval_questions``,
        else fewer when ``max_steps`` caps training
        (:func:`training.evaluation.eval_question_count`)."""
        return eval_question_count(self.args.eval_questions, self.args.max_steps)

    @property
    def max_length(self) -> int:
        """The stage's requested tokens per input."""
        assert self.args.max_length is not None  # set by TrainingArgs.for_stage
        return self.args.max_length


def work_dir_for(output_dir: str | Path) -> Path:
    """The checkpoint directory of a stage: ``OUTPUT.ckpt`` beside ``OUTPUT``."""
    out = Path(output_dir).expanduser().resolve()
    return out.with_name(out.name + ".ckpt")


def run_stage(
    stage: str,
    output_dir: str | Path,
    args: TrainingArgs | None,
    plan: Callable[[StageContext], StagePlan],
) -> StageResult:
    """Plan, evaluate, train, evaluate and save one stage (see the module docstring); ``args``
    fields left at None take the stage's defaults."""
    args = (args or TrainingArgs()).for_stage(stage)
    out = Path(output_dir).expanduser().resolve()
    refuse_existing(out, "model directory", args.overwrite, marker="metrics.json")
    work_dir = work_dir_for(out)
    ctx = StageContext(
        args=args, device=pick_device(args.device), output_dir=out, work_dir=work_dir
    )
    with ResourceMeter() as meter:
        p = plan(ctx)
        before = timed_evaluation(p, "before") if args.evaluate_before else {}
        trainer = make_trainer(p, ctx)
        run_training(trainer, work_dir, args.resume)
        after = timed_evaluation(p, "after")
    metrics: dict[str, Any] = {
        "stage": stage,
        **p.card,
        "loss": type(p.loss).__name__,
        "hyperparameters": {
            **args.hyperparameters(),
            "learning_rate": args.learning_rate or default_learning_rate(p.model),
            **p.hyperparameters,
            **({"prompts": p.prompts} if p.prompts else {}),
        },
        "before": before,
        "after": after,
    }
    run = {"device": ctx.device, **meter.as_dict()}
    return complete_stage(p.model, out, metrics, trainer, run, args.hub_repo_id)


def timed_evaluation(plan: StagePlan, when: str) -> dict[str, float]:
    """The plan's evaluator on its model between two lines on stderr (above any progress bar,
    as the training logs): that the evaluation ``when`` training starts, then its figures and
    duration."""
    tqdm.write(f"evaluating {when} training ...", file=sys.stderr)
    start = time.perf_counter()
    metrics = plan.evaluator(plan.model)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    took = time.perf_counter() - start
    tqdm.write(f"{when} training: {shown} (evaluated in {took:.1f} s)", file=sys.stderr)
    return metrics


class _OwnModelCard:
    """No library model card: :mod:`training.outputs` writes ours, and the library's callback
    spends time on "widget examples" behind a progress bar that ``--no-progress`` cannot hide."""

    def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
        """Add nothing (the hook sentence-transformers documents for this)."""


class _BiEncoderTrainer(_OwnModelCard, SentenceTransformerTrainer):
    """sentence-transformers' trainer without its model-card callback."""


class _CrossEncoderTrainer(_OwnModelCard, CrossEncoderTrainer):
    """sentence-transformers' cross-encoder trainer without its model-card callback."""


class _Progress(ProgressCallback):
    """transformers' progress bar without its log lines (:class:`LogsToStderr` writes them)."""

    def on_log(self, *args: Any, **kwargs: Any) -> None:
        """Leave the logs to :class:`LogsToStderr`."""


class LogsToStderr(TrainerCallback):
    """The trainer's log dicts (``{'loss': ...}``) on stderr, above any progress bar: stdout
    carries only a command's result."""

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        """Write one log dict as one line (floats to 4 significant digits)."""
        if state.is_world_process_zero and logs:
            shown = {
                k: f"{v:.4g}" if isinstance(v, float) else v
                for k, v in logs.items()
                if k != "total_flos"
            }
            tqdm.write(str(shown), file=sys.stderr)


def make_trainer(plan: StagePlan, ctx: StageContext) -> Any:
    """The sentence-transformers trainer of the plan's model type, with the run's arguments;
    its logs go to stderr (:class:`LogsToStderr`)."""
    a = ctx.args
    if isinstance(plan.model, CrossEncoder):
        args_cls: type = CrossEncoderTrainingArguments
        trainer_cls: type = _CrossEncoderTrainer
    else:
        args_cls, trainer_cls = SentenceTransformerTrainingArguments, _BiEncoderTrainer
    extra = {"eval_strategy": "no", **plan.args_kwargs}
    if plan.prompts:
        extra["prompts"] = dict(plan.prompts)
    training_args = args_cls(
        output_dir=str(ctx.work_dir),
        num_train_epochs=a.epochs,
        max_steps=a.max_steps,
        per_device_train_batch_size=a.batch_size,
        per_device_eval_batch_size=a.batch_size,
        learning_rate=a.learning_rate or default_learning_rate(plan.model),
        warmup_steps=a.warmup_steps,
        seed=a.seed,
        data_seed=a.seed,
        save_strategy="steps",
        save_steps=a.save_steps,
        save_total_limit=1,
        logging_steps=a.logging_steps,
        logging_first_step=True,
        report_to="none",
        use_cpu=ctx.device == "cpu",
        disable_tqdm=not a.show_progress,
        **precision_kwargs(ctx.device),
        **extra,
    )
    trainer = trainer_cls(
        model=plan.model,
        args=training_args,
        train_dataset=plan.train_dataset,
        loss=plan.loss,
        callbacks=list(a.callbacks),
        **({"evaluator": plan.evaluator} | plan.trainer_kwargs),
    )
    trainer.pop_callback(PrinterCallback)  # print()s to stdout
    if trainer.pop_callback(ProgressCallback) is not None:  # writes its logs to stdout
        trainer.add_callback(_Progress)
    trainer.add_callback(LogsToStderr)
    return trainer


def run_training(trainer: Any, work_dir: Path, resume: bool | None = None) -> None:
    """Train, resuming from the newest checkpoint in ``work_dir``.

    ``resume=None`` resumes automatically when a checkpoint exists, ``True`` insists on one
    (clear error otherwise), ``False`` discards old checkpoints and starts over.
    """
    checkpoint = get_last_checkpoint(str(work_dir)) if work_dir.is_dir() else None
    if resume is True and checkpoint is None:
        raise ModelError(f"--resume: no checkpoint found in {work_dir}")
    if resume is False and checkpoint is not None:
        for old in work_dir.glob("checkpoint-*"):
            shutil.rmtree(old, ignore_errors=True)
        checkpoint = None
    if checkpoint:
        step = Path(checkpoint).name.rsplit("-", 1)[-1]
        logger.warning("resuming from step %s (%s)", step, checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)


class ResourceMeter:
    """Wall time and peak resident memory (RSS, MiB) of a block of code.

    RSS is sampled in a background thread every ``interval`` seconds (the process's lifetime
    peak from ``getrusage`` would include earlier stages run in the same process).
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.wall_time_s = 0.0
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()
        self._process = psutil.Process(os.getpid())
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def _sample(self) -> None:
        rss = self._process.memory_info().rss / 2**20
        self.peak_rss_mib = max(self.peak_rss_mib, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> ResourceMeter:
        self._start = time.perf_counter()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.wall_time_s = time.perf_counter() - self._start

    def as_dict(self) -> dict[str, float]:
        """``wall_time_s`` and ``peak_rss_mib`` rounded for reports."""
        return {"wall_time_s": round(self.wall_time_s, 1), "peak_rss_mib": round(self.peak_rss_mib)}
