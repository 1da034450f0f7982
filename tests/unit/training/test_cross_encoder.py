"""Stage 3 on a tiny cross-encoder and the bundled news Q&A corpus."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from datasets import Dataset
from sentence_transformers import CrossEncoder

from lc_klue.errors import DataError, ModelError
from tests.unit.training.callbacks import early_late
from training.args import CrossEncoderSettings, TrainingArgs
from training.cross_encoder import train_cross_encoder
from training.outputs import StageResult

FAST = TrainingArgs(
    epochs=15,
    batch_size=8,
    learning_rate=1e-3,
    warmup_steps=5,
    max_length=64,
    logging_steps=1,
    show_progress=False,
)
METRIC_KEYS = {"pair_spearman", "hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models, news_qa) -> StageResult:
    # trained and evaluated on the same fixture: the test checks that training fits the data
    return train_cross_encoder(
        tmp_path_factory.mktemp("ce") / "ce",
        str(tiny_models.base("bert")),
        CrossEncoderSettings(candidates=5, first_stage="random"),
        replace(FAST, train_data=news_qa, test_data=news_qa, eval_questions=24),
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


def test_bad_arguments_give_clear_errors(tmp_path, tiny_models, news_qa: Dataset) -> None:
    base = str(tiny_models.base("bert"))
    data = TrainingArgs(train_data=news_qa)
    with pytest.raises(DataError, match="unknown negatives"):
        train_cross_encoder(tmp_path / "c", base, CrossEncoderSettings(negatives="bm2"), data)
    with pytest.raises(DataError, match="unknown negatives 'hard'"):  # dropped: no result used it
        CrossEncoderSettings(negatives="hard")
    with pytest.raises(DataError, match="unknown loss"):
        train_cross_encoder(tmp_path / "c", base, CrossEncoderSettings(loss="mse"), data)
    with pytest.raises(ModelError, match="first_stage='dense' needs a bi-encoder"):
        train_cross_encoder(tmp_path / "c", base, CrossEncoderSettings(first_stage="dense"), data)
    with pytest.raises(ModelError, match="not a sentence-transformers model"):
        train_cross_encoder(tmp_path / "c", base, CrossEncoderSettings(embedding_model=base), data)
    with pytest.raises(DataError, match=r"missing column.*context"):
        train_cross_encoder(
            tmp_path / "c", base, args=TrainingArgs(train_data=news_qa.remove_columns("context"))
        )
    with pytest.raises(ModelError, match="not found"):
        train_cross_encoder(tmp_path / "c", str(tmp_path / "none"), args=data)
    assert not any(tmp_path.iterdir())


def test_kiwi_reranker_learns_listwise_from_bm25_negatives(tmp_path, tiny_models, news_qa) -> None:
    # the product's recipe: kiwi:static base, BM25 negatives (same article included), listwise
    result = train_cross_encoder(
        tmp_path / "kiwi-ce",
        str(tiny_models.kiwi_static()),
        CrossEncoderSettings(negatives="bm25", num_negatives=3, loss="listwise", candidates=5),
        TrainingArgs(
            train_data=news_qa,
            test_data=news_qa,
            eval_questions=24,
            epochs=5,
            batch_size=8,
            warmup_steps=0,
            logging_steps=1,
            show_progress=False,
        ),
    )
    m = result.metrics
    assert m["loss"] == "ListNetLoss" and m["hyperparameters"]["learning_rate"] == 1e-2
    assert "BM25-Kiwi top 5" in m["data"]["rerank_evaluation"]
    assert "same-article paragraphs included" in m["data"]["train"]
    assert m["after"]["mrr@10"] > m["before"]["mrr@10"]
    model = CrossEncoder(str(result.model_dir), trust_remote_code=True, device="cpu")
    assert np.asarray(model.predict([("질문", "문서")])).shape == (1,)
