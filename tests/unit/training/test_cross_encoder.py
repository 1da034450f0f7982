"""Stage 3 on a tiny cross-encoder and the bundled news Q&A corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasets import Dataset
from sentence_transformers import CrossEncoder

from lc_klue.cli import main
from lc_klue.data.mrc import unique_contexts
from lc_klue.errors import DataError, ModelError
from lc_klue.resources import NEWS_QA
from tests.unit.training.callbacks import early_late
from training.cross_encoder import candidate_lists, hard_negative_pairs, train_cross_encoder
from training.outputs import StageResult

FAST = dict(
    epochs=15,
    batch_size=8,
    learning_rate=1e-3,
    warmup_steps=5,
    max_length=64,
    logging_steps=1,
    eval_questions=24,
    candidates=5,
    show_progress=False,
)
METRIC_KEYS = {"pair_spearman", "hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models, news_qa) -> StageResult:
    # trained and evaluated on the same fixture: the test checks that training fits the data
    return train_cross_encoder(
        tmp_path_factory.mktemp("ce") / "ce",
        base_model=str(tiny_models.base("bert")),
        train_data=news_qa,
        test_data=news_qa,
        **FAST,
    )


def test_training_lowers_the_loss_and_beats_the_untrained_model(trained: StageResult) -> None:
    first, last = early_late(trained.loss_history, n=5)
    assert last < 0.8 * first
    before, after = trained.metrics["before"], trained.metrics["after"]
    assert set(after) == METRIC_KEYS
    assert after["pair_spearman"] > before["pair_spearman"] + 0.2
    assert after["mrr@10"] > before["mrr@10"]
    assert trained.metrics["loss"] == "BinaryCrossEntropyLoss"
    assert "random other-title" in trained.metrics["data"]["rerank_evaluation"]


def test_output_loads_as_a_one_label_cross_encoder(trained: StageResult) -> None:
    model = CrossEncoder(str(trained.model_dir), device="cpu")
    assert model.num_labels == 1
    assert np.asarray(model.predict([("질문", "문서")])).shape == (1,)
    assert "BinaryCrossEntropyLoss" in (trained.model_dir / "README.md").read_text()


def test_random_candidates_hold_gold_and_other_titles(news_qa: Dataset) -> None:
    corpus = unique_contexts(news_qa)
    questions = news_qa.select(range(6))
    cands = candidate_lists(questions, corpus, n=5, seed=1)
    texts, titles = list(corpus["context"]), list(corpus["title"])
    for row, q in zip(cands, questions, strict=True):
        assert len(row) == 5 and len(set(row)) == 5
        assert sum(texts[j] == q["context"] for j in row) == 1
        assert sum(titles[j] == q["title"] for j in row) == 1


def test_hard_negatives_come_from_other_titles(tiny_models, news_qa: Dataset) -> None:
    pairs = hard_negative_pairs(tiny_models.bi_encoder(), news_qa, num_negatives=2)
    assert len(pairs) == 3 * len(news_qa)
    title_of = dict(zip(news_qa["context"], news_qa["title"], strict=False))
    q_title = dict(zip(news_qa["question"], news_qa["title"], strict=False))
    for q, c, label in zip(pairs["question"], pairs["context"], pairs["label"], strict=True):
        assert (title_of[c] == q_title[q]) == (label == 1.0)


def test_hard_negatives_and_bi_encoder_candidates_through_the_cli(
    tmp_path, tiny_models, capsys
) -> None:
    code = main(
        [
            "train",
            "cross-encoder",
            str(tmp_path / "ce"),
            "--base-model",
            str(tiny_models.base("roberta")),
            "--data",
            str(NEWS_QA),
            "--negatives",
            "hard",
            "--bi-encoder",
            str(tiny_models.bi_encoder_dir("bert")),
            "--candidates",
            "4",
            "--eval-questions",
            "10",
            "--max-steps",
            "2",
            "--max-length",
            "32",
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["after"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "ce" / "metrics.json").read_text())
    assert metrics["negatives"] == "hard" and "top-4" in metrics["data"]["rerank_evaluation"]
    assert set(metrics["first_stage"]) == METRIC_KEYS - {"pair_spearman"}


def test_bad_arguments_give_clear_errors(tmp_path, tiny_models, news_qa: Dataset) -> None:
    base = str(tiny_models.base("bert"))
    with pytest.raises(ModelError, match="needs a bi-encoder"):
        train_cross_encoder(tmp_path / "c", base_model=base, train_data=news_qa, negatives="hard")
    with pytest.raises(DataError, match="unknown negatives"):
        train_cross_encoder(tmp_path / "c", base_model=base, train_data=news_qa, negatives="bm25")
    with pytest.raises(ModelError, match="not a sentence-transformers model"):
        train_cross_encoder(tmp_path / "c", base_model=base, train_data=news_qa, bi_encoder=base)
    with pytest.raises(DataError, match=r"missing column.*context"):
        train_cross_encoder(
            tmp_path / "c", base_model=base, train_data=news_qa.remove_columns("context")
        )
    with pytest.raises(ModelError, match="not found"):
        train_cross_encoder(tmp_path / "c", base_model=str(tmp_path / "none"), train_data=news_qa)
    assert not any(tmp_path.iterdir())
