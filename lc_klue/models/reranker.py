"""The reranker model: a cross-encoder loaded within its limits, and every (query, candidate)
pair of many queries scored in one length-sorted stream (plus the book's one-``predict``-per-
query loop, kept for comparison)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sentence_transformers import CrossEncoder

from lc_klue.runtime import (
    load_error,
    pick_device,
    resolve_model_source,
    set_dtype,
    trusts_own_code,
)


def load_cross_encoder(
    name_or_path: str | Path,
    device: str | None = None,
    max_length: int | None = 512,
    dtype: str | None = None,
    backend: str | None = None,
) -> CrossEncoder:
    """Load a cross-encoder (hub id or local directory) on ``device`` (None = best available).

    ``max_length`` (tokens per pair) is capped at what the model's position embeddings allow.
    ``dtype`` float16/bfloat16 applies on an accelerator; ``backend`` ``onnx``/``int8`` runs
    the transformer in ONNX Runtime on the CPU (:mod:`lc_klue.models.onnx_backend`).
    """
    from lc_klue.models.onnx_backend import check_backend, use_backend

    source = resolve_model_source(name_or_path, "cross-encoder")
    dev = pick_device(device)
    check_backend(backend, dev)
    try:
        model = CrossEncoder(source, device=dev, trust_remote_code=trusts_own_code(source))
    except (OSError, ValueError) as e:
        raise load_error("cross-encoder", name_or_path, e) from e
    limit = position_limit(model)
    wanted = max_length or model.max_seq_length or limit
    if wanted is not None:
        model.max_seq_length = min(wanted, limit) if limit else wanted
    set_dtype(model, dtype, dev)
    return use_backend(model, backend, dev)


def token_counter(model: Any) -> Callable[[list[str]], list[int]] | None:
    """Tokens of each text under ``model``'s tokenizer (no special tokens), or None when the
    model has no Hugging Face tokenizer (a Kiwi model: its tokens are Kiwi morphemes)."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not callable(tokenizer):
        return None

    def count(texts: list[str]) -> list[int]:
        ids = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(i) for i in ids]

    return count


def position_limit(model: Any) -> int | None:
    """Most tokens a sentence-transformers model (bi- or cross-encoder) can take: its position
    embeddings (:func:`config_position_limit`); None when it does not say."""
    config = None
    try:
        config = model[0].auto_model.config
    except (AttributeError, IndexError, KeyError, TypeError):
        config = getattr(model, "config", None)
    return config_position_limit(config)


def config_position_limit(config: Any) -> int | None:
    """Tokens a transformers configuration's position embeddings allow (RoBERTa-style models
    reserve two for padding); None when it has none."""
    n = getattr(config, "max_position_embeddings", None)
    if not isinstance(n, int):
        return None
    roberta = getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert")
    return n - 2 if roberta else n


def _predict(
    model: CrossEncoder, pairs: list[tuple[str, str]], batch_size: int, show_progress: bool
) -> np.ndarray:
    scores = model.predict(
        pairs, batch_size=batch_size, show_progress_bar=show_progress, convert_to_numpy=True
    )
    return np.asarray(scores, dtype=np.float32).reshape(-1)


def _check(queries: Sequence[str], candidates: Sequence[Sequence[str]]) -> None:
    if isinstance(queries, str):
        raise TypeError("queries must be a list of strings, not one string")
    if len(queries) != len(candidates):
        raise ValueError(
            f"{len(queries)} queries but {len(candidates)} candidate lists; they must match"
        )


def score_pairs_batched(
    model: CrossEncoder,
    queries: Sequence[str],
    candidates: Sequence[Sequence[str]],
    batch_size: int = 64,
    show_progress: bool = False,
) -> list[np.ndarray]:
    """Scores of ``candidates[i]`` for ``queries[i]``, all pairs scored together.

    The pairs of every query are pooled and sorted by length (longest first) so each batch
    pads little, then run through one ``predict`` stream. Returns one float32 array per query,
    in the candidates' order.
    """
    _check(queries, candidates)
    pairs = [(q, c) for q, cands in zip(queries, candidates, strict=True) for c in cands]
    sizes = [len(c) for c in candidates]
    if not pairs:
        return [np.zeros(0, dtype=np.float32) for _ in sizes]
    order = np.argsort([-(len(q) + len(c)) for q, c in pairs], kind="stable")
    scores = np.empty(len(pairs), dtype=np.float32)
    scores[order] = _predict(model, [pairs[i] for i in order], batch_size, show_progress)
    bounds = np.cumsum([0, *sizes])
    return [scores[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]


def score_pairs_per_query(
    model: CrossEncoder,
    queries: Sequence[str],
    candidates: Sequence[Sequence[str]],
    batch_size: int = 64,
) -> list[np.ndarray]:
    """Reference implementation, the book's loop: one ``predict`` call per query."""
    _check(queries, candidates)
    return [
        _predict(model, [(q, c) for c in cands], batch_size, False)
        if cands
        else np.zeros(0, dtype=np.float32)
        for q, cands in zip(queries, candidates, strict=True)
    ]
