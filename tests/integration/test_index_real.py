"""`lc-klue index` on the real KorQuAD 1.0 dev file (tiny from-scratch model for the dense side)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.data import context_id, load_mrc, load_passages, sample_questions
from lc_klue.retrieval import IndexOverrides, KiwiBM25Retriever, KlueFAISS, open_index
from tests.conftest import shared_file
from tests.kit import TinyModelFactory

pytestmark = pytest.mark.integration


def test_index_korquad_dev(
    shared_data: Path, tiny_models: TinyModelFactory, tmp_path: Path, capsys
) -> None:
    source = shared_file(shared_data, "korquad-1.0/KorQuAD_v1.0_dev.json")
    out = tmp_path / "korquad-index"
    model_dir = tiny_models.bi_encoder_dir()
    assert main(["index", str(source), str(out), "-m", str(model_dir), "--batch-size", "128"]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = load_mrc(source)
    n_contexts = len(load_passages(source))  # every paragraph, with or without questions
    assert n_contexts >= len(set(data["context"]))
    assert summary["passages"] == n_contexts
    dense = open_index(out, IndexOverrides(first_stage="dense", k=10, top_n=10))
    assert len(dense.vectorstore) == n_contexts
    assert isinstance(dense.vectorstore, KlueFAISS)

    # Kiwi BM25 is strong on KorQuAD (hit@1 ≈ 0.89 over all dev passages): check a sample.
    bm25 = open_index(out, IndexOverrides(first_stage="bm25", k=10, top_n=10))
    assert isinstance(bm25, KiwiBM25Retriever)
    sample = sample_questions(data, n=200, seed=42)
    ranked = bm25.batch(list(sample["question"]))
    gold = [context_id(c) for c in sample["context"]]
    hit1 = sum(r[0].metadata["context_id"] == g for r, g in zip(ranked, gold, strict=True))
    assert hit1 / len(gold) > 0.8
