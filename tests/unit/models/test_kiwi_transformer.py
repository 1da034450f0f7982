"""``kiwi:SIZE``: a transformer over Kiwi morphemes with CoNg-initialised embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import CrossEncoder, SentenceTransformer

from lc_klue.models import KlueEmbeddings, load_cross_encoder
from lc_klue.models.kiwi_transformer import (
    PASSAGE,
    PASSAGE_MATCH,
    QUESTION,
    QUESTION_MATCH,
    KiwiTransformer,
)
from training.models import make_bi_encoder, make_cross_encoder


@pytest.fixture(scope="module")
def base(tiny_models):
    return tiny_models.kiwi_base()


def test_pairs_mark_the_morphemes_both_sides_share(base) -> None:
    module = KiwiTransformer.load(str(base), task="score")
    features = module.preprocess([("축구 선수는 누구?", "그 축구 선수는 손흥민이다.")])
    segments = features["token_type_ids"][0].tolist()
    assert segments[0] == QUESTION and segments[-1] == PASSAGE
    assert QUESTION_MATCH in segments and PASSAGE_MATCH in segments
    assert features["attention_mask"].sum() == len(segments)
    single = module.preprocess(["축구 선수"])
    assert set(single["token_type_ids"][0].tolist()) == {QUESTION}


def test_the_embeddings_start_from_cong(base) -> None:
    module = KiwiTransformer.load(str(base))
    table = module.auto_model.get_input_embeddings().weight.detach().numpy()
    rows = module.vocab.encode(["축구", "야구", "주식"])
    a, b, c = (table[r[0]] / np.linalg.norm(table[r[0]]) for r in rows)
    assert a @ b > a @ c  # football is nearer baseball than stocks, as in CoNg


def test_bi_encoder_and_cross_encoder_save_and_reload(base, tmp_path, news_qa) -> None:
    bi = make_bi_encoder(base, device="cpu", max_seq_length=64)
    bi.save(str(tmp_path / "bi"))
    emb = KlueEmbeddings(model_name_or_path=str(tmp_path / "bi"), device="cpu")
    vec = emb.embed_query("서울의 인구")
    assert len(vec) == bi.get_embedding_dimension()
    np.testing.assert_allclose(
        vec, bi.encode(["서울의 인구"], normalize_embeddings=True)[0], atol=1e-5
    )
    again = SentenceTransformer(str(tmp_path / "bi"), trust_remote_code=True, device="cpu")
    assert again.max_seq_length == 64

    ce = make_cross_encoder(tmp_path / "bi", device="cpu")  # a reranker from the bi-encoder
    assert isinstance(ce, CrossEncoder) and ce[0].task == "score"
    ce.save_pretrained(str(tmp_path / "ce"))
    loaded = load_cross_encoder(tmp_path / "ce", device="cpu")
    pairs = [(news_qa[0]["question"], news_qa[0]["context"])]
    np.testing.assert_allclose(ce.predict(pairs), loaded.predict(pairs), atol=1e-5)
