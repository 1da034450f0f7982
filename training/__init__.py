"""Training the three models of the method: STS bi-encoder, MRC fine-tuning, cross-encoder.

The stage modules are imported lazily (``from training.sts import train_sts``) so that
``import training`` stays light; the names below are re-exported on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from training.scratch import (
    SIZES,
    base_texts,
    build_scratch_base,
    parse_scratch_spec,
    train_tokenizer,
)

_LAZY = {
    "StageResult": "training.outputs",
    "push_to_hub": "training.outputs",
    "train_sts": "training.sts",
    "train_mrc": "training.mrc",
    "train_cross_encoder": "training.cross_encoder",
}

__all__ = [
    "SIZES",
    "StageResult",
    "base_texts",
    "build_scratch_base",
    "parse_scratch_spec",
    "push_to_hub",
    "train_cross_encoder",
    "train_mrc",
    "train_sts",
    "train_tokenizer",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")
