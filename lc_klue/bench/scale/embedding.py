"""A model-free dense embedding for the scale benchmark: a deterministic random projection of
Kiwi content morphemes (cheap, the same vectors in every store)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings


class MorphemeHashEmbeddings(Embeddings):
    """A deterministic bag-of-morphemes embedding: each Kiwi content morpheme has a fixed
    Gaussian random vector (seeded by its hash), a text is the normalised sum of its morphemes'
    vectors weighted by ``1 + log(tf)``. A random projection of lexical overlap; no training."""

    def __init__(self, dimension: int = 128, seed: int = 0) -> None:
        self.dimension, self.seed = int(dimension), int(seed)
        self.model_name_or_path = f"morpheme-hash-{self.dimension}-seed{self.seed}"
        self._rows: dict[str, np.ndarray] = {}

    def token_matrix(self, tokens: Sequence[str]) -> np.ndarray:
        """The vectors of ``tokens`` (one row each)."""
        from lc_klue.retrieval.sparse import term_id

        out = np.empty((len(tokens), self.dimension), dtype=np.float32)
        for i, t in enumerate(tokens):
            row = self._rows.get(t)
            if row is None:
                rng = np.random.default_rng([self.seed, term_id(t)])
                row = self._rows[t] = rng.standard_normal(self.dimension).astype(np.float32)
            out[i] = row
        return out

    def embed_token_ids(
        self, token_ids: np.ndarray, offsets: np.ndarray, vocab: Sequence[str]
    ) -> np.ndarray:
        """Embed a corpus given as morpheme ids (``token_ids[offsets[i]:offsets[i+1]]``) of
        ``vocab``: one sparse-matrix product, normalised rows."""
        from scipy.sparse import csr_matrix

        n = len(offsets) - 1
        rows = np.repeat(np.arange(n), np.diff(offsets))
        counts = csr_matrix(
            (np.ones(len(token_ids), dtype=np.float32), (rows, token_ids)), shape=(n, len(vocab))
        )
        counts.sum_duplicates()
        counts.data = 1.0 + np.log(counts.data)
        out = np.asarray(counts @ self.token_matrix(vocab), dtype=np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def embed_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Embed tokenised texts."""
        vocab = sorted({t for tokens in token_lists for t in tokens})
        index = {t: i for i, t in enumerate(vocab)}
        ids = np.asarray([index[t] for tokens in token_lists for t in tokens], dtype=np.int64)
        offsets = np.cumsum([0, *(len(t) for t in token_lists)])
        if not vocab:
            return np.zeros((len(token_lists), self.dimension), dtype=np.float32)
        return self.embed_token_ids(ids, offsets, vocab)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts (Kiwi content morphemes)."""
        from lc_klue.text import kiwi_tokenize

        return self.embed_tokens(kiwi_tokenize(list(texts))).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed_documents([text])[0]
