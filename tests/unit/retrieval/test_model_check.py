"""The quick check that keeps a near-chance model out of a pipeline."""

from __future__ import annotations

import json

import pytest

from lc_klue.data import mrc_documents
from lc_klue.models.embeddings import KlueEmbeddings
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.model_check import check_model, trained_metrics


@pytest.fixture(scope="module")
def corpus():
    docs = mrc_documents(NEWS_QA)
    return docs, KiwiBM25Retriever(docs=docs, k1=0.9, b=0.4)


def test_an_untrained_cross_encoder_is_near_chance(tiny_models, corpus) -> None:
    docs, bm25 = corpus
    check = check_model(tiny_models.cross_encoder(), "cross-encoder", "tiny", docs, bm25)
    assert check is not None and check.near_chance
    assert check.queries == 32 and check.candidates == pytest.approx(10)
    assert check.chance == pytest.approx(0.1) and check.threshold > check.chance
    line = check.line()
    assert "near chance" in line and "left out" in line and "\n" not in line
    assert json.dumps(check.to_dict())  # JSON-ready, for the pipeline file


def test_pretrained_morpheme_vectors_rank_better_than_chance(tiny_models, corpus) -> None:
    docs, bm25 = corpus
    model = KlueEmbeddings(model_name_or_path=str(tiny_models.kiwi_static()))
    check = check_model(model, "embedding model", "kiwi:static", docs, bm25)
    assert check is not None and not check.near_chance
    assert check.hit_at_1 > check.threshold
    untrained = KlueEmbeddings(model_name_or_path=str(tiny_models.bi_encoder_dir()))
    assert check_model(untrained, "embedding model", "tiny", docs, bm25).near_chance


def test_a_corpus_too_small_to_ask_gives_no_verdict(tiny_models) -> None:
    docs = mrc_documents(NEWS_QA)[:1]
    bm25 = KiwiBM25Retriever(docs=docs)
    assert check_model(tiny_models.cross_encoder(), "cross-encoder", "x", docs, bm25) is None


def test_the_training_evaluation_is_read(tmp_path) -> None:
    (tmp_path / "metrics.json").write_text(
        json.dumps(
            {"after": {"hit@1": 0.015, "pair_spearman": 0.14}, "first_stage": {"hit@1": 0.38}}
        )
    )
    assert trained_metrics(tmp_path) == {
        "hit@1": 0.015,
        "pair_spearman": 0.14,
        "first stage hit@1": 0.38,
    }
    assert trained_metrics(tmp_path / "none") is None
