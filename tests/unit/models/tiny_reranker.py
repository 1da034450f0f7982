"""A tiny cross-encoder whose scores are well separated instead of clustering at 0.5."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import CrossEncoder

from lc_klue.models import load_cross_encoder


def spread_cross_encoder(model_dir: str | Path, seed: int = 0) -> CrossEncoder:
    """Load the tiny untrained cross-encoder, redraw its output layer large and score with
    raw logits.

    A fresh classifier head outputs sigmoid scores within about 1e-6 of each other, so float
    noise could decide rankings; the redrawn head separates candidates by whole units.
    """
    model = load_cross_encoder(model_dir, device="cpu")
    head = model.model.classifier
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 1e4)
    model.activation_fn = torch.nn.Identity()
    return model


def input_sensitive_cross_encoder(model_dir: str | Path, seed: int = 0) -> CrossEncoder:
    """The tiny cross-encoder with every linear layer redrawn at std 0.2 (raw logits).

    An untrained model at its init scale (0.02) scores every pair within 1e-5 of the others,
    so any rounding (int8) reorders them; at 0.2 the scores depend on the text (std about
    0.07), as a trained model's do, and agreement between backends means something.
    """
    model = load_cross_encoder(model_dir, device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * 0.2)
    model.activation_fn = torch.nn.Identity()
    return model
