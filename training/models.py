"""Turning a base language model (hub id, local directory or ``scratch:SIZE``) into the
method's two model types: a pooled bi-encoder and a one-label cross-encoder."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sentence_transformers import CrossEncoder, SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.cross_encoder.modules import Dense
from sentence_transformers.sentence_transformer.modules import Pooling

from lc_klue.errors import ModelError
from lc_klue.models.reranker import position_limit
from lc_klue.runtime import (
    SCRATCH_KEY,
    load_error,
    module_types,
    resolve_model_source,
    trusts_own_code,
)
from training.kiwi import STATIC_MODULE, build_kiwi_static, is_kiwi_static
from training.scratch import SCRATCH_POSITIONS, build_scratch_base, parse_scratch_spec

logger = logging.getLogger(__name__)

POOLING_MODES = ("mean", "cls", "max")
ST_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
ST_POOLING = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"


def resolve_base_model(
    name_or_path: str | Path,
    *,
    texts: Callable[[], Iterable[str]] | None = None,
    scratch_dir: str | Path | None = None,
    max_length: int = SCRATCH_POSITIONS,
    seed: int = 42,
) -> str:
    """Return something ``from_pretrained`` accepts for ``name_or_path``.

    ``scratch:SIZE[:ARCH]`` builds a base model in ``scratch_dir`` with a tokenizer trained on
    ``texts()`` (reused when the directory already holds one) and ``max_length`` positions;
    ``kiwi:static`` builds a Kiwi-morpheme model there (:mod:`training.kiwi`).
    A string that looks like a path must exist; anything else is a hub id
    (:func:`lc_klue.runtime.resolve_model_source`).
    """
    spec = parse_scratch_spec(str(name_or_path))
    kiwi = is_kiwi_static(name_or_path)
    if spec is not None or kiwi:
        if texts is None or scratch_dir is None:
            raise ModelError(f"{name_or_path}: building a base model needs texts")
        out = Path(scratch_dir)
        if kiwi and not (out / "modules.json").exists():
            build_kiwi_static(texts(), out)
        elif spec is not None and not (out / "config.json").exists():
            build_scratch_base(texts(), out, spec[0], spec[1], max_length=max_length, seed=seed)
        return str(out)
    source = resolve_model_source(name_or_path)
    path = Path(source)
    if (
        path.is_dir()
        and not (path / "config.json").exists()
        and not (path / "modules.json").exists()
    ):
        raise ModelError(f"{path}: not a model directory (no config.json or modules.json)")
    return source


def model_prompt(model: Any, role: str) -> str:
    """``model``'s own prompt for ``role`` (``query`` or ``document``); '' when it has none."""
    prompts = getattr(model, "prompts", None) or {}
    return str(prompts.get(role, "") or "")


def stage_prompts(model: Any, roles: dict[str, str]) -> dict[str, str]:
    """Training prompts per dataset column (``{"question": "query", ...}`` → the model's
    prompt texts); empty when the model has no prompts."""
    out = {column: model_prompt(model, role) for column, role in roles.items()}
    return {c: p for c, p in out.items() if p}


def freeze_word_embeddings(model: Any, freeze: bool | None) -> int:
    """Stop training the word-embedding table of a transformer ``model``; returns how many
    parameters that froze. ``None`` freezes it when it holds more than half of the model's
    parameters of a pretrained model (multilingual vocabularies such as e5-small's 96 M of
    118 M): updating it costs most of each optimiser step and teaches a small data set little.
    A from-scratch base (:data:`~lc_klue.runtime.SCRATCH_KEY`) must learn its table: never
    frozen by ``None``."""
    if freeze is False:
        return 0
    try:
        hf = model[0].auto_model
        table = hf.get_input_embeddings().weight
    except (AttributeError, IndexError, KeyError, TypeError):
        return 0
    total = sum(p.numel() for p in model.parameters())
    scratch = bool(getattr(hf.config, SCRATCH_KEY, None))
    if freeze is None and (scratch or table.numel() * 2 <= total):
        return 0
    table.requires_grad_(False)
    logger.info(
        "word embeddings frozen (%.1f M of %.1f M parameters)", table.numel() / 1e6, total / 1e6
    )
    return int(table.numel())


def keep_layers(model: Any, layers: int | None) -> int:
    """Keep only the first ``layers`` encoder layers of a transformer ``model`` (a smaller,
    faster cross-encoder from a deep base, e.g. 4 of e5-small's 12 on a CPU); returns how many
    it has now. ``None`` keeps them all."""
    try:
        hf = model[0].auto_model
        encoder = hf.base_model.encoder
        current = len(encoder.layer)
    except (AttributeError, IndexError, KeyError, TypeError):
        if layers is not None:
            raise ModelError("--layers needs a transformer model (BERT-like encoder)") from None
        return 0
    if layers is None or layers >= current:
        return current
    if layers < 1:
        raise ModelError(f"layers must be at least 1, got {layers}")
    import torch

    encoder.layer = torch.nn.ModuleList(list(encoder.layer)[:layers])
    hf.config.num_hidden_layers = layers
    logger.info("kept the first %d of %d encoder layers", layers, current)
    return layers


def fit_length(model: Any, wanted: int, what: str) -> int:
    """``wanted`` tokens, or the model's position limit when that is smaller (said in one line)."""
    limit = position_limit(model)
    if limit is not None and wanted > limit:
        logger.warning(
            "%s: max length %d exceeds the model's %d positions; using %d",
            what,
            wanted,
            limit,
            limit,
        )
        return limit
    return wanted


def make_bi_encoder(
    base: str | Path,
    pooling: str = "mean",
    max_seq_length: int = 256,
    device: str | None = None,
) -> SentenceTransformer:
    """A sentence-transformers bi-encoder: the base LM followed by ``pooling`` (mean, cls, max).

    A directory that already is a sentence-transformers model is loaded as it is. The length
    is capped at the model's positions (:func:`fit_length`).
    """
    if pooling not in POOLING_MODES:
        raise ModelError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLING_MODES)}")
    name = str(base)
    try:
        if (Path(name) / "modules.json").exists():
            model = SentenceTransformer(
                name, device=device, trust_remote_code=trusts_own_code(name)
            )
        else:
            transformer = Transformer(name, max_seq_length=max_seq_length)
            pool = Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)
            model = SentenceTransformer(modules=[transformer, pool], device=device)
    except (OSError, ValueError) as e:
        raise load_error("model", name, e) from e
    model.max_seq_length = fit_length(model, max_seq_length, name)
    return model


def pooled_cross_encoder(name: str, max_length: int, device: str | None) -> CrossEncoder:
    """A cross-encoder from a sentence-transformers bi-encoder (e.g. ``e5-small``): its
    transformer reads the pair, its own pooling (the one it was trained with) summarises it, and
    a fresh linear head gives the score. A head on the [CLS] token of an encoder trained with
    mean pooling starts from a token that carries little, and listwise training from e5-small
    stayed at chance for 375 steps that way."""
    modules = json.loads((Path(name) / "modules.json").read_text(encoding="utf-8"))
    transformer = Transformer(name, max_seq_length=max_length)
    dim = transformer.get_embedding_dimension()
    pool = Pooling.load(str(Path(name) / modules[1]["path"]))  # as saved, in any config format
    head = Dense(dim, 1, activation_function=None, module_output_name="scores")
    return CrossEncoder(modules=[transformer, pool, head], device=device)


#: How much faster a fresh score head learns than the pretrained encoder under it.
HEAD_LR_FACTOR = 20.0


def head_learning_rate(model: Any, learning_rate: float | None) -> dict[str, Any]:
    """Trainer arguments giving the fresh score head of a :func:`pooled_cross_encoder`
    :data:`HEAD_LR_FACTOR` times the learning rate (sentence-transformers'
    ``learning_rate_mapping``): its scores start equal for every passage, and at the encoder's
    rate it took e5-small hundreds of steps to leave chance. Empty for other models."""
    last = model[-1] if len(model) else None
    if not (isinstance(last, Dense) and last.module_output_name == "scores"):
        return {}
    from training.args import default_learning_rate

    rate = (learning_rate or default_learning_rate(model)) * HEAD_LR_FACTOR
    return {"learning_rate_mapping": {rf"(^|\.){len(model) - 1}\.linear\.": rate}}


def make_cross_encoder(
    base: str | Path, max_length: int = 512, device: str | None = None
) -> CrossEncoder:
    """A cross-encoder with one output (relevance score) on top of ``base``, its length capped
    at the model's positions (:func:`fit_length`). On a ``kiwi:static`` model it is a
    :class:`~lc_klue.models.kiwi_interaction.KiwiInteraction` over the model's morpheme
    vectors and weights; a saved cross-encoder directory is loaded as it is."""
    name = str(base)
    try:
        types = module_types(name)
        if STATIC_MODULE in types:
            from lc_klue.models.kiwi_interaction import KiwiInteraction

            static = SentenceTransformer(
                name, device="cpu", trust_remote_code=trusts_own_code(name)
            )[0]
            return CrossEncoder(modules=[KiwiInteraction.from_static(static)], device=device)
        if any(t.startswith("lc_klue.") for t in types):  # a saved Kiwi cross-encoder
            model = CrossEncoder(name, device=device, trust_remote_code=trusts_own_code(name))
        elif len(types) > 1 and types[0] == ST_TRANSFORMER and types[1] == ST_POOLING:
            model = pooled_cross_encoder(name, max_length, device)
        else:
            model = CrossEncoder(name, num_labels=1, max_length=max_length, device=device)
    except (OSError, ValueError) as e:
        raise load_error("model", name, e) from e
    model.max_seq_length = fit_length(model, max_length, name)
    return model
