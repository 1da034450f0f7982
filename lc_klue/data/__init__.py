"""Data layer shared by ``training`` and ``lc_klue``: KLUE STS and MRC in one normal form."""

from lc_klue.data.mrc import (
    MRC_COLUMNS,
    add_irrelevant_contexts,
    context_id,
    load_mrc,
    load_passages,
    relevance_pairs,
    sample_questions,
    split_by_title,
    unique_contexts,
)
from lc_klue.data.sts import STS_COLUMNS, load_sts, split_sts

__all__ = [
    "MRC_COLUMNS",
    "STS_COLUMNS",
    "add_irrelevant_contexts",
    "context_id",
    "load_mrc",
    "load_passages",
    "load_sts",
    "relevance_pairs",
    "sample_questions",
    "split_by_title",
    "split_sts",
    "unique_contexts",
]
