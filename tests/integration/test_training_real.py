"""The training stages on the real data (short runs; the full runs are results/training.md)."""

from __future__ import annotations

import pytest

from lc_klue.data import load_mrc, load_sts
from tests.conftest import shared_file
from training.args import TrainingArgs
from training.data import mrc_splits
from training.mrc import train_mrc
from training.sts import train_sts

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sts_stage_on_klue_sts_from_scratch(shared_data, tmp_path) -> None:
    train = load_sts(shared_file(shared_data, "klue-sts/klue_sts_train.csv")).select(range(600))
    dev = load_sts(shared_file(shared_data, "klue-sts/klue_sts_val.csv"))
    result = train_sts(
        tmp_path / "sts",
        "scratch:tiny",
        args=TrainingArgs(
            train_data=train,
            test_data=dev,
            epochs=1,
            batch_size=32,
            learning_rate=1e-3,
            warmup_steps=2,
            max_length=48,
            show_progress=False,
        ),
    )
    assert set(result.metrics["after"]) == {"validation_spearman", "test_spearman"}
    assert result.metrics["after"]["test_spearman"] > result.metrics["before"]["test_spearman"]


def test_mrc_stage_on_korquad_title_split(shared_data, tmp_path, tiny_models) -> None:
    ds = load_mrc(shared_file(shared_data, "korquad-1.0/KorQuAD_v1.0_dev.json"))
    parts = mrc_splits(ds, test_size=0.3, seed=42)
    assert not set(parts["train"]["title"]) & set(parts["test"]["title"])
    small = mrc_splits(ds.select(range(400)), test_size=0.3, seed=42)
    result = train_mrc(
        tmp_path / "mrc",
        str(tiny_models.bi_encoder_dir("bert")),
        args=TrainingArgs(
            train_data=small["train"],
            test_data=small["test"],
            eval_questions=50,
            max_steps=4,
            max_length=64,
            show_progress=False,
        ),
    )
    assert 0.0 <= result.metrics["after"]["hit@10"] <= 1.0
