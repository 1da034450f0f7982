"""Model wrappers: LangChain embeddings over a bi-encoder, batched cross-encoder scoring."""

from lc_klue.models.embeddings import KlueEmbeddings
from lc_klue.models.reranker import load_cross_encoder, score_pairs_batched

__all__ = ["KlueEmbeddings", "load_cross_encoder", "score_pairs_batched"]
