"""Qdrant against FAISS flat and bm25s on the real KorQuAD 1.0 dev file (all 964 passages).

CI checks a 300-question sample; the run over every question is recorded in
``results/qdrant_agreement.json`` (``examples/qdrant_agreement.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lc_klue.bench.agreement import AgreementSettings, store_agreement
from lc_klue.data import load_mrc
from lc_klue.models import KlueEmbeddings
from tests.conftest import shared_file
from tests.kit import TinyModelFactory

pytestmark = pytest.mark.integration


def test_qdrant_agrees_with_faiss_and_bm25s(
    shared_data: Path, tiny_models: TinyModelFactory
) -> None:
    source = shared_file(shared_data, "korquad-1.0/KorQuAD_v1.0_dev.json")
    embeddings = KlueEmbeddings(
        model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu", batch_size=64
    )
    settings = AgreementSettings(questions=300, hybrid=False, latency_queries=0)
    result = store_agreement(load_mrc(source), embeddings, settings)
    assert result["eval_set"]["passages"] > 900
    dense = result["dense_top_k"]
    assert dense["questions"] == 300 and dense["different"] == 0, dense
    assert dense["identical"] + dense["tie_swaps_only"] == 300
    for cut, gap in result["bm25_hit_differences"].items():
        assert gap <= 0.005, (cut, gap)
    bm25 = result["retrievers"]["Qdrant BM25 (sparse, IDF modifier)"]["metrics"]
    assert bm25["hit@10"] > 0.9  # BM25 inside Qdrant is as strong as Kiwi BM25 on KorQuAD
