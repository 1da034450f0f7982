"""What a stage leaves behind: the model card, the atomic model directory, the hub upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.errors import ModelError
from lc_klue.runtime import SCRATCH_KEY, model_origin
from training.outputs import finalize, model_card, push_to_hub

METRICS = {
    "stage": "sts",
    "base_model": "scratch:tiny",
    "loss": "CosineSimilarityLoss",
    "data": {"train": "fixture: 144 pairs"},
    "hyperparameters": {"epochs": 1},
    "before": {"test_spearman": 0.1234},
    "after": {"test_spearman": 0.8765},
    "wall_time_s": 1.0,
}


def test_model_card_names_data_loss_and_metrics() -> None:
    card = model_card(METRICS)
    assert "CosineSimilarityLoss" in card and "fixture: 144 pairs" in card
    assert "| test_spearman | 0.1234 | 0.8765 |" in card


def test_finalize_writes_a_complete_directory_and_drops_checkpoints(tmp_path, tiny_models):
    model = tiny_models.bi_encoder()
    work = tmp_path / "out.ckpt"
    (work / "checkpoint-1").mkdir(parents=True)
    out = finalize(model, tmp_path / "out", dict(METRICS), work)
    assert json.loads((out / "metrics.json").read_text())["after"]["test_spearman"] == 0.8765
    assert "0.8765" in (out / "README.md").read_text()
    assert (out / "modules.json").exists() and (out / "model.safetensors").exists()
    assert not work.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_finalize_failure_leaves_the_old_model_untouched(tmp_path):
    class Broken:
        def save_pretrained(self, path: str, create_model_card: bool = False) -> None:
            (Path(path) / "half.bin").write_text("x")
            raise OSError("disk full")

    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    with pytest.raises(OSError, match="disk full"):
        finalize(Broken(), out, dict(METRICS))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]


def test_push_to_hub_without_token_is_a_clear_error(monkeypatch, tmp_path) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ModelError, match="no Hugging Face token"):
        push_to_hub(tmp_path, "someone/model")


def test_push_to_hub_offline_is_a_clear_error(tmp_path) -> None:
    # tests/conftest.py sets HF_HUB_OFFLINE=1, so nothing is sent anywhere
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        push_to_hub(tmp_path, "someone/model", token="hf_not_a_real_token")


def test_model_origin_follows_the_stages_to_their_start(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    def model(name: str, stage: str | None, base: str | None, scratch: str | None = None) -> None:
        (tmp_path / name).mkdir()
        if stage:
            metrics = {"stage": stage, "base_model": base}
            (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
        config = {SCRATCH_KEY: scratch} if scratch else {}
        (tmp_path / name / "config.json").write_text(json.dumps(config))

    model("base", None, None, scratch="scratch:mini:bert")
    model("sts", "sts", "base", scratch="scratch:mini:bert")
    model("mrc", "mrc", "sts", scratch="scratch:mini:bert")
    model("hub-sts", "sts", "klue/roberta-base")
    model("spec-sts", "sts", "scratch:small")
    model("plain", None, None)
    assert model_origin("mrc") == (
        "trained by `lc-klue train sts → mrc` from from-scratch weights (`base`, "
        "scratch:mini:bert; no pretrained weights)"
    )
    assert (
        model_origin("hub-sts")
        == "trained by `lc-klue train sts` from the hub model `klue/roberta-base`"
    )
    assert model_origin("spec-sts") == (
        "trained by `lc-klue train sts` from a from-scratch base (scratch:small; no pretrained "
        "weights)"
    )
    assert model_origin("plain") == "the local model `plain`"
    assert model_origin("klue/roberta-small") == "the hub model `klue/roberta-small`"
