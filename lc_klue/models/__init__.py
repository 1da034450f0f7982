"""Model wrappers: LangChain embeddings over a bi-encoder, batched cross-encoder scoring."""

from lc_klue.models.cross_encoder import (
    load_cross_encoder,
    score_pairs_batched,
    score_pairs_per_query,
)
from lc_klue.models.embeddings import (
    KlueEmbeddings,
    embedding_fingerprint,
    fingerprint_mismatch,
)

__all__ = [
    "KlueEmbeddings",
    "embedding_fingerprint",
    "fingerprint_mismatch",
    "load_cross_encoder",
    "score_pairs_batched",
    "score_pairs_per_query",
]
