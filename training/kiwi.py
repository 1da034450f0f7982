"""Base models on Kiwi morphemes whose embeddings start from Kiwi's CoNg vectors.

- ``--base-model kiwi:static`` builds a :class:`~lc_klue.models.kiwi_static.
  KiwiStaticEmbedding` sentence-transformers model; its morpheme weights start from IDF over
  the stage's training texts. As a cross-encoder base it becomes a
  :class:`~lc_klue.models.kiwi_interaction.KiwiInteraction` over the same vectors.
- ``--base-model kiwi:SIZE[:ARCH]`` (``kiwi:mini``, ``kiwi:small:roberta``; sizes as for
  ``scratch:``) builds a :class:`~lc_klue.models.kiwi_transformer.KiwiTransformer`: a small
  encoder over Kiwi morphemes whose input embeddings start from the (projected) CoNg vectors.

Both are trained further by the same stages as a hub model and save as ordinary
sentence-transformers / CrossEncoder directories (loadable with lc-klue installed).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lc_klue.errors import ModelError
from lc_klue.models.kiwi_transformer import CONFIG_FILE as TRANSFORMER_CONFIG
from lc_klue.ranking import bm25_idf
from lc_klue.storage import atomic_directory
from training.scratch import ARCHS, SIZES

KIWI_KINDS = ("static", "SIZE[:ARCH]")
#: The ``modules.json`` types of the Kiwi modules.
STATIC_MODULE = "lc_klue.models.kiwi_static.KiwiStaticEmbedding"
TRANSFORMER_MODULE = "lc_klue.models.kiwi_transformer.KiwiTransformer"
#: A directory holding one of these is a built Kiwi base.
KIWI_BASE_FILES = ("modules.json", TRANSFORMER_CONFIG)


def is_kiwi_transformer(path: str | Path) -> bool:
    """Whether ``path`` holds a :class:`~lc_klue.models.kiwi_transformer.KiwiTransformer`
    (a ``kiwi:SIZE`` base, or a model whose first module is one)."""
    return (Path(str(path)) / TRANSFORMER_CONFIG).is_file()


def parse_kiwi_spec(name: str) -> str | None:
    """``"kiwi:static"`` → ``"static"``, ``"kiwi:mini:roberta"`` → ``"mini:roberta"``;
    anything not starting with ``kiwi`` → None (unknown kinds are a :class:`ModelError`)."""
    text = str(name)
    if not text.startswith("kiwi:") and text != "kiwi":
        return None
    kind = text.split(":", 1)[1] if ":" in text else ""
    if kind != "static":
        parse_kiwi_transformer(kind)  # checks SIZE and ARCH
    return kind


def row_idf(rows: Iterable[list[int]], size: int) -> np.ndarray:
    """BM25 IDF of every row over texts given as row lists; rows never seen get the largest."""
    df = np.zeros(size, dtype=np.float64)
    n = 0
    for r in rows:
        n += 1
        df[np.unique(np.asarray(r, dtype=np.int64))] += 1
    if n == 0:
        raise ModelError("a Kiwi base model needs texts to weigh its morphemes")
    return bm25_idf(df, n)


def build_kiwi_static(texts: Iterable[str], output_dir: str | Path, **config: object) -> Path:
    """Save a ``kiwi:static`` sentence-transformers model to ``output_dir`` (atomically):
    CoNg vectors for the table's morphemes, zero for hash buckets, IDF weights over ``texts``."""
    from sentence_transformers import SentenceTransformer

    from lc_klue.models.cong import cong_vectors
    from lc_klue.models.kiwi_static import KiwiStaticConfig, KiwiStaticEmbedding

    settings = KiwiStaticConfig(**config)  # type: ignore[arg-type]
    vocab = KiwiStaticEmbedding(settings).vocab
    weights = row_idf(vocab.encode([t for t in texts if t and t.strip()]), vocab.size)
    vectors = np.zeros((vocab.size, settings.dim), dtype=np.float32)
    vectors[: vocab.table_size] = cong_vectors()
    module = KiwiStaticEmbedding(settings, vectors, weights)
    model = SentenceTransformer(modules=[module], device="cpu")
    with atomic_directory(output_dir) as tmp:
        model.save(str(tmp))
    return Path(output_dir)


def build_kiwi_base(
    kind: str, texts: Iterable[str], output_dir: str | Path, seed: int = 42
) -> Path:
    """Build the Kiwi base model ``kind`` (see :data:`KIWI_KINDS`) from ``texts``."""
    transformer = parse_kiwi_transformer(kind)
    if transformer is None:
        return build_kiwi_static(texts, output_dir)
    return build_kiwi_transformer(*transformer, output_dir, seed=seed)


def parse_kiwi_transformer(kind: str) -> tuple[str, str] | None:
    """``"mini"`` / ``"small:roberta"`` → ``(size, arch)``; ``"static"`` → None."""
    if kind == "static":
        return None
    parts = kind.split(":")
    size, arch = parts[0], parts[1] if len(parts) > 1 else "bert"
    if size not in SIZES or arch not in ARCHS or len(parts) > 2:
        raise ModelError(
            f"unknown Kiwi base model 'kiwi:{kind}': use kiwi:static or kiwi:SIZE[:ARCH] with "
            f"SIZE in {', '.join(SIZES)} and ARCH in {', '.join(ARCHS)}"
        )
    return size, arch


def projected_cong(hidden: int, seed: int = 42) -> np.ndarray:
    """The CoNg table in ``hidden`` dimensions: its top principal directions when smaller than
    the table's, an orthonormal lift (cosines kept) when larger."""
    from lc_klue.models.cong import cong_vectors

    table = cong_vectors()
    dim = table.shape[1]
    if hidden == dim:
        return table
    if hidden < dim:
        centred = table - table.mean(axis=0)
        _, _, vt = np.linalg.svd(centred[:: max(1, len(table) // 20_000)], full_matrices=False)
        out = table @ vt[:hidden].T
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((hidden, dim)))
    return table @ q.T


def build_kiwi_transformer(
    size: str, arch: str, output_dir: str | Path, *, max_length: int = 512, seed: int = 42
) -> Path:
    """Save a ``kiwi:SIZE[:ARCH]`` base (a :class:`~lc_klue.models.kiwi_transformer.
    KiwiTransformer` directory): a randomly initialised encoder whose input embeddings of the
    CoNg table's morphemes start from the (projected) CoNg vectors, scaled to the encoder's
    initialisation."""
    import torch

    from lc_klue.models.kiwi_transformer import SEGMENTS, KiwiTransformer
    from lc_klue.models.kiwi_vocab import KiwiVocab

    dims = SIZES[size]
    vocab = KiwiVocab(content_only=False)
    config: dict[str, object] = {
        "model_type": arch,
        "vocab_size": vocab.size,
        "hidden_size": dims.hidden,
        "num_hidden_layers": dims.layers,
        "num_attention_heads": dims.heads,
        "intermediate_size": dims.intermediate,
        "type_vocab_size": SEGMENTS,
        "pad_token_id": vocab.special("[PAD]"),
        "max_position_embeddings": max_length + (2 if arch == "roberta" else 0),
    }
    torch.manual_seed(seed)
    module = KiwiTransformer(config, max_seq_length=max_length, oov_buckets=vocab.oov_buckets)
    embeddings = module.auto_model.get_input_embeddings()
    scale = module.auto_model.config.initializer_range * np.sqrt(dims.hidden)
    with torch.no_grad():
        vectors = torch.from_numpy(projected_cong(dims.hidden, seed) * scale).float()
        embeddings.weight[: vocab.table_size] = vectors
    with atomic_directory(output_dir) as tmp:
        module.save(str(tmp))
    return Path(output_dir)
