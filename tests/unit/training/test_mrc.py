"""Stage 2 on a tiny bi-encoder and the bundled news Q&A corpus."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from lc_klue.cli import main
from lc_klue.errors import DataError, ModelError
from lc_klue.resources import NEWS_QA
from tests.unit.training.callbacks import early_late
from training.mrc import mrc_splits, rank_passages, train_mrc
from training.outputs import StageResult

FAST = dict(
    epochs=8,
    batch_size=16,
    learning_rate=1e-3,
    warmup_steps=5,
    max_seq_length=64,
    logging_steps=1,
    show_progress=False,
)
RETRIEVAL_KEYS = {"hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models, news_qa) -> StageResult:
    # trained and evaluated on the same fixture: the test checks that training fits the data
    return train_mrc(
        tmp_path_factory.mktemp("mrc") / "mrc",
        model=str(tiny_models.bi_encoder_dir("bert")),
        train_data=news_qa,
        test_data=news_qa,
        **FAST,
    )


def test_training_lowers_the_loss_and_beats_the_untrained_model(trained: StageResult) -> None:
    first, last = early_late(trained.loss_history)
    assert last < 0.5 * first
    before, after = trained.metrics["before"], trained.metrics["after"]
    assert set(after) == RETRIEVAL_KEYS | {"pair_spearman"}
    assert after["pair_spearman"] > before["pair_spearman"] + 0.1
    assert after["mrr@10"] > before["mrr@10"] + 0.1
    assert trained.metrics["loss"] == "MultipleNegativesRankingLoss"
    assert trained.metrics["hyperparameters"]["batch_sampler"] == "no_duplicates"


def test_output_directory_and_card(trained: StageResult) -> None:
    out = trained.model_dir
    assert json.loads((out / "metrics.json").read_text())["after"] == trained.metrics["after"]
    card = (out / "README.md").read_text()
    assert "MultipleNegativesRankingLoss" in card and "mrr@10" in card
    assert [p.name for p in out.parent.iterdir()] == ["mrc"]


def test_split_by_title_keeps_articles_whole(news_qa: Dataset) -> None:
    parts = mrc_splits(news_qa, test_size=0.3, seed=42)
    assert not set(parts["train"]["title"]) & set(parts["test"]["title"])
    assert len(parts["train"]) + len(parts["test"]) == len(news_qa)


def test_rank_passages_clamps_k(tiny_models, news_qa: Dataset) -> None:
    passages = sorted(set(news_qa["context"]))[:3]
    top = rank_passages(tiny_models.bi_encoder(), ["질문"], passages, k=10)
    assert top.shape == (1, 3) and sorted(top[0].tolist()) == [0, 1, 2]
    with pytest.raises(DataError, match="no passages"):
        rank_passages(tiny_models.bi_encoder(), ["질문"], [], k=10)


def test_held_out_title_split_runs_through_the_cli(tmp_path, tiny_models, capsys) -> None:
    code = main(
        [
            "train",
            "mrc",
            str(tmp_path / "mrc"),
            "--model",
            str(tiny_models.bi_encoder_dir("bert")),
            "--data",
            str(NEWS_QA),
            "--max-steps",
            "2",
            "--max-seq-length",
            "32",
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["before"]) == RETRIEVAL_KEYS | {"pair_spearman"}
    metrics = json.loads((tmp_path / "mrc" / "metrics.json").read_text())
    assert "title split" in metrics["data"]["test"]


def test_bad_arguments_give_clear_errors(tmp_path, tiny_models, news_qa: Dataset) -> None:
    model = str(tiny_models.bi_encoder_dir("bert"))
    with pytest.raises(DataError, match=r"missing.jsonl"):
        train_mrc(tmp_path / "m", model=model, train_data=str(tmp_path / "missing.jsonl"))
    with pytest.raises(DataError, match=r"missing column.*question"):
        train_mrc(tmp_path / "m", model=model, train_data=news_qa.remove_columns("question"))
    one_title = news_qa.filter(lambda r: r["title"] == news_qa[0]["title"])
    with pytest.raises(DataError, match="at least 2 titles"):
        train_mrc(tmp_path / "m", model=model, train_data=news_qa, test_data=one_title)
    with pytest.raises(ModelError, match="not found"):
        train_mrc(tmp_path / "m", model=str(tmp_path / "no-model"), train_data=news_qa)
    assert not any(tmp_path.iterdir())
