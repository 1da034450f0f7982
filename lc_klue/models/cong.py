"""Kiwi's CoNg morpheme vectors: pretrained Korean knowledge that is installed with kiwipiepy.

``kiwipiepy-model`` ships the CoNg language model of the Kiwi analyser, whose morpheme table
(70,488 morphemes × 256 dimensions for the versions in :data:`SUPPORTED`) was learned from a
large Korean corpus. Kiwi exposes no raw vector, only cosines (``Kiwi.morpheme_similarity``).
:func:`cong_vectors` rebuilds the table from those cosines alone, through Kiwi's public API:

1. the cosines among ``anchors`` sampled morphemes form a Gram matrix ``W`` of rank 256;
2. the cosines of every wanted morpheme to the anchors form ``C``;
3. the Nyström map ``C · U · Λ^(-1/2)`` (top 256 eigenpairs of ``W``) gives vectors whose inner
   products are Kiwi's cosines. The basis is set by the (seeded) anchors, so a slice of rows
   and the full table agree.

The result is checked (rank gap of ``W``; cosines of sampled pairs against
``morpheme_similarity``) and the full table is cached under :func:`lc_klue.storage.home_dir`.
Another kiwipiepy-model version is refused with one line: its ids and table may differ.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lc_klue.errors import ModelError
from lc_klue.storage import atomic_write_bytes, home_dir
from lc_klue.text import get_kiwi, kiwi_model_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CongTable:
    """What a verified kiwipiepy-model holds: the morpheme table's size."""

    vocab: int
    """Morphemes in the table: token ids below this index it."""
    dim: int
    """Dimensions of a morpheme vector."""
    placeholders: int = 64
    """Ids ``0 … placeholders-1`` stand for unknown forms, one per tag."""


#: kiwipiepy-model versions whose table was verified (ids, size, reconstruction).
SUPPORTED: dict[str, CongTable] = {"0.24.0": CongTable(vocab=70_488, dim=256)}
#: Anchors of the reconstruction and their seed (the table's basis depends on both).
ANCHORS = 320
ANCHOR_SEED = 0
#: Largest |reconstructed - Kiwi| cosine accepted on the sampled check pairs.
CHECK_TOLERANCE = 0.01


def cong_table() -> CongTable:
    """The table of the installed kiwipiepy-model, refusing versions not verified here."""
    version = kiwi_model_version()
    table = SUPPORTED.get(version)
    if table is None:
        pins = ", ".join(SUPPORTED)
        raise ModelError(
            f"kiwipiepy-model {version} is not supported for CoNg vectors (verified: {pins}); "
            f"pip install kiwipiepy-model=={next(iter(SUPPORTED))}"
        )
    kiwi = get_kiwi()
    if getattr(kiwi, "model_type", None) != "cong":
        raise ModelError(f"Kiwi's model type is {kiwi.model_type!r}; CoNg vectors need 'cong'")
    return table


def _anchors(table: CongTable, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(table.vocab, size=n, replace=False))


def _cosines(
    kiwi: Any, rows: Sequence[int] | np.ndarray, anchors: Sequence[int] | np.ndarray
) -> np.ndarray:
    sim = kiwi.morpheme_similarity
    cols = [int(a) for a in anchors]
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    for i, row in enumerate(rows):
        r = int(row)
        out[i] = [sim(r, a) for a in cols]
    if not np.isfinite(out).all():
        raise ModelError("Kiwi returned no similarity for some morphemes: unexpected model")
    return out


def cong_vectors(
    rows: Sequence[int] | np.ndarray | None = None,
    *,
    anchors: int = ANCHORS,
    seed: int = ANCHOR_SEED,
    cache: bool = True,
) -> np.ndarray:
    """Unit CoNg vectors (float32, ``(len(rows), dim)``) of morpheme ids ``rows``; all of the
    table when None (cached after the first build, about 10 s)."""
    table = cong_table()
    version = kiwi_model_version()
    path = home_dir("cong", f"cong-{version}-a{anchors}-s{seed}.npy")
    if rows is None and cache and path.is_file():
        full = np.load(path)
        if full.shape == (table.vocab, table.dim):
            return full
        logger.warning("%s: unexpected shape %s; rebuilding", path, full.shape)
    wanted = np.arange(table.vocab) if rows is None else np.asarray(rows, dtype=np.int64)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= table.vocab):
        raise ModelError(f"morpheme ids must be in 0…{table.vocab - 1}")
    if anchors < table.dim:
        raise ModelError(f"anchors must be at least the vector size {table.dim}, got {anchors}")
    kiwi = get_kiwi()
    anchor_ids = _anchors(table, anchors, seed)
    gram = _cosines(kiwi, anchor_ids, anchor_ids)
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    top = np.argsort(-values)[: table.dim]
    rest = np.sort(values)[::-1][table.dim] if anchors > table.dim else 0.0
    if values[top[-1]] <= 0 or rest > 0.05 * values[top[-1]]:
        raise ModelError(
            f"CoNg table is not of rank {table.dim} (eigenvalues {values[top[-1]]:.3g} then "
            f"{rest:.3g}): unexpected kiwipiepy-model"
        )
    project = vectors[:, top] / np.sqrt(values[top])
    out = (_cosines(kiwi, wanted, anchor_ids) @ project).astype(np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    _check(kiwi, out, wanted, seed)
    if rows is None and cache:
        buffer = io.BytesIO()
        np.save(buffer, out)
        atomic_write_bytes(path, buffer.getvalue())
    return out


def _check(kiwi: Any, vectors: np.ndarray, rows: np.ndarray, seed: int, pairs: int = 200) -> None:
    """Compare reconstructed cosines with ``morpheme_similarity`` on sampled pairs."""
    if len(rows) < 2:
        return
    rng = np.random.default_rng(seed + 1)
    a, b = rng.integers(0, len(rows), pairs), rng.integers(0, len(rows), pairs)
    sim = kiwi.morpheme_similarity
    want = np.array([sim(int(rows[i]), int(rows[j])) for i, j in zip(a, b, strict=True)])
    got = np.sum(vectors[a] * vectors[b], axis=1)
    err = float(np.max(np.abs(want - got)))
    if err > CHECK_TOLERANCE:
        raise ModelError(f"CoNg vectors do not reproduce Kiwi's similarities (max error {err:.3f})")
