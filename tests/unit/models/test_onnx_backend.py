"""The onnx and int8 backends: the same API and (nearly) the same scores as torch float32."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from lc_klue.errors import ModelError
from lc_klue.models import KlueEmbeddings, load_cross_encoder
from lc_klue.models.onnx_backend import OnnxRunner, check_backend, exportable, use_backend
from tests.kit import TinyModelFactory
from tests.unit.models.tiny_reranker import input_sensitive_cross_encoder

QUESTIONS = ["부산 해상 풍력 단지는 언제 착공하나?", "전기차 배터리 공장은 어디에 짓나?"]


@pytest.fixture(scope="module")
def pairs(news_qa) -> list[tuple[str, str]]:
    contexts = sorted(set(news_qa["context"]))
    return [(q, c) for q in [*QUESTIONS, *news_qa["question"][:2]] for c in contexts[:12]]


def test_check_backend_options() -> None:
    assert check_backend(None) == "torch"
    assert check_backend("int8", "cpu") == "int8"
    with pytest.raises(ModelError, match="unknown backend 'int4'"):
        check_backend("int4")
    # the GPU path stays torch (fp16/bf16); the ONNX backends are CPU-only, said in one line
    assert check_backend("torch", "cuda") == "torch"
    with pytest.raises(ModelError, match="runs on the CPU only"):
        check_backend("int8", "cuda:0")


@pytest.fixture(scope="module")
def sensitive_dir(tiny_models: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory):
    """The input-sensitive tiny cross-encoder saved (one ONNX export serves every test)."""
    out = tmp_path_factory.mktemp("sensitive-ce")
    input_sensitive_cross_encoder(tiny_models.cross_encoder_dir()).save_pretrained(str(out))
    return out


def test_cross_encoder_backends_keep_the_api(sensitive_dir, pairs) -> None:
    directory = sensitive_dir
    reference = input_sensitive_cross_encoder(directory)
    assert exportable(reference)
    expected = reference.predict(pairs, batch_size=16)
    for backend in ("onnx", "int8"):
        model = use_backend(input_sensitive_cross_encoder(directory), backend)
        assert isinstance(model[0].model, OnnxRunner)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # none from our code
            scores = model.predict(pairs, batch_size=16)
        assert isinstance(scores, np.ndarray) and scores.shape == expected.shape
        one = model.predict([pairs[0]])  # a batch of one, a length never exported
        assert one.shape == (1,)
        if backend == "onnx":
            np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-2)
        else:  # int8: nearly the same rankings of each question's candidates
            per_query = [
                spearmanr(a, b).statistic
                for a, b in zip(scores.reshape(4, -1), expected.reshape(4, -1), strict=True)
            ]
            assert min(per_query) > 0.9, per_query
            assert not np.allclose(scores, expected)  # really quantised
    assert use_backend(model, "int8") is model  # already on it
    with pytest.raises(ModelError, match="already runs on backend 'int8'"):
        use_backend(model, "onnx")


def test_load_cross_encoder_with_backend(sensitive_dir, pairs) -> None:
    directory = sensitive_dir
    plain = load_cross_encoder(directory, device="cpu", dtype="bfloat16")  # CPU keeps fp32
    assert next(plain.model.parameters()).dtype.is_floating_point
    assert str(next(plain.model.parameters()).dtype) == "torch.float32"
    fast = load_cross_encoder(directory, device="cpu", backend="onnx")
    np.testing.assert_allclose(fast.predict(pairs[:5]), plain.predict(pairs[:5]), atol=1e-4)
    with pytest.raises(ModelError, match="unknown backend"):
        load_cross_encoder(directory, device="cpu", backend="fp8")


def test_bi_encoder_int8_embeddings(tiny_models: TinyModelFactory, news_qa) -> None:
    directory = str(tiny_models.bi_encoder_dir())
    texts = [*QUESTIONS, *sorted(set(news_qa["context"]))[:6]]
    plain = KlueEmbeddings(model_name_or_path=directory, device="cpu")
    fast = KlueEmbeddings(model_name_or_path=directory, device="cpu", backend="int8")
    a = np.asarray(plain.embed_documents(texts))
    b = np.asarray(fast.embed_documents(texts))
    assert a.shape == b.shape
    cosine = np.sum(a * b, axis=1)  # both normalised
    assert cosine.min() > 0.98, cosine
    assert len(fast.embed_query(QUESTIONS[0])) == a.shape[1]


def test_a_model_without_a_transformer_is_one_line() -> None:
    # e.g. kiwi:static, a bag of morpheme vectors: nothing to export, one clear line
    static_like = torch.nn.Sequential(torch.nn.EmbeddingBag(10, 4))
    with pytest.raises(ModelError, match="EmbeddingBag has no transformers model to export"):
        use_backend(static_like, "int8", "cpu")
    assert use_backend(static_like, "torch", "cpu") is static_like
    assert not exportable(static_like)
