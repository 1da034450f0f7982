"""Files of lc-klue's own sentence-transformers modules: a JSON configuration beside the
weights in safetensors (``model.safetensors``), in the module's folder of a model directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

WEIGHTS_FILE = "model.safetensors"


def save_weights(module: torch.nn.Module, output_path: str) -> None:
    """Write ``module``'s state (on the CPU, contiguous) as ``output_path/model.safetensors``."""
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, os.path.join(output_path, WEIGHTS_FILE))


def read_module(root: Path, config_file: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The configuration (``root/config_file``) and the weights a module saved in ``root``."""
    config = json.loads((root / config_file).read_text(encoding="utf-8"))
    return config, load_file(str(root / WEIGHTS_FILE))
