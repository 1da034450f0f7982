"""Kiwi base models: specs, the static model's weights, and the stages on top of them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from sentence_transformers import SentenceTransformer

from lc_klue.errors import ModelError
from training.args import TrainingArgs
from training.kiwi import is_kiwi_static, row_idf
from training.mrc import train_mrc
from training.sts import train_sts

QUICK = TrainingArgs(epochs=1, batch_size=8, warmup_steps=0, max_steps=3, show_progress=False)


def test_specs() -> None:
    assert is_kiwi_static("kiwi:static")
    assert not is_kiwi_static("klue/roberta-base")
    with pytest.raises(ModelError, match=r"the Kiwi base is kiwi:static") as e:
        is_kiwi_static("kiwi:mini")
    assert "\n" not in str(e.value)


def test_rare_morphemes_weigh_more() -> None:
    idf = row_idf([[1, 2], [1, 3], [1]], size=5)
    assert idf[1] < idf[2] == idf[3] < idf[4]  # unseen rows get the largest weight


def test_static_weights_start_from_idf(tiny_models) -> None:
    model = SentenceTransformer(str(tiny_models.kiwi_static()), trust_remote_code=True)
    module = model[0]
    common, rare = module.vocab.encode(["발표했다", "해상풍력"])  # 발표 is in many fixture texts
    weight = torch.exp(module.log_weight.weight.squeeze(1)).detach().numpy()
    assert weight[common[0]] < weight[rare[0]]


@pytest.mark.slow
def test_the_stages_run_on_kiwi_bases(tmp_path, sts_pairs, news_qa) -> None:
    sts = train_sts(tmp_path / "sts", "kiwi:static", args=replace(QUICK, train_data=sts_pairs))
    assert sts.metrics["hyperparameters"]["learning_rate"] == 1e-3
    types = [m["type"] for m in json.loads((sts.model_dir / "modules.json").read_text())]
    assert types == ["lc_klue.models.kiwi_static.KiwiStaticEmbedding"]
    mrc = train_mrc(
        tmp_path / "mrc", sts.model_dir, args=replace(QUICK, train_data=news_qa, eval_questions=20)
    )
    assert mrc.metrics["after"]["hit@10"] > 0.5
