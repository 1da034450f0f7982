"""The shared training arguments: checked at once, stage defaults, reported recipe."""

import pytest

from lc_klue.errors import DataError
from training.args import STAGE_DEFAULTS, TrainingArgs


def test_fields_left_at_none_take_the_stage_defaults() -> None:
    assert TrainingArgs().for_stage("sts").epochs == 4
    assert TrainingArgs().for_stage("mrc").max_length == 256
    assert TrainingArgs().for_stage("cross-encoder").max_length == 512
    mine = TrainingArgs(epochs=2, max_length=64).for_stage("sts")
    assert (mine.epochs, mine.max_length) == (2, 64)
    assert set(STAGE_DEFAULTS) == {"sts", "mrc", "cross-encoder"}


def test_hyperparameters_report_the_recipe_not_the_plumbing() -> None:
    args = TrainingArgs(max_steps=3, device="cpu", show_progress=False).for_stage("mrc")
    assert args.hyperparameters() == {
        "epochs": 1,
        "batch_size": 16,
        "learning_rate": None,
        "warmup_steps": 100,
        "max_length": 256,
        "seed": 42,
        "max_steps": 3,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be positive"),
        ("learning_rate", -1.0, "learning_rate must be positive"),
        ("batch_size", 0, "batch_size must be a positive integer"),
        ("max_length", 0, "max_length must be a positive integer"),
        ("warmup_steps", -1, "warmup_steps must be >= 0"),
        ("max_steps", 0, "max_steps must be positive or -1"),
    ],
)
def test_bad_values_are_one_clear_error(field: str, value: float, message: str) -> None:
    with pytest.raises(DataError, match=message):
        TrainingArgs(**{field: value})
