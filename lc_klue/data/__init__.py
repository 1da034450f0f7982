"""Data layer shared by ``training`` and ``lc_klue``: KLUE STS and MRC in one normal form,
passages (the unit of retrieval) with their one identity, :func:`context_id`, raw documents
split into passages (:mod:`lc_klue.data.documents`), and STS pairs as a paraphrase retrieval
set (:func:`paraphrase_retrieval`)."""

from lc_klue.data.documents import document_passages, read_documents
from lc_klue.data.ict import inverse_cloze_pairs
from lc_klue.data.mrc import (
    MRC_COLUMNS,
    add_irrelevant_contexts,
    load_mrc,
    relevance_pairs,
    sample_questions,
    split_by_title,
    split_dev,
)
from lc_klue.data.passages import (
    MrcSource,
    context_id,
    load_passages,
    mrc_documents,
    unique_contexts,
)
from lc_klue.data.sts import STS_COLUMNS, load_sts, paraphrase_retrieval, split_sts

__all__ = [
    "MRC_COLUMNS",
    "STS_COLUMNS",
    "MrcSource",
    "add_irrelevant_contexts",
    "context_id",
    "document_passages",
    "inverse_cloze_pairs",
    "load_mrc",
    "load_passages",
    "load_sts",
    "mrc_documents",
    "paraphrase_retrieval",
    "read_documents",
    "relevance_pairs",
    "sample_questions",
    "split_by_title",
    "split_dev",
    "split_sts",
    "unique_contexts",
]
