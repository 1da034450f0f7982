"""KlueEmbeddings: LangChain's standard suites, normalisation, prompts, fingerprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from lc_klue.errors import ModelError
from lc_klue.models import KlueEmbeddings
from lc_klue.models.embeddings import embedding_fingerprint, fingerprint_mismatch
from tests.kit import TinyModelFactory

TEXTS = ["서울의 날씨는 맑다.", "부산시는 해상 풍력 단지를 조성한다.", "기준금리를 동결했다.", "a"]


class _TinyModelParams:
    model_dir: Path

    @pytest.fixture(autouse=True)
    def _tiny(self, tiny_models: TinyModelFactory) -> None:
        type(self).model_dir = tiny_models.bi_encoder_dir()

    @property
    def embeddings_class(self) -> type[KlueEmbeddings]:
        return KlueEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model_name_or_path": str(self.model_dir), "device": "cpu"}


class TestStandardUnit(_TinyModelParams, EmbeddingsUnitTests):
    """LangChain's standard unit tests for embeddings."""


class TestStandardIntegration(_TinyModelParams, EmbeddingsIntegrationTests):
    """LangChain's standard integration tests, run on the tiny local model."""


@pytest.fixture(scope="module")
def emb(tiny_models: TinyModelFactory) -> KlueEmbeddings:
    return KlueEmbeddings(model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu")


def test_normalised_and_batched(emb: KlueEmbeddings, tiny_models: TinyModelFactory) -> None:
    docs = np.asarray(emb.embed_documents(TEXTS))
    assert docs.shape == (len(TEXTS), emb.dimension)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    small = KlueEmbeddings(
        model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu", batch_size=1
    )
    np.testing.assert_allclose(np.asarray(small.embed_documents(TEXTS)), docs, atol=1e-5)
    raw = KlueEmbeddings(
        model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu", normalize=False
    )
    raw_docs = np.asarray(raw.embed_documents(TEXTS))
    assert not np.allclose(np.linalg.norm(raw_docs, axis=1), 1.0)
    np.testing.assert_allclose(
        raw_docs / np.linalg.norm(raw_docs, axis=1, keepdims=True), docs, atol=1e-5
    )
    assert emb.embed_documents([]) == []


def test_queries_in_one_call_match_single(emb: KlueEmbeddings) -> None:
    many = emb.embed_queries(TEXTS)
    single = np.asarray([emb.embed_query(t) for t in TEXTS])
    np.testing.assert_allclose(many, single, atol=1e-5)


def test_model_prompts_are_used(tiny_models: TinyModelFactory, tmp_path: Path) -> None:
    model = tiny_models.bi_encoder()
    model.prompts = {"query": "질문: ", "document": "문서: "}
    model.save(str(tmp_path / "prompted"))
    emb = KlueEmbeddings(model_name_or_path=str(tmp_path / "prompted"), device="cpu")
    text = TEXTS[1]
    expect_q = model.encode(["질문: " + text], normalize_embeddings=True)[0]
    expect_d = model.encode(["문서: " + text], normalize_embeddings=True)[0]
    np.testing.assert_allclose(emb.embed_query(text), expect_q, atol=1e-5)
    np.testing.assert_allclose(emb.embed_documents([text])[0], expect_d, atol=1e-5)
    assert not np.allclose(expect_q, expect_d)
    custom = KlueEmbeddings(
        model_name_or_path=str(tmp_path / "prompted"), device="cpu", prompts={"query": "Q: "}
    )
    expect_custom = model.encode(["Q: " + text], normalize_embeddings=True)[0]
    np.testing.assert_allclose(custom.embed_query(text), expect_custom, atol=1e-5)


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        KlueEmbeddings(model_name_or_path=str(tmp_path / "nope"))


def test_from_model_wraps_a_loaded_model(tiny_models: TinyModelFactory, emb) -> None:
    model = tiny_models.bi_encoder()
    wrapped = KlueEmbeddings.from_model(model, name="fresh")
    assert wrapped.client is model
    assert wrapped.model_name_or_path == "fresh"
    assert len(wrapped.embed_query("서울")) == emb.dimension


def test_fingerprint_identifies_the_model(emb: KlueEmbeddings, tiny_models) -> None:
    again = KlueEmbeddings(model_name_or_path=str(tiny_models.bi_encoder_dir()), device="cpu")
    assert fingerprint_mismatch(emb.fingerprint(), embedding_fingerprint(again)) is None
    other = KlueEmbeddings.from_model(tiny_models.bi_encoder("roberta"))
    reason = fingerprint_mismatch(emb.fingerprint(), other.fingerprint())
    assert reason is not None and "probe" in reason
    # a model of another dimension is reported as such
    saved = dict(emb.fingerprint(), dimension=emb.dimension + 1)
    assert "dimension" in fingerprint_mismatch(saved, emb.fingerprint())


async def test_async_matches_sync(emb: KlueEmbeddings) -> None:
    np.testing.assert_allclose(await emb.aembed_query(TEXTS[0]), emb.embed_query(TEXTS[0]))
    np.testing.assert_allclose(
        await emb.aembed_documents(TEXTS), emb.embed_documents(TEXTS), atol=1e-6
    )


def test_the_progress_bar_counts_texts(
    emb: KlueEmbeddings, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [f"{t} {i}" for i in range(5) for t in TEXTS]  # several steps of the bar
    shown = emb.model_copy(update={"show_progress": True, "batch_size": 1})
    with_bar = np.asarray(shown.embed_documents(texts))
    np.testing.assert_allclose(with_bar, np.asarray(emb.embed_documents(texts)), atol=1e-5)
    err = capsys.readouterr().err
    assert "Embedding" in err and f"{len(texts)}/{len(texts)}" in err and "text/s" in err
