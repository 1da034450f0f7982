"""From-scratch base models: a repeatable tokenizer and an encoder with room for every stage."""

import json

import pytest

from lc_klue.errors import ModelError
from training.scratch import (
    SCRATCH_POSITIONS,
    build_scratch_base,
    parse_scratch_spec,
    train_tokenizer,
)


def test_tokenizer_training_is_repeatable(news_qa) -> None:
    texts = sorted(set(news_qa["context"])) + list(news_qa["question"])
    first, second = train_tokenizer(texts, 800), train_tokenizer(texts, 800)
    assert first.get_vocab() == second.get_vocab()
    sentence = "부산시가 해상 풍력 단지를 조성한다."
    assert first.decode(first(sentence)["input_ids"], skip_special_tokens=True) == sentence


def test_specs() -> None:
    assert parse_scratch_spec("scratch:small:roberta") == ("small", "roberta")
    assert parse_scratch_spec("scratch") == ("small", "bert")
    assert parse_scratch_spec("klue/roberta-base") is None
    with pytest.raises(ModelError, match="unknown from-scratch"):
        parse_scratch_spec("scratch:tiny:gpt")


def test_a_scratch_base_has_positions_for_every_stage(tmp_path, news_qa) -> None:
    texts = sorted(set(news_qa["context"])) + list(news_qa["question"])
    out = build_scratch_base(texts, tmp_path / "base", "tiny")
    config = json.loads((out / "config.json").read_text())
    assert config["max_position_embeddings"] == SCRATCH_POSITIONS >= 512
    assert config["lc_klue_base"] == "scratch:tiny:bert"  # provenance for reports


def test_a_bert_tokenizer_gives_segment_ids_for_pairs_after_reloading(tmp_path, news_qa) -> None:
    from transformers import AutoTokenizer

    texts = sorted(set(news_qa["context"])) + list(news_qa["question"])
    train_tokenizer(texts, 800, "bert").save_pretrained(tmp_path / "bert")
    pair = AutoTokenizer.from_pretrained(tmp_path / "bert")("질문입니다", "문서입니다")
    assert set(pair["token_type_ids"]) == {0, 1}
    roberta = train_tokenizer(texts, 800, "roberta")("질문입니다", "문서입니다")
    assert "token_type_ids" not in roberta
