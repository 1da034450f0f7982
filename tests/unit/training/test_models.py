"""Base models into the method's two model types, within the model's length limit."""

import logging

import numpy as np
import pytest
from sentence_transformers import CrossEncoder, SentenceTransformer

from lc_klue.errors import ModelError
from training.models import make_bi_encoder, make_cross_encoder, resolve_base_model
from training.scratch import parse_scratch_spec


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_tiny_bi_encoder_encodes_korean(tiny_models, arch: str) -> None:
    model = tiny_models.bi_encoder(arch)
    emb = model.encode(["서울시가 새 정책을 발표했다.", "부산 해상 풍력 단지"])
    assert emb.shape == (2, 32) and np.isfinite(emb).all()
    assert not np.allclose(emb[0], emb[1])
    unk = model.tokenizer.unk_token_id
    ids = model.tokenizer("서울시가 새 정책을 발표했다.")["input_ids"]
    assert ids.count(unk) <= 1  # the tokenizer was trained on the fixture text


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_tiny_cross_encoder_scores_pairs(tiny_models, arch: str) -> None:
    scores = tiny_models.cross_encoder(arch).predict(
        [("질문", "문단"), ("다른 질문", "긴 문단입니다")]
    )
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_saved_dirs_reload(tiny_models) -> None:
    assert SentenceTransformer(str(tiny_models.bi_encoder_dir())).get_embedding_dimension() == 32
    assert CrossEncoder(str(tiny_models.cross_encoder_dir())).num_labels == 1


def test_bad_base_model_paths(tmp_path) -> None:
    with pytest.raises(ModelError, match="model not found"):
        resolve_base_model(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="not a model directory"):
        resolve_base_model(str(tmp_path))
    with pytest.raises(ModelError, match="unknown from-scratch"):
        parse_scratch_spec("scratch:huge")
    with pytest.raises(ModelError, match="unknown pooling"):
        make_bi_encoder(tmp_path, pooling="median")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):  # a hub id, offline, not cached
        resolve_base_model("klue/roberta-base")
    with pytest.raises(ModelError, match="needs texts"):
        resolve_base_model("scratch:tiny")


def test_a_length_beyond_the_positions_is_capped_in_one_line(tiny_models, caplog) -> None:
    base = tiny_models.base("roberta")  # the kit's bases have 128 usable positions
    with caplog.at_level(logging.WARNING, logger="training.models"):
        bi = make_bi_encoder(base, max_seq_length=300, device="cpu")
        ce = make_cross_encoder(base, max_length=300, device="cpu")
    assert bi.max_seq_length == 128 and ce.max_seq_length == 128
    lines = [r.getMessage() for r in caplog.records if r.name == "training.models"]
    assert len(lines) == 2
    assert all("exceeds the model's 128 positions; using 128" in m for m in lines)
    assert make_bi_encoder(base, max_seq_length=64, device="cpu").max_seq_length == 64


def test_freezing_the_word_embeddings(tiny_models) -> None:
    from training.models import freeze_word_embeddings

    model = tiny_models.bi_encoder("bert")
    table = model[0].auto_model.get_input_embeddings().weight
    assert freeze_word_embeddings(model, None) == 0  # a from-scratch table must learn
    assert table.requires_grad
    assert freeze_word_embeddings(model, True) == table.numel()
    assert not table.requires_grad


def test_stage_prompts_follow_the_model() -> None:
    from types import SimpleNamespace

    from training.models import model_prompt, stage_prompts

    e5 = SimpleNamespace(prompts={"query": "query: ", "document": "passage: "})
    roles = {"question": "query", "context": "document"}
    assert stage_prompts(e5, roles) == {"question": "query: ", "context": "passage: "}
    assert stage_prompts(SimpleNamespace(prompts={}), roles) == {}
    assert model_prompt(SimpleNamespace(), "query") == ""


def test_keep_layers_makes_a_shallower_cross_encoder(tiny_models, tmp_path) -> None:
    from training.models import keep_layers

    model = tiny_models.cross_encoder("bert")
    deep = len(model[0].auto_model.base_model.encoder.layer)
    assert deep >= 2
    assert keep_layers(model, None) == deep
    assert keep_layers(model, 1) == 1
    model.save(str(tmp_path / "ce"))
    again = CrossEncoder(str(tmp_path / "ce"), device="cpu")
    assert again[0].auto_model.config.num_hidden_layers == 1
    assert np.isfinite(again.predict([("질문", "문단")])).all()


def test_a_cross_encoder_from_a_bi_encoder_keeps_its_pooling(tiny_models, tmp_path) -> None:
    import re

    from sentence_transformers.cross_encoder.modules import Dense

    from training.models import HEAD_LR_FACTOR, head_learning_rate, keep_layers

    # e5-small is such a bi-encoder: its mean pooling summarises the pair, a fresh head scores
    model = make_cross_encoder(tiny_models.bi_encoder_dir("bert"), 64, "cpu")
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Dense"]
    assert model[1].pooling_mode == "mean" and isinstance(model[2], Dense)
    assert keep_layers(model, 1) == 1
    scores = model.predict([("질문", "문단"), ("질문", "다른 문단")])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    ((pattern, rate),) = head_learning_rate(model, 2e-5)["learning_rate_mapping"].items()
    assert rate == 2e-5 * HEAD_LR_FACTOR
    head = [n for n, _ in model.named_parameters() if re.search(pattern, n)]
    assert sorted(head) == ["2.linear.bias", "2.linear.weight"]
    assert head_learning_rate(tiny_models.cross_encoder("bert"), 2e-5) == {}  # a plain head
    model.save(str(tmp_path / "ce"))
    again = CrossEncoder(str(tmp_path / "ce"), device="cpu")
    assert np.allclose(again.predict([("질문", "문단"), ("질문", "다른 문단")]), scores, atol=1e-5)
