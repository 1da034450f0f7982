"""Kiwi base models: specs, the static model's weights, and the stages on top of them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from lc_klue.errors import ModelError
from training.args import TrainingArgs
from training.kiwi import parse_kiwi_spec, parse_kiwi_transformer, projected_cong, row_idf
from training.mrc import train_mrc
from training.sts import train_sts

QUICK = TrainingArgs(epochs=1, batch_size=8, warmup_steps=0, max_steps=3, show_progress=False)


def test_specs() -> None:
    assert parse_kiwi_spec("kiwi:static") == "static"
    assert parse_kiwi_spec("kiwi:mini:roberta") == "mini:roberta"
    assert parse_kiwi_spec("klue/roberta-base") is None
    assert parse_kiwi_transformer("static") is None
    assert parse_kiwi_transformer("small") == ("small", "bert")
    with pytest.raises(ModelError, match=r"kiwi:static or kiwi:SIZE\[:ARCH\]") as e:
        parse_kiwi_spec("kiwi:huge")
    assert "\n" not in str(e.value)


def test_rare_morphemes_weigh_more() -> None:
    idf = row_idf([[1, 2], [1, 3], [1]], size=5)
    assert idf[1] < idf[2] == idf[3] < idf[4]  # unseen rows get the largest weight


def test_cong_projection_keeps_neighbours() -> None:
    small = projected_cong(64)
    big = projected_cong(384)
    assert small.shape[1] == 64 and big.shape[1] == 384
    full = projected_cong(256)
    np.testing.assert_allclose(big[:50] @ big[100], full[:50] @ full[100], atol=1e-4)


def test_static_weights_start_from_idf(tiny_models) -> None:
    model = SentenceTransformer(str(tiny_models.kiwi_static()), trust_remote_code=True)
    module = model[0]
    common, rare = module.vocab.encode(["발표했다", "해상풍력"])  # 발표 is in many fixture texts
    weight = torch.exp(module.log_weight.weight.squeeze(1)).detach().numpy()
    assert weight[common[0]] < weight[rare[0]]


@pytest.mark.slow
def test_the_stages_run_on_kiwi_bases(tmp_path, sts_pairs, news_qa) -> None:
    sts = train_sts(tmp_path / "sts", base_model="kiwi:static", train_data=sts_pairs, args=QUICK)
    assert sts.metrics["hyperparameters"]["learning_rate"] == 1e-3
    types = [m["type"] for m in json.loads((sts.model_dir / "modules.json").read_text())]
    assert types == ["lc_klue.models.kiwi_static.KiwiStaticEmbedding"]
    mrc = train_mrc(
        tmp_path / "mrc", model=sts.model_dir, train_data=news_qa, eval_questions=20, args=QUICK
    )
    assert mrc.metrics["after"]["hit@10"] > 0.5
    tiny = train_sts(tmp_path / "tiny", base_model="kiwi:tiny", train_data=sts_pairs, args=QUICK)
    types = [m["type"] for m in json.loads((tiny.model_dir / "modules.json").read_text())]
    assert types[0] == "lc_klue.models.kiwi_transformer.KiwiTransformer"
    assert tiny.metrics["hyperparameters"]["learning_rate"] == 3e-4
