"""Cross-encoder loading and batched scoring across queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lc_klue.errors import ModelError
from lc_klue.models import load_cross_encoder, score_pairs_batched
from lc_klue.models.reranker import score_pairs_per_query
from tests.kit import TinyModelFactory
from tests.unit.models.tiny_reranker import spread_cross_encoder


@pytest.fixture(scope="module")
def ce(tiny_models: TinyModelFactory):
    return spread_cross_encoder(tiny_models.cross_encoder_dir())


def test_load_caps_max_length_and_reports_missing(ce, tmp_path: Path) -> None:
    assert ce.max_seq_length == 128  # the tiny model has 128 positions; 512 was asked
    with pytest.raises(ModelError, match="not found"):
        load_cross_encoder(tmp_path / "missing")


def test_batched_scores_equal_per_query(ce, news_qa) -> None:
    queries = list(news_qa["question"][:5])
    contexts = sorted(set(news_qa["context"]))
    candidates = [contexts[i : i + 3 + i] for i in range(5)]  # uneven list lengths
    candidates[2] = []
    batched = score_pairs_batched(ce, queries, candidates, batch_size=4)
    reference = score_pairs_per_query(ce, queries, candidates, batch_size=4)
    assert [len(s) for s in batched] == [len(c) for c in candidates]
    for b, r, q, cands in zip(batched, reference, queries, candidates, strict=True):
        np.testing.assert_allclose(b, r, rtol=1e-5, atol=1e-3)
        if cands:
            direct = ce.predict([(q, c) for c in cands])
            np.testing.assert_allclose(b, direct, rtol=1e-5, atol=1e-3)
            assert list(np.argsort(-b, kind="stable")) == list(np.argsort(-r, kind="stable"))
            assert np.ptp(b) > 0.1  # scores are well separated: the ranking is meaningful


def test_mismatched_inputs(ce) -> None:
    with pytest.raises(ValueError, match="2 queries but 1"):
        score_pairs_batched(ce, ["a", "b"], [["x"]])
    with pytest.raises(TypeError):
        score_pairs_batched(ce, "a", [["x"]])
