"""Korean text with Kiwi: content morphemes and sentences with their offsets."""

from lc_klue.text import (
    base_tag,
    char_ngrams,
    kiwi_tokenize,
    sentence_spans,
    split_sentences,
    with_bigrams,
)


def test_kiwi_tokenize_keeps_content_morphemes() -> None:
    tokens = kiwi_tokenize("대한민국의 수도는 서울이다. 2024년 OpenAI가 새 모델을 만들었다.")
    for kept in ("대한민국", "수도", "서울", "2024", "년", "openai", "모델", "만들"):
        assert kept in tokens
    for dropped in ("의", "는", "가", "을", ".", "었", "다"):
        assert dropped not in tokens
    texts = ["부산시는 해상 풍력 단지를 조성한다.", "기준금리를 동결했다."]
    assert kiwi_tokenize(texts) == [kiwi_tokenize(t) for t in texts]
    assert kiwi_tokenize([]) == []
    assert base_tag("VV-R") == "VV" and base_tag("NNG") == "NNG"


def test_split_sentences_handles_numbers_quotes_and_missing_periods() -> None:
    text = '요금은 1,500원이다 시민들은 "좋다"고 말했다. 노선은 3.5km다!  '
    assert split_sentences(text) == [
        "요금은 1,500원이다",
        '시민들은 "좋다"고 말했다.',
        "노선은 3.5km다!",
    ]
    assert split_sentences("  ") == []
    assert split_sentences([text, "", "한 문장."]) == [split_sentences(text), [], ["한 문장."]]


def test_sentence_spans_point_into_the_text() -> None:
    text = "  서울시는 새 노선을 발표했다.\n\n노선은 3월부터 운행된다"
    spans = sentence_spans([text])[0]
    assert [s for s, _, _ in spans] == ["서울시는 새 노선을 발표했다.", "노선은 3월부터 운행된다"]
    assert all(text[a:b] == s for s, a, b in spans)
    assert sentence_spans([]) == [] and sentence_spans([" "]) == [[]]


def test_surface_ngrams() -> None:
    assert char_ngrams("부산시, 풍력!") == ["부산", "산시", "풍력"]
    assert char_ngrams("a") == ["a"]
    assert with_bigrams(["가", "나", "다"]) == ["가", "나", "다", "가\u241f나", "나\u241f다"]


def test_word_analysis_reads_each_distinct_word_alone(monkeypatch) -> None:
    import lc_klue.text as text

    texts = ["부산시는 해상 풍력 단지를 조성한다.", "", "해상 풍력 단지를 늘린다", "부산시는"]
    alone = {w: kiwi_tokenize(w) for t in texts for w in t.split()}
    expected = [[m for w in t.split() for m in alone[w]] for t in texts]
    monkeypatch.setattr(text, "WORD_BATCH", 2)  # the cache carries across batches
    assert kiwi_tokenize(texts, analysis="word") == expected
    assert kiwi_tokenize(texts[0], analysis="word") == expected[0]
    assert kiwi_tokenize([], analysis="word") == []


def test_an_unknown_analysis_is_one_line() -> None:
    import pytest

    from lc_klue.errors import DataError

    with pytest.raises(DataError, match="unknown Kiwi analysis 'fast'; choose from context, word"):
        kiwi_tokenize("서울", analysis="fast")
