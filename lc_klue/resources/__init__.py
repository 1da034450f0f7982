"""Data bundled with the package, written by the lc-klue project (not copied from any data set).

- ``news_qa.jsonl``: a small Korean news Q&A corpus (MRC format: id, title, context, question,
  answers) for the offline demo and the tests.
- ``sts_pairs.csv``: Korean sentence pairs with similarity labels 0–5 (KLUE STS format).
- ``default_pipeline.json``: the default retrieval pipeline (BM25 top 30 → lexical fusion) with
  its fusion weights, fitted by ``lc-klue tune`` on 1,000 questions of the KorQuAD 1.0 dev
  *train* titles (title split 0.3, seed 42; the command is inside). Numbers only: settings,
  weights, MRR and 12-hex-digit hashes of the tuning questions, no KorQuAD text.
- ``e5_pipeline.json``: the default pipeline when the e5 extra is installed (BM25 ∪ e5-small
  top 30 → lexical + dense fusion), fitted the same way (``lc-klue tune --embedding-model
  e5-small``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_path(name: str) -> Path:
    """Filesystem path of a bundled resource file."""
    return Path(str(files(__name__).joinpath(name)))


NEWS_QA = resource_path("news_qa.jsonl")
DEFAULT_PIPELINE = resource_path("default_pipeline.json")
DENSE_PIPELINE = resource_path("e5_pipeline.json")
STS_PAIRS = resource_path("sts_pairs.csv")
