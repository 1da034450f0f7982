"""Inference backends of the transformers inside a bi-encoder or cross-encoder.

``torch`` runs the model as it is (any device; fp16/bf16 on an accelerator through
:func:`lc_klue.runtime.set_dtype`). On the CPU the transformer can instead run in ONNX Runtime:
``onnx`` (float32, the same scores to about 10⁻⁶) or ``int8`` (dynamic int8 quantisation of
every matrix multiplication, ``onnxruntime.quantization.quantize_dynamic``). The model is
exported once with ``torch.onnx.export`` (the ``torch.export`` exporter, dynamic batch and
length), the files cached under ``~/.cache/lc-klue/onnx/<hash of weights and config>``; the
sentence-transformers object keeps its API (``predict``, ``encode``, tokenizer, pooling), only
its transformer's forward pass runs in ONNX Runtime.

Chosen on measurements (``examples/backend_speed.py``, README "Speed"):
``torch.ao.quantization`` also runs here but is deprecated in this torch and was slower than
ONNX Runtime's int8 kernels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutput, SequenceClassifierOutput

from lc_klue.errors import ModelError
from lc_klue.storage import home_dir

#: The backends :func:`use_backend` knows.
BACKENDS = ("torch", "onnx", "int8")
#: The opset of the exported graphs.
OPSET = 18


def onnx_runtime_installed() -> bool:
    """Whether ONNX Runtime, which the ``onnx`` and ``int8`` backends run on, is installed
    (``pip install 'lc-klue[onnx]'``)."""
    return importlib.util.find_spec("onnxruntime") is not None


def check_backend(backend: str | None, device: str | None = None) -> str:
    """``backend`` (None = ``torch``) checked against :data:`BACKENDS` and the device: the
    ONNX backends run on the CPU only."""
    name = backend or "torch"
    if name not in BACKENDS:
        raise ModelError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    if name != "torch" and device and not str(device).startswith("cpu"):
        raise ModelError(
            f"backend {name!r} runs on the CPU only (device {device!r}); on an accelerator use "
            "backend 'torch' with dtype float16 or bfloat16"
        )
    return name


def _transformer(model: Any) -> tuple[nn.Module, str]:
    """The module inside ``model`` that holds its transformers model, and that attribute's
    name: sentence-transformers' ``Transformer`` (``model``) or a Kiwi encoder
    (``auto_model``)."""
    try:
        first = model[0]
    except (TypeError, IndexError, KeyError):
        first = None
    children = getattr(first, "_modules", {}) or {}
    for attr in ("model", "auto_model"):
        inner = children.get(attr)
        if isinstance(inner, nn.Module) and hasattr(inner, "config"):
            return first, attr
    what = type(first).__name__ if first is not None else type(model).__name__
    raise ModelError(
        f"{what} has no transformers model to export; the onnx and int8 backends need one "
        "(use backend 'torch')"
    )


def exportable(model: Any) -> bool:
    """Whether the onnx and int8 backends can run ``model`` (it holds a transformers model;
    Kiwi's static and interaction modules do not)."""
    try:
        _transformer(model)
    except ModelError:
        return False
    return True


def use_backend(model: Any, backend: str | None, device: str | None = None) -> Any:
    """Run ``model``'s transformer (a ``SentenceTransformer`` or ``CrossEncoder``) on
    ``backend``; returns the same object. ``torch`` leaves it unchanged."""
    name = check_backend(backend, device or str(getattr(model, "device", "cpu")))
    if name == "torch":
        return model
    module, attr = _transformer(model)
    current = getattr(module, attr)
    if isinstance(current, OnnxRunner):
        if current.backend == name:
            return model
        raise ModelError(f"model already runs on backend {current.backend!r}")
    if not onnx_runtime_installed():
        raise ModelError("the onnx and int8 backends need onnxruntime: pip install onnxruntime")
    setattr(module, attr, OnnxRunner(current, name))
    return model


def _fingerprint(hf: Any) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(json.dumps(hf.config.to_dict(), sort_keys=True, default=str).encode())
    h.update(f"{torch.__version__}|{OPSET}|{type(hf).__name__}".encode())
    for key, tensor in hf.state_dict().items():
        h.update(key.encode())
        h.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


class _Positional(nn.Module):
    """The model's forward with positional inputs in a fixed order, returning one tensor."""

    def __init__(self, hf: nn.Module, names: list[str], output: str) -> None:
        super().__init__()
        self.hf, self.names, self.output = hf, names, output

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.hf(**dict(zip(self.names, inputs, strict=True)), return_dict=True)
        return out[self.output]


def _sample_inputs(hf: nn.Module, names: list[str]) -> tuple[torch.Tensor, ...]:
    """Two padded rows: the exported graph must not take padding for absent."""
    vocab = int(getattr(hf.config, "vocab_size", 100))
    seed = torch.Generator().manual_seed(0)
    ids = torch.randint(min(5, vocab - 1), vocab, (2, 16), generator=seed)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 9:] = 0
    values = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return tuple(values[n] for n in names)


def _export(hf: nn.Module, names: list[str], output: str, path: Path) -> None:
    wrapped = _Positional(hf, names, output).eval()
    dim = torch.export.Dim.DYNAMIC
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    chatty = [logging.getLogger(n) for n in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [c.level for c in chatty]
    for c in chatty:  # the exporter's INFO lines about its own passes
        c.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes about torch internals
            torch.onnx.export(
                wrapped,
                _sample_inputs(hf, names),
                str(tmp),
                input_names=names,
                output_names=[output],
                dynamic_shapes=(tuple({0: dim, 1: dim} for _ in names),),
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    finally:
        for c, level in zip(chatty, levels, strict=True):
            c.setLevel(level)
    os.replace(tmp, path)


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dst.with_suffix(f".tmp{os.getpid()}")
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # "consider pre-processing" is printed at every call
    try:
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    finally:
        logging.disable(previous)
    os.replace(tmp, dst)


def onnx_file(hf: nn.Module, names: list[str], output: str, backend: str) -> Path:
    """The cached ONNX file of ``hf`` for ``backend`` (exported and quantised on first use)."""
    folder = home_dir("onnx", _fingerprint(hf))
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / f"{output}.onnx"
    if not fp32.is_file():
        _export(hf, names, output, fp32)
    if backend == "onnx":
        return fp32
    int8 = folder / f"{output}.int8.onnx"
    if not int8.is_file():
        _quantize(fp32, int8)
    return int8


class OnnxRunner(nn.Module):
    """Stands in for a transformers model: the same ``config``, a forward pass that runs the
    exported graph in ONNX Runtime and returns its ``logits`` or ``last_hidden_state``."""

    def __init__(self, hf: Any, backend: str) -> None:
        super().__init__()
        import inspect

        import onnxruntime as ort

        self.config = hf.config
        self.backend = backend
        accepted = set(inspect.signature(hf.forward).parameters)
        inputs: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
        names = [n for n in inputs if n in accepted]
        probe = _sample_inputs(hf, names)
        with torch.no_grad():
            out = hf(**dict(zip(names, probe, strict=True)), return_dict=True)
        self.output = "logits" if "logits" in out else "last_hidden_state"
        self.names = names
        self.path = onnx_file(hf, names, self.output, backend)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self.register_buffer("_device_marker", torch.zeros(0), persistent=False)

    def forward(self, **features: Any) -> Any:
        """Run the graph on the features it takes (missing ``token_type_ids`` = zeros)."""
        ids = features["input_ids"]
        feed: dict[str, np.ndarray] = {}
        for name in self.names:
            value = features.get(name)
            if value is None:
                value = torch.zeros_like(ids) if name == "token_type_ids" else torch.ones_like(ids)
            feed[name] = value.detach().to("cpu", torch.int64).numpy()
        (result,) = self.session.run([self.output], feed)
        tensor = torch.from_numpy(result)
        if self.output == "logits":
            return SequenceClassifierOutput(logits=tensor)
        return BaseModelOutput(last_hidden_state=tensor)
