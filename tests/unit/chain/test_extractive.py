import re

import pytest
from langchain_core.documents import Document

from lc_klue.chain import ExtractiveAnswerer, build_rag_chain, format_answer
from lc_klue.chain.extractive import as_cross_encoder
from lc_klue.errors import ModelError
from lc_klue.text import split_sentences

CITED = re.compile(r"^(?P<sentence>.+) \[(?P<n>\d+)\]$", re.S)


def split_answer(answer: str) -> tuple[str, int]:
    match = CITED.match(answer)
    assert match, f"answer without a trailing citation: {answer!r}"
    return match["sentence"], int(match["n"])


def test_extractive_chain_with_a_cross_encoder_answers_with_a_retrieved_sentence(
    dense_retriever, tiny_models
):
    question = "해상 풍력 단지의 설비 용량은 얼마인가?"
    chain = build_rag_chain(dense_retriever, reranker=tiny_models.cross_encoder())
    result = chain.invoke(question)
    sources = result["sources"]
    assert len(sources) == 3
    sentence, n = split_answer(result["answer"])
    assert 1 <= n <= 3
    assert sentence in split_sentences(sources[n - 1].page_content)
    printed = format_answer(result)
    cited = f"근거: [{n}] {sources[n - 1].metadata['title']}"  # the answer cites its source
    assert printed.startswith(f"답변: {result['answer']}\n{cited}\n\n출처:\n[1] ")
    assert f"[3] {sources[2].metadata['title']}" in printed


def test_cross_encoder_scores_pick_the_best_sentence(tiny_models, news_docs):
    model = tiny_models.cross_encoder()
    answerer = ExtractiveAnswerer(model=model, top_passages=2)
    question = "총 사업비는 얼마인가?"
    ranked = answerer.candidates(question, news_docs[:4])
    sentences = [s for d in news_docs[:2] for s in split_sentences(d.page_content)]
    assert sorted(c.text for c in ranked) == sorted(sentences)  # only the top 2 passages
    direct = model.predict([(question, c.text) for c in ranked])
    assert [c.score for c in ranked] == pytest.approx([float(s) for s in direct], abs=1e-5)
    assert ranked[0].score == max(c.score for c in ranked)
    assert answerer.answer(question, news_docs[:4]) == f"{ranked[0].text} [{ranked[0].source}]"


def test_lexical_answer_finds_the_answer_sentence_on_the_news_corpus(news_qa):
    """Without a cross-encoder, morpheme overlap picks the sentence holding the gold answer."""
    answerer = ExtractiveAnswerer(top_passages=1)
    rows = news_qa.select(range(0, len(news_qa), 4))
    hits = 0
    for row in rows:
        doc = Document(row["context"], metadata={"title": row["title"]})
        sentence, n = split_answer(answerer.answer(row["question"], [doc]))
        assert n == 1 and sentence in row["context"]
        hits += any(a in sentence for a in row["answers"]["text"])
    assert hits / len(rows) >= 0.7  # a random sentence of the passage: ~0.26


def test_extractive_answer_from_stream(dense_retriever):
    chunks = list(build_rag_chain(dense_retriever).stream("부산시는 무엇을 발표했나?"))
    (answer,) = [c["answer"] for c in chunks if "answer" in c]
    sentence, n = split_answer(answer)
    sources = next(c["sources"] for c in chunks if "sources" in c)
    assert sentence in sources[n - 1].page_content


def test_reranker_argument_accepts_models_paths_and_rejects_others(tiny_models):
    model = tiny_models.cross_encoder()
    assert as_cross_encoder(model) is model
    assert as_cross_encoder(None) is None
    loaded = as_cross_encoder(str(tiny_models.cross_encoder_dir()))
    assert type(loaded) is type(model)
    with pytest.raises(ModelError, match="reranker"):
        as_cross_encoder(42)
    with pytest.raises(ModelError):
        as_cross_encoder("/no/such/cross-encoder")


def test_rrf_fusion_moves_between_lexical_and_cross_encoder_rankings(tiny_models, news_docs):
    model = tiny_models.cross_encoder()
    question = "해상 풍력 단지의 설비 용량은 얼마인가?"
    docs = news_docs[:2]

    def order(**kwargs):
        return [
            c.text for c in ExtractiveAnswerer(top_passages=2, **kwargs).candidates(question, docs)
        ]

    lexical, cross = order(), order(model=model)
    assert lexical != cross  # the untrained cross-encoder disagrees with the lexical ranking
    assert order(model=model, fusion="rrf", fusion_weight=0.0) == lexical
    assert order(model=model, fusion="rrf", fusion_weight=1.0) == cross
    fused = ExtractiveAnswerer(model=model, top_passages=2, fusion="rrf").candidates(question, docs)
    assert all(0 < c.score <= 2 / 61 for c in fused)
