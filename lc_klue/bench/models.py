"""What the benchmark's models are: parameters, shape and origin, and a one-line summary."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lc_klue.bench.settings import ModelSettings
from lc_klue.runtime import model_origin

if TYPE_CHECKING:
    from lc_klue.retrieval.parts import PipelineParts


def model_info(model: Any, path: str | None) -> dict[str, Any]:
    """Path, parameter count, architecture and origin (how it was made, as far as its
    directory tells: :func:`lc_klue.runtime.model_origin`) of a SentenceTransformer or
    CrossEncoder."""
    torch_model = getattr(model, "model", None) or model
    n_params = sum(p.numel() for p in torch_model.parameters())
    cfg = None
    for candidate in (getattr(model, "config", None), getattr(torch_model, "config", None)):
        if candidate is not None and hasattr(candidate, "hidden_size"):
            cfg = candidate
            break
    if cfg is None and hasattr(model, "__getitem__"):
        try:
            cfg = model[0].auto_model.config
        except (AttributeError, IndexError, KeyError, TypeError):
            cfg = None
    info: dict[str, Any] = {"path": path, "parameters": int(n_params)}
    with contextlib.suppress(IndexError, KeyError, TypeError):
        info["module"] = type(model[0]).__name__  # e.g. Transformer, KiwiStaticEmbedding
    if path:
        info["origin"] = model_origin(path)
    if cfg is not None:
        info |= {
            "model_type": getattr(cfg, "model_type", None),
            "layers": getattr(cfg, "num_hidden_layers", None),
            "hidden": getattr(cfg, "hidden_size", None),
            "vocab": getattr(cfg, "vocab_size", None),
        }
    if not hasattr(model, "predict"):  # a bi-encoder: the size of its vectors
        with contextlib.suppress(TypeError, AttributeError, RuntimeError):
            if dims := model.get_embedding_dimension():
                info["dimensions"] = int(dims)
    max_len = getattr(model, "max_seq_length", None) or getattr(model, "max_length", None)
    if max_len:
        info["max_length"] = int(max_len)
    return info


def model_summary(m: Mapping[str, Any]) -> str:
    """One line of :func:`model_info`: size, shape (what is known of it) and origin."""
    n = int(m.get("parameters", 0))
    parts = [f"{n / 1e6:.1f} M parameters" if n >= 100_000 else f"{n:,} parameters"]
    if m.get("layers") is not None:
        parts.append(f"{m['layers']} layers, hidden {m.get('hidden')}")
    elif m.get("module"):
        parts.append(f"module {m['module']}")
    if m.get("dimensions"):
        parts.append(f"{m['dimensions']:,} dimensions")
    line = ", ".join(parts)
    return f"{line}; {m['origin']}" if m.get("origin") else line


def model_infos(parts: PipelineParts, m: ModelSettings, needed: set[str]) -> dict[str, Any]:
    """Size and architecture of every model the run uses, loaded through ``parts``."""
    info: dict[str, Any] = {}
    dense = "sts" if m.fusion_dense == "sts" else "mrc"
    for key, path in (("sts", m.sts_model), ("mrc", m.mrc_model)):
        if path and (key in needed or (key == dense and "dense" in needed)):
            info[key] = model_info(getattr(parts.embeddings(path), "client", None), path)
    if "ce" in needed and m.cross_encoder:
        info["ce"] = model_info(parts.cross_encoder(m.cross_encoder), m.cross_encoder)
    return info
