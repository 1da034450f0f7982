"""Model wrappers: LangChain embeddings over a bi-encoder, batched cross-encoder scoring."""

from lc_klue.models.embeddings import (
    KlueEmbeddings,
    embedding_fingerprint,
    fingerprint_mismatch,
)
from lc_klue.models.reranker import (
    load_cross_encoder,
    score_pairs_batched,
    score_pairs_per_query,
)

__all__ = [
    "KlueEmbeddings",
    "embedding_fingerprint",
    "fingerprint_mismatch",
    "load_cross_encoder",
    "score_pairs_batched",
    "score_pairs_per_query",
]
