"""lc-klue's own sentence-transformers input modules on disk: a JSON configuration (the
module's settings dataclass) beside the weights in safetensors (``model.safetensors``), in the
module's folder of a model directory."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Self

import torch
from safetensors.torch import load_file, save_file
from sentence_transformers.base.modules import InputModule

WEIGHTS_FILE = "model.safetensors"


def save_weights(module: torch.nn.Module, output_path: str) -> None:
    """Write ``module``'s state (on the CPU, contiguous) as ``output_path/model.safetensors``."""
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, os.path.join(output_path, WEIGHTS_FILE))


def read_module(root: Path, config_file: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The configuration (``root/config_file``) and the weights a module saved in ``root``."""
    config = json.loads((root / config_file).read_text(encoding="utf-8"))
    return config, load_file(str(root / WEIGHTS_FILE))


class SavedModule(InputModule):
    """An input module whose settings are one dataclass, :attr:`settings`: saved flat as
    ``config_file_name`` with the weights, and rebuilt from both by :meth:`from_saved`."""

    save_in_root = True
    settings: Any
    """The module's settings (a dataclass instance)."""

    def get_config_dict(self) -> dict[str, Any]:
        """The settings as the JSON configuration."""
        return dataclasses.asdict(self.settings)

    def save(
        self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any
    ) -> None:
        """Write the configuration and the weights (safetensors)."""
        self.save_config(output_path)
        save_weights(self, output_path)

    @classmethod
    def load(  # type: ignore[override]
        cls, model_name_or_path: str, subfolder: str = "", **kwargs: Any
    ) -> Self:
        """Load a module saved by :meth:`save` (a local directory)."""
        config, state = read_module(Path(model_name_or_path) / subfolder, cls.config_file_name)
        return cls.from_saved(config, state)

    @classmethod
    def from_saved(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> Self:
        """The module of a saved configuration and state."""
        raise NotImplementedError
