"""Stage 1 on tiny from-scratch models and the bundled STS pairs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from datasets import Dataset
from sentence_transformers import SentenceTransformer

from lc_klue.errors import DataError, ModelError
from tests.unit.training.callbacks import early_late
from training.args import StsSettings, TrainingArgs
from training.outputs import StageResult
from training.sts import train_sts

FAST = TrainingArgs(
    epochs=6,
    batch_size=16,
    learning_rate=1e-3,
    warmup_steps=5,
    max_length=48,
    logging_steps=1,
    show_progress=False,
)

pytestmark = pytest.mark.slow


def run(
    tmp: Path, base: Path | str, data: Dataset | str, loss: str = "cosine", **kw
) -> StageResult:
    return train_sts(
        tmp / "sts",
        str(base),
        StsSettings(loss=loss),
        replace(FAST, train_data=data, test_data=data, **kw),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models, sts_pairs) -> StageResult:
    return run(tmp_path_factory.mktemp("sts"), tiny_models.base("bert"), sts_pairs)


def test_training_lowers_the_loss_and_beats_the_untrained_model(trained: StageResult) -> None:
    first, last = early_late(trained.loss_history)
    assert last < 0.5 * first
    before, after = trained.metrics["before"], trained.metrics["after"]
    assert after["test_spearman"] > before["test_spearman"] + 0.2
    assert set(after) == {"validation_spearman", "test_spearman"}


def test_output_is_a_complete_model_directory(trained: StageResult) -> None:
    out = trained.model_dir
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loss"] == "CosineSimilarityLoss" and metrics["stage"] == "sts"
    assert metrics["wall_time_s"] > 0 and metrics["peak_rss_mib"] > 0
    assert metrics["hyperparameters"]["max_length"] == 48 and metrics["pooling"] == "mean"
    assert "CosineSimilarityLoss" in (out / "README.md").read_text()
    assert not out.with_name("sts.ckpt").exists()
    assert [p.name for p in out.parent.iterdir()] == ["sts"]
    model = SentenceTransformer(str(out), device="cpu")
    assert model.encode(["안녕하세요"]).shape == (1, 32)


def test_scratch_base_model_builds_offline(tmp_path, sts_pairs) -> None:
    result = train_sts(
        tmp_path / "scratch",
        "scratch:tiny:roberta",
        StsSettings(pooling="cls"),
        replace(FAST, train_data=sts_pairs, max_steps=2),
    )
    assert (result.model_dir / "tokenizer.json").exists()
    assert result.metrics["hyperparameters"]["steps"] == 2


def test_bad_arguments_give_clear_errors(tmp_path, tiny_models, sts_pairs) -> None:
    base = tiny_models.base("bert")
    with pytest.raises(DataError, match=r"missing.csv"):
        run(tmp_path, base, str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match=r"missing column.*score"):
        run(tmp_path, base, sts_pairs.rename_column("score", "label"))
    with pytest.raises(ModelError, match="model not found"):
        run(tmp_path, tmp_path / "no-such-model", sts_pairs)
    with pytest.raises(DataError, match="unknown STS loss"):
        run(tmp_path, base, sts_pairs, loss="triplet")
    assert not any(tmp_path.iterdir())
