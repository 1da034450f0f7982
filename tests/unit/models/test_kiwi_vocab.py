"""Kiwi morphemes → model rows."""

from __future__ import annotations

from lc_klue.models.kiwi_vocab import KiwiVocab, stable_hash, token_key
from lc_klue.text import get_kiwi


def test_table_morphemes_keep_their_kiwi_id() -> None:
    vocab = KiwiVocab()
    token = get_kiwi().tokenize("축구")[0]
    assert vocab.row(token) == token.id < vocab.table_size


def test_unknown_forms_get_rows_of_their_own() -> None:
    # Kiwi gives every number one placeholder id; the vocabulary keeps them apart
    vocab = KiwiVocab()
    tokens = [t for t in get_kiwi().tokenize("1945년과 1950년") if t.tag == "SN"]
    assert len(tokens) == 2 and tokens[0].id == tokens[1].id < 64
    rows = [vocab.row(t) for t in tokens]
    assert rows[0] != rows[1] and all(r >= vocab.table_size for r in rows)
    # …and the same unknown form always lands on the same row
    again = next(t for t in get_kiwi().tokenize("1945년에") if t.tag == "SN")
    assert vocab.row(again) == rows[0]


def test_variants_outside_the_table_map_to_a_table_row() -> None:
    vocab = KiwiVocab()
    token = next(t for t in get_kiwi().tokenize("나는 학교에 간다") if t.form == "는")
    assert token.id >= vocab.table_size  # Kiwi's id of this variant has no vector
    assert vocab.row(token) < vocab.table_size


def test_content_only_keeps_content_morphemes() -> None:
    rows = KiwiVocab(content_only=True).encode(["축구 선수가 공을 찼다"])[0]
    everything = KiwiVocab().encode(["축구 선수가 공을 찼다"])[0]
    assert 0 < len(rows) < len(everything)
    assert KiwiVocab().encode(["", "   "]) == [[], []]


def test_hashes_are_stable_and_keys_normalised() -> None:
    assert stable_hash("축구/NNG") == stable_hash("축구/NNG") < 2**63
    assert token_key("Seoul", "SL") == "seoul/SL"
    assert token_key("먹", "VV-R") == "먹/VV"


def test_encode_keys_caches_analyses() -> None:
    vocab = KiwiVocab(content_only=True)
    first = vocab.encode_keys(["서울은 한국의 수도다", "부산"])
    assert vocab.encode_keys(["부산", "서울은 한국의 수도다"]) == first[::-1]
    rows, hashes, sentences = first[0]
    assert len(rows) == len(hashes) == len(sentences) > 0
    sentences = vocab.encode_keys(["첫 문장이다. 둘째 문장이다."])[0].sentences
    assert sentences[0] == 0 and sentences[-1] == 1 and sentences == sorted(sentences)


def test_a_batch_larger_than_the_cache_is_encoded_whole(monkeypatch) -> None:
    import lc_klue.models.kiwi_vocab as kiwi_vocab

    monkeypatch.setattr(kiwi_vocab, "CACHE_TEXTS", 2)
    vocab = KiwiVocab(content_only=True)
    texts = ["서울", "부산", "대구", "", "서울"]
    encoded = vocab.encode_keys(texts)
    assert encoded[0] == encoded[4] and encoded[3].rows == []
    assert [e.rows for e in encoded[:3]] == [vocab.encode([t])[0] for t in texts[:3]]
    assert len(vocab._cache) == 2
