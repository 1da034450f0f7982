"""Stage 2 on a tiny bi-encoder and the bundled news Q&A corpus."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from datasets import Dataset

from lc_klue.errors import DataError, ModelError
from tests.unit.training.callbacks import early_late
from training.args import MrcSettings, TrainingArgs
from training.mrc import train_mrc
from training.outputs import StageResult

FAST = TrainingArgs(
    epochs=8,
    batch_size=16,
    learning_rate=1e-3,
    warmup_steps=5,
    max_length=64,
    logging_steps=1,
    show_progress=False,
)
RETRIEVAL_KEYS = {"hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models, news_qa) -> StageResult:
    # trained and evaluated on the same fixture: the test checks that training fits the data
    return train_mrc(
        tmp_path_factory.mktemp("mrc") / "mrc",
        str(tiny_models.bi_encoder_dir("bert")),
        args=replace(FAST, train_data=news_qa, test_data=news_qa),
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


def test_bad_arguments_give_clear_errors(tmp_path, tiny_models, news_qa: Dataset) -> None:
    model = str(tiny_models.bi_encoder_dir("bert"))

    def data(train: object, test: object = None) -> TrainingArgs:
        return TrainingArgs(train_data=train, test_data=test)  # type: ignore[arg-type]

    with pytest.raises(DataError, match=r"missing.jsonl"):
        train_mrc(tmp_path / "m", model, args=data(str(tmp_path / "missing.jsonl")))
    with pytest.raises(DataError, match=r"missing column.*question"):
        train_mrc(tmp_path / "m", model, args=data(news_qa.remove_columns("question")))
    one_title = news_qa.filter(lambda r: r["title"] == news_qa[0]["title"])
    with pytest.raises(DataError, match="at least 2 titles"):
        train_mrc(tmp_path / "m", model, args=data(news_qa, one_title))
    with pytest.raises(ModelError, match="not found"):
        train_mrc(tmp_path / "m", str(tmp_path / "no-model"), args=data(news_qa))
    assert not any(tmp_path.iterdir())


def test_a_passage_file_without_questions_trains_on_inverse_cloze_pairs(
    tmp_path, tiny_models, news_qa: Dataset
) -> None:
    from lc_klue.data import unique_contexts

    passages = tmp_path / "passages.csv"
    unique_contexts(news_qa).to_pandas()[["title", "context"]].to_csv(passages, index=False)
    result = train_mrc(
        tmp_path / "ict",
        str(tiny_models.bi_encoder_dir("bert")),
        args=replace(FAST, train_data=str(passages), pairs="ict", test_size=0.3, dev_size=0.2),
    )
    data = result.metrics["data"]
    assert "held out as dev" in data["train"]
    assert result.metrics["after"]["mrr@10"] > result.metrics["before"]["mrr@10"]
    with pytest.raises(DataError, match="unknown pairs"):
        train_mrc(
            tmp_path / "x", "scratch:tiny", args=TrainingArgs(train_data=news_qa, pairs="cloze")
        )


def test_the_stage_defaults_chain_from_a_scratch_sts_model(tmp_path, news_qa, sts_pairs) -> None:
    """The README's offline chain with every default length: STS (128 tokens) on a scratch
    base, then MRC (256 tokens) on it."""
    from training.sts import train_sts

    quick = TrainingArgs(max_steps=1, show_progress=False)
    sts = train_sts(tmp_path / "sts", "scratch:tiny", args=replace(quick, train_data=sts_pairs))
    assert sts.metrics["hyperparameters"]["max_length"] == 128
    mrc = train_mrc(
        tmp_path / "mrc", sts.model_dir, args=replace(quick, train_data=news_qa, eval_questions=20)
    )
    assert mrc.metrics["hyperparameters"]["max_length"] == 256
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(mrc.model_dir), device="cpu").max_seq_length == 256


def test_bm25_negatives_are_hard_and_never_the_gold_passage(news_qa: Dataset) -> None:
    from lc_klue.data import context_id
    from training.mrc import mrc_examples

    rows = mrc_examples(news_qa, "bm25", 2)
    assert rows.column_names == ["question", "context", "negative_0", "negative_1"]
    for row in rows:
        assert context_id(row["negative_0"]) != context_id(row["context"])
        assert context_id(row["negative_1"]) != context_id(row["context"])
        assert row["negative_0"] != row["negative_1"]
    titles = dict(zip(news_qa["context"], news_qa["title"], strict=True))
    same_article = sum(titles[r["negative_0"]] == titles[r["context"]] for r in rows)
    assert same_article > 0  # other paragraphs of the question's own article are kept
    assert mrc_examples(news_qa, "in-batch", 1).column_names == ["question", "context"]
    with pytest.raises(DataError, match="unknown negatives"):
        train_mrc("out", "m", MrcSettings(negatives="random"))


def test_prompts_reach_the_trainer(tmp_path, tiny_models, news_qa: Dataset) -> None:
    """A model with query/passage prompts trains and evaluates with them (e5-small's case)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_models.bi_encoder_dir("bert")), device="cpu")
    model.prompts = {"query": "query: ", "document": "passage: "}
    model.save(str(tmp_path / "prompted"))
    result = train_mrc(
        tmp_path / "mrc",
        str(tmp_path / "prompted"),
        MrcSettings(negatives="bm25"),
        TrainingArgs(
            train_data=news_qa,
            test_data=news_qa,
            max_steps=2,
            batch_size=8,
            max_length=32,
            show_progress=False,
        ),
    )
    hyper = result.metrics["hyperparameters"]
    assert hyper["prompts"] == {
        "question": "query: ",
        "context": "passage: ",
        "negative_0": "passage: ",
    }
    assert hyper["negatives"] == "bm25"
