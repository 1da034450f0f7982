"""The quick check that keeps a near-chance model out of a pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from lc_klue.data import mrc_documents
from lc_klue.models.embeddings import KlueEmbeddings
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.model_check import RELATIVE_SPREAD_FLOOR, check_model, trained_metrics


class PairScorer:
    """A stand-in cross-encoder: ``predict`` scores each pair with ``score(question, text)``."""

    def __init__(self, score: Callable[[str, str], float]) -> None:
        self.score = score

    def predict(self, pairs, **_: object) -> np.ndarray:
        return np.asarray([self.score(q, t) for q, t in pairs], dtype=np.float32)


def cosine_scorer(model: KlueEmbeddings, offset: float, scale: float) -> PairScorer:
    """Scores ``offset + scale * cosine`` under a bi-encoder that ranks better than chance."""

    def score(question: str, text: str) -> float:
        q, t = np.asarray(model.embed_query(question)), np.asarray(model.embed_query(text))
        return offset + scale * float(q @ t / (np.linalg.norm(q) * np.linalg.norm(t)))

    return PairScorer(score)


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


def test_scores_that_barely_vary_for_their_size_are_near_chance(tiny_models, corpus) -> None:
    """The report: a cross-encoder scoring 0.5 ± 0.00035 passed (spread over the 1e-4 floor,
    hit@1 over chance) and then wrecked the pipeline. The same ranking with scores that vary
    for their size passes."""
    docs, bm25 = corpus
    vectors = KlueEmbeddings(model_name_or_path=str(tiny_models.kiwi_static()))
    flat = check_model(cosine_scorer(vectors, 0.5, 0.01), "cross-encoder", "flat", docs, bm25)
    assert flat is not None and flat.score_spread > 1e-4 and flat.hit_at_1 > flat.threshold
    assert flat.relative_spread < RELATIVE_SPREAD_FLOOR and flat.near_chance
    assert "near chance: left out (its scores barely vary" in flat.line()
    assert flat.to_dict()["relative_spread"] == pytest.approx(flat.relative_spread)
    varied = check_model(cosine_scorer(vectors, 0.5, 0.5), "cross-encoder", "ok", docs, bm25)
    assert varied is not None and not varied.near_chance
    assert varied.hit_at_1 == pytest.approx(flat.hit_at_1)  # the same ranking


def test_passage_length_alone_does_not_pass(corpus) -> None:
    """The question's passage lost a sentence; the distractors lose one too, so a model that
    prefers short passages (scores spread well) ranks at chance, not at the top."""
    docs, bm25 = corpus
    short = PairScorer(lambda _q, text: -len(text) / 100)
    check = check_model(short, "cross-encoder", "length", docs, bm25)
    assert check is not None and check.relative_spread > 0.1
    assert check.hit_at_1 <= check.threshold and check.near_chance


def test_tied_scores_earn_chance_not_the_first_place(corpus) -> None:
    docs, bm25 = corpus
    check = check_model(PairScorer(lambda _q, _t: 1.0), "cross-encoder", "same", docs, bm25)
    assert check is not None and check.near_chance
    assert check.hit_at_1 == pytest.approx(check.chance)
