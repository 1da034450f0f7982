"""The one stage flow: resume, repeatability, refusing to replace a finished model, metering."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lc_klue.errors import DataError, ModelError
from tests.unit.training.callbacks import RecordSteps, StopAfterSteps
from training.args import StsSettings, TrainingArgs
from training.runner import ResourceMeter, run_training, work_dir_for
from training.sts import train_sts

ARGS = TrainingArgs(
    epochs=2,
    batch_size=16,
    learning_rate=1e-3,
    warmup_steps=5,
    max_length=48,
    logging_steps=1,
    save_steps=4,
    show_progress=False,
)

pytestmark = pytest.mark.slow


def _train(out: Path, base: Path, data, **kw):
    return train_sts(
        out, str(base), StsSettings(loss="cosent"), replace(ARGS, train_data=data, **kw)
    )


def test_work_dir_sits_beside_the_output(tmp_path: Path) -> None:
    assert work_dir_for(tmp_path / "model") == (tmp_path / "model.ckpt").resolve()


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, tiny_models, sts_pairs, caplog):
    base = tiny_models.base("bert")
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "sts", base, sts_pairs, callbacks=[StopAfterSteps(6)])
    assert not (tmp_path / "sts").exists()
    assert [p.name for p in (tmp_path / "sts.ckpt").glob("checkpoint-*")] == ["checkpoint-4"]
    steps = RecordSteps()
    with caplog.at_level("WARNING", logger="training.runner"):
        result = _train(tmp_path / "sts", base, sts_pairs, callbacks=[steps])
    assert any("resuming from step 4" in r.getMessage() for r in caplog.records)
    assert steps.steps[0] == 5 and steps.steps[-1] == result.metrics["hyperparameters"]["steps"]
    assert result.metrics["loss"] == "CoSENTLoss"
    assert not (tmp_path / "sts.ckpt").exists()


def test_same_seed_same_model(tmp_path, tiny_models, sts_pairs) -> None:
    base = tiny_models.base("bert")
    a = _train(tmp_path / "a", base, sts_pairs, max_steps=6)
    b = _train(tmp_path / "b", base, sts_pairs, max_steps=6)
    assert a.loss_history == pytest.approx(b.loss_history, rel=1e-4)
    assert a.metrics["after"] == pytest.approx(b.metrics["after"], rel=1e-4)


@pytest.mark.parametrize("show_progress", [True, False])
def test_logs_go_to_stderr_and_saved_files_follow_the_umask(
    tmp_path, tiny_models, sts_pairs, capfd, show_progress
):
    base = tiny_models.base("bert")
    capfd.readouterr()
    result = _train(tmp_path / "sts", base, sts_pairs, max_steps=2, show_progress=show_progress)
    out, err = capfd.readouterr()
    assert out == ""  # the CLI prints its JSON result there
    assert err.count("{'loss': ") == 2  # logging_steps=1
    assert "Computing widget examples" not in err  # the library's model card is not built
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in result.model_dir.rglob("*") if p.is_file()}
    assert "model.safetensors" in modes  # written 0600 by the library
    assert set(modes.values()) == {0o666 & ~mask}, modes


def test_a_finished_model_is_not_replaced_without_overwrite(tmp_path, tiny_models, sts_pairs):
    base = tiny_models.base("bert")
    first = _train(tmp_path / "sts", base, sts_pairs, max_steps=2)
    stamp = (first.model_dir / "metrics.json").read_text()
    with pytest.raises(
        DataError, match=r"already exists \(a finished model directory\).*--overwrite"
    ):
        _train(tmp_path / "sts", base, sts_pairs, max_steps=2)
    assert (first.model_dir / "metrics.json").read_text() == stamp
    again = _train(tmp_path / "sts", base, sts_pairs, max_steps=3, overwrite=True)
    assert again.metrics["hyperparameters"]["steps"] == 3


def test_resume_without_checkpoint_is_a_clear_error(tmp_path) -> None:
    class Trainer:
        def train(self, resume_from_checkpoint=None) -> None:  # pragma: no cover - not reached
            raise AssertionError("should not train")

    with pytest.raises(ModelError, match="no checkpoint found"):
        run_training(Trainer(), tmp_path / "out.ckpt", resume=True)


def test_resource_meter_sees_an_allocation() -> None:
    with ResourceMeter(interval=0.01) as base:
        pass
    with ResourceMeter(interval=0.01) as meter:
        block = np.ones(200 * 2**20 // 8)  # 200 MiB
        block.sum()
        del block
    assert meter.wall_time_s > 0
    assert meter.peak_rss_mib >= base.peak_rss_mib + 150
    assert set(meter.as_dict()) == {"wall_time_s", "peak_rss_mib"}
