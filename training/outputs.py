"""What a training stage leaves behind: the model directory with ``metrics.json`` and a model
card, written atomically, and the optional upload to the Hugging Face hub."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lc_klue.errors import ModelError
from lc_klue.runtime import METRICS_FILE, model_origin
from lc_klue.storage import atomic_directory, atomic_write_text

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
        f"- Starts from: {model_origin(str(metrics.get('base_model')))}",
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


def loss_history(trainer: Any) -> list[float]:
    """The training losses the trainer logged, in order."""
    return [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]


def complete_stage(
    model: Any,
    output_dir: Path,
    metrics: dict[str, Any],
    trainer: Any,
    run: Mapping[str, Any],
    hub_repo_id: str | None = None,
) -> StageResult:
    """Add the run's figures (steps, first/last loss, then ``run``: device, time and memory)
    to ``metrics`` (which name the ``stage``), save the model atomically, drop the trainer's
    checkpoints and upload when ``hub_repo_id`` is given. Under ``torchrun``/``accelerate
    launch`` only the main process saves and uploads; the others wait for it (two ranks
    replacing one directory at once left it without its weights)."""
    losses = loss_history(trainer)
    metrics = dict(metrics)
    metrics["hyperparameters"] = {
        **metrics.get("hyperparameters", {}),
        "steps": trainer.state.global_step,
    }
    metrics |= {
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        **run,
    }
    model_dir, pushed = Path(output_dir).expanduser().resolve(), None
    if trainer.is_world_process_zero():
        model_dir = finalize(model, output_dir, metrics, Path(trainer.args.output_dir))
        pushed = push_to_hub(model_dir, hub_repo_id) if hub_repo_id else None
    trainer.accelerator.wait_for_everyone()
    return StageResult(metrics["stage"], model_dir, metrics, losses, pushed)


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
