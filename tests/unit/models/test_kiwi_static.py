"""``kiwi:static``: CoNg semantics plus a lexical sketch, as a sentence-transformers model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from lc_klue.errors import ModelError
from lc_klue.models import KlueEmbeddings
from lc_klue.retrieval.faiss_store import KlueFAISS


@pytest.fixture(scope="module")
def static_dir(tiny_models):
    return tiny_models.kiwi_static()


def _cos(model: SentenceTransformer, a: str, b: str) -> float:
    x, y = model.encode([a, b], normalize_embeddings=True)
    return float(x @ y)


def test_it_reloads_as_an_ordinary_sentence_transformer(static_dir) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    assert model.get_embedding_dimension() == 256 + 2048
    types = [m["type"] for m in json.loads((static_dir / "modules.json").read_text())]
    assert types == ["lc_klue.models.kiwi_static.KiwiStaticEmbedding"]


def test_shared_words_and_related_words_raise_the_similarity(static_dir) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    query = "손흥민은 어느 축구 클럽에서 뛰나?"
    assert _cos(model, query, "손흥민은 토트넘 축구 클럽에서 뛴다") > _cos(
        model, query, "부산시는 새 버스 노선을 발표했다"
    )
    # no word in common, related meaning (CoNg): 축구 (football) vs 야구 (baseball)
    assert _cos(model, "축구 경기", "야구 시합") > _cos(model, "축구 경기", "주식 시장")


def test_save_and_reload_give_the_same_vectors(static_dir, tmp_path) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    texts = ["서울의 인구는 얼마인가?", "1945년 8월 15일"]
    model.save(str(tmp_path / "again"))
    again = SentenceTransformer(str(tmp_path / "again"), trust_remote_code=True, device="cpu")
    np.testing.assert_allclose(model.encode(texts), again.encode(texts), atol=1e-6)


def test_it_works_in_klue_embeddings_and_faiss(static_dir, news_qa) -> None:
    embeddings = KlueEmbeddings(model_name_or_path=str(static_dir), device="cpu")
    store = KlueFAISS.from_mrc(news_qa, embeddings)
    question = news_qa[0]["question"]
    top = store.similarity_search(question, k=3)
    assert news_qa[0]["context"] in [d.page_content for d in top]


def test_a_model_of_another_kiwipiepy_model_is_refused(static_dir, tmp_path) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    model.save(str(tmp_path / "m"))
    config = tmp_path / "m" / "kiwi_static_config.json"
    config.write_text(config.read_text().replace('"0.24.0"', '"0.1.0"'))
    with pytest.raises(ModelError, match=r"built with kiwipiepy-model 0\.1\.0"):
        KlueEmbeddings(model_name_or_path=str(tmp_path / "m"), device="cpu")


def test_a_repeated_morpheme_counts_with_saturation(static_dir) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    module = model[0]
    features = module.preprocess(["축구 축구 축구 축구 야구"])
    counts = features["term_frequency"].tolist()
    assert len(counts) == 2  # each distinct morpheme once
    k = module.settings.tf_saturation
    assert sorted(counts) == pytest.approx(sorted([1.0, 4 * (k + 1) / (4 + k)]))


def _reference_embedding(module, text: str) -> np.ndarray:
    """One text's embedding written out plainly, morpheme by morpheme (the module docstring's
    definition), to check the batched, vectorised preprocess and forward against."""
    rows, hashes, _ = module.vocab.encode_keys([text])[0]
    settings = module.settings
    counts: dict[int, list] = {}
    for row, key in zip(rows, hashes, strict=True):
        counts.setdefault(key, [row, 0])[1] += 1
    semantic = np.zeros(settings.dim)
    lexical = np.zeros(settings.lexical_dim)
    weights = np.exp(module.log_weight.weight.detach().numpy()[:, 0])
    vectors = module.semantic.weight.detach().numpy()
    k = settings.tf_saturation
    for key, (row, tf) in counts.items():
        w = weights[row] * (tf * (k + 1) / (tf + k))
        semantic += w * vectors[row]
        rng = np.random.default_rng([key, settings.sketch_seed])
        index = rng.integers(0, settings.lexical_dim, settings.lexical_nnz)
        sign = rng.integers(0, 2, settings.lexical_nnz) * 2 - 1
        np.add.at(lexical, index, w * sign / np.sqrt(settings.lexical_nnz))

    def unit(v: np.ndarray) -> np.ndarray:
        return v / max(np.linalg.norm(v), 1e-12)

    share = settings.lexical_share
    return np.concatenate([np.sqrt(1 - share) * unit(semantic), np.sqrt(share) * unit(lexical)])


def test_batched_embeddings_match_the_plain_definition(static_dir) -> None:
    model = SentenceTransformer(str(static_dir), trust_remote_code=True, device="cpu")
    texts = [
        "손흥민은 토트넘 축구 클럽에서 뛴다. 손흥민은 주장이다.",
        "",
        "1945년과 1950년 사이",
        "Seoul 서울 SEOUL seoul",
        "축구 축구 축구 야구",
    ]
    batched = model.encode(texts, batch_size=3, convert_to_numpy=True)
    for text, got in zip(texts, batched, strict=True):
        np.testing.assert_allclose(got, _reference_embedding(model[0], text), atol=1e-5)
