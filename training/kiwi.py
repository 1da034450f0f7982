"""The ``kiwi:static`` base model: Kiwi morphemes whose vectors start from Kiwi's CoNg vectors.

``--model kiwi:static`` builds a :class:`~lc_klue.models.kiwi_static.KiwiStaticEmbedding`
sentence-transformers model; its morpheme weights start from IDF over the stage's training
texts. As a cross-encoder base it becomes a
:class:`~lc_klue.models.kiwi_interaction.KiwiInteraction` over the same vectors. It is trained
further by the same stages as a hub model and saves as an ordinary sentence-transformers /
CrossEncoder directory (loadable with lc-klue installed).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lc_klue.errors import ModelError
from lc_klue.ranking import bm25_idf
from lc_klue.storage import atomic_directory

#: The ``modules.json`` type of the static Kiwi module.
STATIC_MODULE = "lc_klue.models.kiwi_static.KiwiStaticEmbedding"
KIWI_STATIC = "kiwi:static"


def is_kiwi_static(name: str | Path) -> bool:
    """Whether ``name`` is the ``kiwi:static`` spec; another ``kiwi:`` name is a
    :class:`ModelError`."""
    text = str(name)
    if text.startswith("kiwi:") and text != KIWI_STATIC:
        raise ModelError(f"unknown Kiwi base model {text!r}: the Kiwi base is {KIWI_STATIC}")
    return text == KIWI_STATIC


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
