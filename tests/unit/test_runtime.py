"""Runtime rules: device, dtype, and the local-path-versus-hub rule with fast, clear errors."""

import time
from pathlib import Path

import pytest
import torch

from lc_klue.errors import ModelError
from lc_klue.runtime import (
    device_problem,
    load_error,
    local_model_dir,
    looks_local,
    pick_device,
    precision_kwargs,
    quiet_output,
    resolve_model_source,
    set_dtype,
)


def test_device_defaults_to_cpu_without_accelerator() -> None:
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("an accelerator is present")
    assert pick_device() == "cpu"
    assert precision_kwargs("cpu") == {}
    with pytest.raises(ModelError, match="CUDA is not available"):
        pick_device("cuda")
    with pytest.raises(ModelError, match="unknown device"):
        pick_device("gpu")


def test_dtype_is_kept_float32_on_cpu() -> None:
    layer = torch.nn.Linear(2, 2)
    set_dtype(layer, "bfloat16", "cpu")
    assert layer.weight.dtype == torch.float32
    with pytest.raises(ModelError, match="unknown dtype"):
        set_dtype(layer, "int4", "cpu")


def test_what_looks_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    for text in ("./m", "../m", "~/m", "/abs/m", "a/b/c", "models/nope", "models", Path("x")):
        assert looks_local(text), text
    for text in ("klue/roberta-base", "bert-base-uncased", "nope/model", ""):
        assert not looks_local(text), text


def test_missing_local_paths_fail_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "file.txt").write_text("x")
    start = time.perf_counter()
    with pytest.raises(ModelError, match=r"models/nope: cross-encoder not found"):
        resolve_model_source("models/nope", "cross-encoder")
    with pytest.raises(ModelError, match="not a model directory"):
        resolve_model_source("file.txt")
    with pytest.raises(ModelError, match="empty"):
        resolve_model_source("  ")
    assert resolve_model_source("models") == "models"
    assert time.perf_counter() - start < 1.0


def test_uncached_hub_id_offline_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(
        ModelError, match=r"'klue/roberta-small': no such local directory, and .*HF_HUB_OFFLINE"
    ):
        resolve_model_source("klue/roberta-small", "cross-encoder")
    assert time.perf_counter() - start < 1.0


def test_unreachable_hub_fails_after_one_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the hub variables unset, a hub id that cannot be reached is one clear line."""
    import huggingface_hub

    calls = []

    def unreachable(self: object, repo_id: str, **kwargs: object) -> None:
        calls.append(repo_id)
        raise ConnectionError("Name or service not known")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    with pytest.raises(ModelError, match=r"cannot reach the Hugging Face hub.*offline"):
        resolve_model_source("klue/roberta-base")
    assert calls == ["klue/roberta-base"]


def test_load_error_is_one_line() -> None:
    err = load_error("cross-encoder", "m", ValueError("bad config\nmore detail"))
    assert str(err) == (
        "cannot load cross-encoder 'm' (ValueError: bad config). Offline? Use a local model "
        "directory."
    )


def test_local_model_dir_tells_local_from_hub(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    assert local_model_dir("models") == Path("models")
    assert local_model_dir("klue/roberta-base") is None
    assert local_model_dir("scratch:small") is None
    with pytest.raises(ModelError, match=r"^models/nope: reranker not found$"):
        local_model_dir("models/nope", "reranker")


def test_quiet_output_hides_every_bar_and_the_libraries_warnings(
    tiny_models, capfd, caplog
) -> None:
    """``--no-progress``: no bar (ours, tqdm's, transformers'), no LOAD REPORT; restored after."""
    import logging

    from tqdm import tqdm

    from training.models import make_cross_encoder

    def reports() -> list[str]:
        found = [r.getMessage() for r in caplog.records if "LOAD REPORT" in r.getMessage()]
        caplog.clear()
        return found

    base = tiny_models.base("bert")
    capfd.readouterr()
    caplog.clear()
    make_cross_encoder(base, max_length=32, device="cpu")  # a new head: transformers reports it
    assert "Loading weights" in capfd.readouterr().err and reports()
    with quiet_output():
        list(tqdm(range(3), desc="our own bar", disable=False))
        make_cross_encoder(base, max_length=32, device="cpu")
        logging.getLogger("lc_klue.test").warning("our own warning")
    err = capfd.readouterr().err
    assert "our own warning" in caplog.text
    assert "our own bar" not in err and "Loading weights" not in err and not reports()
    list(tqdm(range(3), desc="bar after"))
    make_cross_encoder(base, max_length=32, device="cpu")
    assert "bar after" in capfd.readouterr().err and reports()


def test_e5_small_is_named_with_its_licence() -> None:
    from lc_klue.runtime import local_model_dir, model_origin

    assert model_origin("e5-small") == (
        "the pretrained base e5-small (intfloat/multilingual-e5-small, MIT licence)"
    )
    assert local_model_dir("e5-small") is None  # a name, not a path: never "not found"


def test_a_cuda_index_the_machine_lacks_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert device_problem("cuda:1") is None and device_problem("cuda") is None
    assert device_problem("cuda:2") == "this machine has 2 CUDA device(s): cuda:0 to cuda:1"
    assert device_problem("cpu") is None and "unknown device" in str(device_problem("gpu:0"))
