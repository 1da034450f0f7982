from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, BaseMessage

from lc_klue.chain import SYSTEM_PROMPT, build_rag_chain, format_answer
from lc_klue.chain.prompts import NO_DOCUMENTS_ANSWER, cited_numbers
from lc_klue.errors import RetrievalError

QUESTION = "해상 풍력 단지 조성에 들어가는 총 사업비는 얼마인가?"


class PromptRecorder(BaseCallbackHandler):
    """Keeps the messages every chat-model call received."""

    def __init__(self) -> None:
        self.calls: list[list[BaseMessage]] = []

    def on_chat_model_start(self, serialized: Any, messages: list[list[BaseMessage]], **kw: Any):
        self.calls.extend(messages)


def test_chain_answers_with_the_model_and_returns_the_retrieved_sources(dense_retriever):
    llm = FakeListChatModel(responses=["총 사업비는 1조 2천억 원입니다 [1]."])
    recorder = PromptRecorder()
    result = build_rag_chain(dense_retriever, llm).invoke(
        {"question": f"  {QUESTION} "}, config={"callbacks": [recorder]}
    )
    expected = dense_retriever.invoke(QUESTION)
    assert set(result) == {"question", "answer", "sources"}
    assert result["question"] == QUESTION
    assert result["answer"] == "총 사업비는 1조 2천억 원입니다 [1]."
    assert [d.page_content for d in result["sources"]] == [d.page_content for d in expected]
    assert all({"title", "context_id"} <= set(d.metadata) for d in result["sources"])
    assert cited_numbers(result["answer"], len(result["sources"])) == [1]

    (messages,) = recorder.calls
    system, human = messages
    assert system.content == SYSTEM_PROMPT
    for i, doc in enumerate(result["sources"], start=1):
        block = f"[{i}] (제목: {doc.metadata['title']})\n{doc.page_content}"
        assert block in human.content
    assert human.content.rstrip().endswith(f"질문: {QUESTION}\n답변:")


def test_stream_gives_sources_before_the_answer_in_pieces(dense_retriever):
    answer = "기장군 앞바다에 짓습니다 [2]."
    llm = GenericFakeChatModel(messages=iter([AIMessage(answer)]))
    chunks = list(build_rag_chain(dense_retriever, llm).stream(QUESTION))
    assert chunks[0]["question"] == QUESTION
    assert len(chunks[0]["sources"]) == 3
    pieces = [c["answer"] for c in chunks[1:]]
    assert len(pieces) > 3
    assert "".join(pieces) == answer


async def test_astream_and_ainvoke(dense_retriever):
    llm = GenericFakeChatModel(messages=iter([AIMessage("첫 답 [1]"), AIMessage("둘째 답 [3]")]))
    chain = build_rag_chain(dense_retriever, llm)
    pieces = [c["answer"] async for c in chain.astream(QUESTION) if "answer" in c]
    assert "".join(pieces) == "첫 답 [1]"
    result = await chain.ainvoke(QUESTION)
    assert result["answer"] == "둘째 답 [3]" and len(result["sources"]) == 3


def test_batch_answers_each_question_with_its_own_sources(dense_retriever):
    questions = [QUESTION, "부산시는 무엇을 발표했나?", "새 버스 노선은 언제부터 운행되나?"]
    llm = FakeListChatModel(responses=["답 [1]"])
    chain = build_rag_chain(dense_retriever, llm)
    results = chain.batch(questions)
    assert [r["question"] for r in results] == questions
    for r, q in zip(results, questions, strict=True):
        assert r["answer"] == "답 [1]"
        assert r["sources"] == dense_retriever.invoke(q)
    with pytest.raises(RetrievalError):
        chain.batch([QUESTION, " "])
    mixed = chain.batch([QUESTION, " "], return_exceptions=True)
    assert mixed[0]["answer"] == "답 [1]" and isinstance(mixed[1], RetrievalError)


@pytest.mark.parametrize("bad", ["", "   ", {"question": " \n"}, {"query": "무엇?"}, 3])
def test_empty_or_malformed_question_is_a_clear_error(dense_retriever, bad):
    chain = build_rag_chain(dense_retriever, FakeListChatModel(responses=["x"]))
    with pytest.raises(RetrievalError, match="question"):
        chain.invoke(bad)


def test_nothing_retrieved_says_so_without_calling_the_model(empty_retriever):
    recorder = PromptRecorder()
    chain = build_rag_chain(empty_retriever, FakeListChatModel(responses=["지어낸 답"]))
    result = chain.invoke(QUESTION, config={"callbacks": [recorder]})
    assert result == {"question": QUESTION, "sources": [], "answer": NO_DOCUMENTS_ANSWER}
    assert recorder.calls == []
    extractive = build_rag_chain(empty_retriever).invoke(QUESTION)
    assert extractive["answer"] == NO_DOCUMENTS_ANSWER
    assert format_answer(extractive) == f"답변: {NO_DOCUMENTS_ANSWER}"


def test_format_answer_lists_numbered_sources_with_titles_and_scores(dense_retriever):
    docs = dense_retriever.invoke(QUESTION)
    docs[0].metadata["relevance_score"] = 0.8766
    docs[1].metadata["rrf_score"] = 0.0325
    text = format_answer({"question": QUESTION, "answer": "답 [1]", "sources": docs})
    lines = text.splitlines()
    assert lines[0] == "답변: 답 [1]"
    assert lines.pop(1) == f"근거: [1] {docs[0].metadata['title']}"  # what the answer cites
    assert lines[2] == "출처:"
    assert lines[3] == f"[1] {docs[0].metadata['title']} (score 0.8766)"
    assert lines[5] == f"[2] {docs[1].metadata['title']} (rrf 0.0325)"
    assert lines[7] == f"[3] {docs[2].metadata['title']}"
    for i, doc in enumerate(docs):
        snippet = lines[4 + 2 * i]
        assert snippet.startswith("    ") and len(snippet) <= 4 + 81
        assert " ".join(doc.page_content.split()).startswith(snippet.strip().rstrip("…"))
    assert len(lines) == 3 + 2 * len(docs)
