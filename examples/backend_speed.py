"""Backends on one model's forward pass: torch fp32, torch.ao dynamic int8, ONNX Runtime fp32
and int8 (this package's ``onnx`` / ``int8``), interleaved, best of 4 rounds, one process.

Prints per backend: seconds, speed-up over torch, largest score difference. The README's runs:

    python examples/backend_speed.py models/timing-mini 256 192   # 192 KorQuAD pairs
    python examples/backend_speed.py roberta-small 128 64          # random ids, roberta-small

KorQuAD is read from ``$LC_KLUE_KORQUAD`` (default ``../shared/data/korquad-1.0/...``).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch


def main() -> None:
    """Command line: ``MODEL_DIR|roberta-small MAX_LENGTH PAIRS``."""
    import onnxruntime as ort
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification, RobertaConfig

    from lc_klue.data import load_mrc
    from lc_klue.models.onnx_backend import onnx_file

    model_name, length, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(2)
    if model_name == "roberta-small":
        config = RobertaConfig(
            vocab_size=32000,
            hidden_size=768,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=514,
            num_labels=1,
            type_vocab_size=1,
        )
        model = AutoModelForSequenceClassification.from_config(config).eval()
        rng = np.random.default_rng(0)
        enc = {
            "input_ids": rng.integers(5, 32000, (n, length)).astype(np.int64),
            "attention_mask": np.ones((n, length), np.int64),
        }
        names = ["input_ids", "attention_mask"]
    else:
        default = "../shared/data/korquad-1.0/KorQuAD_v1.0_dev.json"
        data = load_mrc(os.environ.get("LC_KLUE_KORQUAD", default))
        contexts, questions = sorted(set(data["context"]))[:n], list(data["question"])[:n]
        ce = CrossEncoder(model_name, device="cpu")
        model = ce.model.eval()
        tokens = ce.tokenizer(
            questions,
            contexts,
            padding=True,
            truncation=True,
            max_length=length,
            return_tensors="np",
        )
        enc = {k: v.astype(np.int64) for k, v in tokens.items()}
        names = ["input_ids", "attention_mask", "token_type_ids"]
    batch = 32

    def run_torch(m: torch.nn.Module) -> np.ndarray:
        with torch.inference_mode():
            out = [
                m(**{k: torch.from_numpy(enc[k][i : i + batch]) for k in names}).logits
                for i in range(0, n, batch)
            ]
        return torch.cat(out).numpy().ravel()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao is deprecated: measured for comparison only
        from torch.ao.quantization import quantize_dynamic

        quantised = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    runs: dict[str, Callable[[], np.ndarray]] = {
        "torch": lambda: run_torch(model),
        "torch.ao-int8": lambda: run_torch(quantised),
    }
    for backend in ("onnx", "int8"):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = onnx_file(model, names, "logits", backend)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def run_ort(s: ort.InferenceSession = session) -> np.ndarray:
            out = [
                s.run(None, {k: enc[k][i : i + batch] for k in names})[0]
                for i in range(0, n, batch)
            ]
            return np.concatenate(out).ravel()

        runs[f"ort-{backend}"] = run_ort
    reference = runs["torch"]()
    best = dict.fromkeys(runs, float("inf"))
    outputs: dict[str, np.ndarray] = {}
    for _ in range(4):
        for name, run in runs.items():
            start = time.perf_counter()
            outputs[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
    for name in runs:
        diff = float(np.abs(outputs[name] - reference).max())
        print(f"{name} {best[name]:.3f} s x{best['torch'] / best[name]:.2f} maxdiff {diff:.1e}")


if __name__ == "__main__":
    main()
