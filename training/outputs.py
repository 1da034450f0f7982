"""Plumbing shared by the three training stages.

Device and precision choice, trainer arguments, checkpoint resume (checkpoints live in a work
directory beside the output, ``OUTPUT.ckpt/``), wall-time and peak-memory measurement, and the
atomic finalisation that writes a model directory with ``metrics.json`` and a model card, plus
the optional upload to the Hugging Face hub.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from datasets import Dataset
from transformers import set_seed
from transformers.trainer_utils import get_last_checkpoint

from lc_klue.errors import DataError, ModelError
from lc_klue.runtime import precision_kwargs
from lc_klue.storage import atomic_directory, atomic_write_text

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"


@dataclass
class StageResult:
    """What a training stage produced: the model directory and its metrics."""

    stage: str
    model_dir: Path
    metrics: dict[str, Any]
    loss_history: list[float] = field(default_factory=list)
    pushed_to: str | None = None

    @property
    def metrics_path(self) -> Path:
        """The ``metrics.json`` inside the model directory."""
        return self.model_dir / METRICS_FILE


# --------------------------------------------------------------------------- data


def as_dataset(
    source: str | Path | Dataset,
    loader: Callable[..., Dataset],
    split: str,
    columns: Sequence[str],
    what: str,
) -> Dataset:
    """``source`` as a Dataset: a Dataset is checked for ``columns``; anything else is loaded."""
    ds = source if isinstance(source, Dataset) else loader(source, split)
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {', '.join(missing)}; found {', '.join(ds.column_names)}"
        )
    if len(ds) == 0:
        raise DataError(f"{what}: no rows")
    return ds


def describe_source(source: object) -> str:
    """How a data argument is named in reports: its path/hub name, or an in-memory Dataset."""
    return "in-memory Dataset" if isinstance(source, Dataset) else str(source)


# --------------------------------------------------------------------------- training arguments


def work_dir_for(output_dir: str | Path) -> Path:
    """The checkpoint directory of a stage: ``OUTPUT.ckpt`` beside ``OUTPUT``."""
    out = Path(output_dir).expanduser().resolve()
    return out.with_name(out.name + ".ckpt")


def training_arguments(
    args_cls: type,
    work_dir: Path,
    *,
    device: str,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    warmup_steps: int,
    seed: int,
    max_steps: int = -1,
    save_steps: int = 500,
    logging_steps: int | None = None,
    eval_strategy: str = "no",
    eval_steps: int | None = None,
    show_progress: bool = True,
    **extra: Any,
) -> Any:
    """Trainer arguments shared by the stages (sentence-transformers or cross-encoder class)."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value <= 0:
            raise DataError(f"{name} must be positive, got {value}")
    if learning_rate <= 0:
        raise DataError(f"learning_rate must be positive, got {learning_rate}")
    return args_cls(
        output_dir=str(work_dir),
        num_train_epochs=epochs,
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        seed=seed,
        data_seed=seed,
        eval_strategy=eval_strategy,
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=1,
        logging_steps=logging_steps or 50,
        logging_first_step=True,
        report_to="none",
        use_cpu=device == "cpu",
        disable_tqdm=not show_progress,
        **precision_kwargs(device),
        **extra,
    )


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (model heads are initialised after this)."""
    set_seed(seed)


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
        logger.info("resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)


def loss_history(trainer: Any) -> list[float]:
    """The training losses the trainer logged, in order."""
    return [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]


# --------------------------------------------------------------------------- measurement


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


# --------------------------------------------------------------------------- finalisation


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def model_card(metrics: Mapping[str, Any]) -> str:
    """A readable model card: stage, base model, data, loss, hyper-parameters, before/after."""
    lines = [
        "---",
        "library_name: sentence-transformers",
        "language: ko",
        f"tags: [lc-klue, {metrics['stage']}]",
        "---",
        "",
        f"# lc-klue {metrics['stage']} model",
        "",
        str(metrics.get("description", "")),
        "",
        f"- Base model: `{metrics.get('base_model')}`",
        f"- Loss: `{metrics.get('loss')}`",
    ]
    for key, value in metrics.get("data", {}).items():
        lines.append(f"- Data, {key}: {value}")
    params = metrics.get("hyperparameters", {})
    if params:
        lines.append("- Hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    lines += [
        "",
        "## Metrics (before → after training)",
        "",
        "| metric | before | after |",
        "|---|---|---|",
    ]
    before, after = metrics.get("before", {}), metrics.get("after", {})
    for key in after:
        lines.append(f"| {key} | {_fmt(before.get(key, '–'))} | {_fmt(after[key])} |")
    extra = {
        k: metrics[k]
        for k in ("train_loss_first", "train_loss_last", "wall_time_s", "peak_rss_mib", "device")
        if k in metrics
    }
    if extra:
        lines += ["", "## Training run", ""] + [f"- {k}: {_fmt(v)}" for k, v in extra.items()]
    lines += ["", "Trained with `lc-klue train`; full figures in `metrics.json`.", ""]
    return "\n".join(lines)


def finalize(
    model: Any,
    output_dir: str | Path,
    metrics: dict[str, Any],
    work_dir: Path | None = None,
) -> Path:
    """Save ``model`` with ``metrics.json`` and a model card, atomically; then drop checkpoints."""
    out = Path(output_dir).expanduser().resolve()
    with atomic_directory(out) as tmp:
        model.save_pretrained(str(tmp), create_model_card=False)
        atomic_write_text(tmp / METRICS_FILE, json.dumps(metrics, ensure_ascii=False, indent=2))
        atomic_write_text(tmp / CARD_FILE, model_card(metrics))
    if work_dir is not None and work_dir.exists():
        shutil.rmtree(work_dir, ignore_errors=True)
    return out


def complete_stage(
    stage: str,
    model: Any,
    output_dir: Path,
    metrics: dict[str, Any],
    *,
    trainer: Any,
    meter: ResourceMeter,
    device: str,
    work_dir: Path,
    hub_repo_id: str | None = None,
) -> StageResult:
    """Add the run's figures (steps, first/last loss, device, time, memory) to ``metrics``, save
    the model atomically, drop the checkpoints and upload when ``hub_repo_id`` is given."""
    losses = loss_history(trainer)
    metrics = {"stage": stage, **metrics}
    metrics["hyperparameters"] = {
        **metrics.get("hyperparameters", {}),
        "steps": trainer.state.global_step,
    }
    metrics |= {
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "device": device,
        **meter.as_dict(),
    }
    model_dir = finalize(model, output_dir, metrics, work_dir)
    pushed = push_to_hub(model_dir, hub_repo_id) if hub_repo_id else None
    return StageResult(stage, model_dir, metrics, losses, pushed)


def push_to_hub(
    model_dir: str | Path, repo_id: str, *, token: str | None = None, private: bool = False
) -> str:
    """Upload a finished model directory to the hub; a clear :class:`ModelError` otherwise."""
    from huggingface_hub import HfApi, constants, get_token

    token = token or get_token()
    if not token:
        raise ModelError(
            f"cannot push to {repo_id!r}: no Hugging Face token "
            "(run `hf auth login` or set HF_TOKEN)"
        )
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ModelError(f"cannot push to {repo_id!r}: HF_HUB_OFFLINE is set")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(folder_path=str(model_dir), repo_id=repo_id)
    except Exception as e:  # network, auth and permission errors all mean "not uploaded"
        raise ModelError(f"cannot push {model_dir} to {repo_id!r}: {type(e).__name__}: {e}") from e
    return f"https://huggingface.co/{repo_id}"
