"""Helpers of the training tests: a callback that kills a run, one that records steps."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class StopAfterSteps(TrainerCallback):
    """Raise ``KeyboardInterrupt`` once ``steps`` optimiser steps are done (a killed run)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step >= self.steps:
            raise KeyboardInterrupt(f"stopped after {self.steps} steps")
        return control


class RecordSteps(TrainerCallback):
    """Remember the global step after every optimiser step."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.steps.append(state.global_step)
        return control


def early_late(losses: list[float], n: int = 3) -> tuple[float, float]:
    """Mean of the first and of the last ``n`` logged losses."""
    assert len(losses) >= 2 * n, losses
    return sum(losses[:n]) / n, sum(losses[-n:]) / n
