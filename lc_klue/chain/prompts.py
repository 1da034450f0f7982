"""The Korean RAG prompt: numbered contexts, answer only from them, cite like [1], [2]."""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate

SYSTEM_PROMPT = (
    "당신은 한국어 뉴스 질의응답 도우미입니다. 아래에 번호가 붙은 문맥만 근거로 질문에 "
    "한국어로 간결하게 답하세요. 답의 근거가 된 문맥의 번호를 [1], [2]처럼 문장 끝에 "
    "표시하세요. 문맥에 답이 없으면 추측하지 말고 '주어진 문서에서 답을 찾을 수 없습니다.'"
    "라고 답하세요."
)
"""System instruction: answer only from the numbered contexts and cite them as [n]."""

HUMAN_PROMPT = "문맥:\n{context}\n\n질문: {question}\n답변:"
"""User turn: the numbered contexts, then the question."""

RAG_PROMPT = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", HUMAN_PROMPT)])
"""The chat prompt of the RAG chain; its variables are ``context`` and ``question``."""

NO_DOCUMENTS_ANSWER = "검색된 문서가 없어 답을 찾지 못했습니다."
"""The answer given when retrieval returns nothing (the language model is not called)."""

_CITATION = re.compile(r"\[(\d+)\]")


def format_contexts(docs: Sequence[Document]) -> str:
    """Number the passages ``[1] (제목: title) text`` in retrieval order, one block each."""
    blocks = []
    for i, doc in enumerate(docs, start=1):
        title = doc.metadata.get("title")
        head = f"[{i}] (제목: {title})" if title else f"[{i}]"
        if doc.metadata.get("source") and doc.metadata.get("source") != title:
            head += f" (출처: {doc.metadata['source']})"
        blocks.append(f"{head}\n{doc.page_content.strip()}")
    return "\n\n".join(blocks)


def cited_numbers(answer: str, n_sources: int) -> list[int]:
    """The context numbers an answer cites (``[2]`` → 2), in first-cited order, within range."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if 1 <= number <= n_sources and number not in seen:
            seen.append(number)
    return seen
