"""The RAG chain (LCEL): question → retriever → numbered Korean prompt → chat model → answer.

``build_rag_chain(retriever, llm)`` returns a runnable whose output is
``{"question", "sources", "answer"}``; ``.stream()`` yields the question and the sources first,
then the answer piece by piece. Without a language model the answer is extractive (the best
sentence of the top passages, see :mod:`lc_klue.chain.extractive`), so it works offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import BasePromptTemplate
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableConfig,
    RunnableLambda,
    RunnablePassthrough,
    RunnableSerializable,
)
from pydantic import ConfigDict

from lc_klue.chain.extractive import ExtractiveAnswerer, as_cross_encoder
from lc_klue.chain.llm import load_chat_model
from lc_klue.chain.prompts import (
    NO_DOCUMENTS_ANSWER,
    RAG_PROMPT,
    cited_numbers,
    format_contexts,
)
from lc_klue.errors import RetrievalError


def question_input(value: str | Mapping[str, Any]) -> dict[str, str]:
    """``"질문"`` or ``{"question": "질문"}`` → ``{"question": "질문"}``; empty → RetrievalError."""
    if isinstance(value, Mapping):
        if "question" not in value:
            raise RetrievalError(f"question: input has no 'question' key (keys: {list(value)})")
        value = value["question"]
    if not isinstance(value, str):
        raise RetrievalError(f"question: expected a string, got {type(value).__name__}")
    question = value.strip()
    if not question:
        raise RetrievalError("question: empty question")
    return {"question": question}


class RetrieveSources(RunnableSerializable[dict[str, Any], dict[str, Any]]):
    """``{"question"}`` → ``{"question", "sources"}``; ``batch`` calls the retriever's ``batch``
    once, so a batched retriever encodes and reranks all the questions together."""

    retriever: Runnable[str, list[Document]]
    """The retriever whose documents become the sources."""

    model_config = ConfigDict(arbitrary_types_allowed=True, use_attribute_docstrings=True)

    def invoke(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Retrieve the sources of one question."""
        return self._call_with_config(self._retrieve, input, config, run_type="chain")

    async def ainvoke(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Async :meth:`invoke`."""
        return await self._acall_with_config(self._aretrieve, input, config, run_type="chain")

    def batch(
        self,
        inputs: list[dict[str, Any]],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Retrieve the sources of many questions with one ``retriever.batch`` call."""
        if not inputs:
            return []
        return self._batch_with_config(
            self._retrieve_many,
            inputs,
            config,
            return_exceptions=return_exceptions,
            run_type="chain",
        )

    # The runner passes ``config`` with this run's callbacks as the parent of the retriever's.
    def _retrieve(
        self,
        state: dict[str, Any],
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> dict[str, Any]:
        return {**state, "sources": list(self.retriever.invoke(state["question"], config))}

    async def _aretrieve(
        self,
        state: dict[str, Any],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> dict[str, Any]:
        docs = await self.retriever.ainvoke(state["question"], config)
        return {**state, "sources": list(docs)}

    def _retrieve_many(
        self,
        states: list[dict[str, Any]],
        run_manager: list[CallbackManagerForChainRun],
        config: list[RunnableConfig],
    ) -> list[Exception | dict[str, Any]]:
        found = self.retriever.batch([s["question"] for s in states], config)
        return [{**s, "sources": list(d)} for s, d in zip(states, found, strict=True)]


def prompt_inputs(state: Mapping[str, Any]) -> dict[str, str]:
    """The prompt variables: the question and the numbered contexts of the sources."""
    return {"question": state["question"], "context": format_contexts(state["sources"])}


def build_rag_chain(
    retriever: Runnable[str, list[Document]],
    llm: BaseChatModel | str | Path | None = None,
    *,
    reranker: Any = None,
    prompt: BasePromptTemplate = RAG_PROMPT,
    top_passages: int = 3,
    fusion: Literal["none", "rrf"] = "none",
) -> Runnable[str | Mapping[str, Any], dict[str, Any]]:
    """Compose retriever, prompt and chat model into one runnable.

    Args:
        retriever: any LangChain retriever (or runnable ``str → list[Document]``); its
            documents become the numbered contexts and the ``sources`` of the output.
        llm: a chat model, or a spec for :func:`lc_klue.chain.llm.load_chat_model`; None →
            extractive answers.
        reranker: cross-encoder (model, path or ``CrossEncoderReranker``) scoring sentences for
            the extractive answer; None → lexical overlap. Not used with an ``llm``.
        prompt: chat prompt with ``context`` and ``question`` variables.
        top_passages: passages the extractive answer takes sentences from.
        fusion: ``rrf`` fuses the reranker's sentence rank with lexical overlap (a weak
            reranker cannot override clear lexical evidence); see :class:`ExtractiveAnswerer`.

    With no retrieved documents the answer is :data:`NO_DOCUMENTS_ANSWER` (the model is not
    called). An empty question raises :class:`RetrievalError`.
    """
    model = load_chat_model(llm)
    if model is None:
        answerer: Runnable[Any, str] = ExtractiveAnswerer(
            model=as_cross_encoder(reranker), top_passages=top_passages, fusion=fusion
        )
    else:
        answerer = RunnableLambda(prompt_inputs) | prompt | model | StrOutputParser()
    answer = RunnableBranch(
        (lambda state: not state["sources"], RunnableLambda(lambda _: NO_DOCUMENTS_ANSWER)),
        answerer,
    )
    chain = (
        RunnableLambda(question_input)
        | RetrieveSources(retriever=retriever)
        | RunnablePassthrough.assign(answer=answer)
    )
    return chain.with_config(run_name="lc_klue_rag")


SCORE_KEYS = {
    "relevance_score": "score",
    "rrf_score": "rrf",
    "fusion_score": "score",
    "score": "score",
}
"""Metadata keys holding a retrieval score, best first, with the label printed for each."""


def source_score(doc: Document) -> tuple[str, float] | None:
    """``(label, value)`` of the document's score: the reranker's ``relevance_score``, else a
    hybrid ``rrf_score``, else a fusion's ``fusion_score``, else a first-stage ``score``; None
    when it has none."""
    for key, label in SCORE_KEYS.items():
        value = doc.metadata.get(key)
        if value is not None:
            return label, float(value)
    return None


def source_label(doc: Document) -> str:
    """How a source is cited: its title (else its id), and where it is in its document
    (``글자 120–480``) when it is a chunk of one."""
    meta = doc.metadata
    title = str(meta.get("title") or meta.get("context_id") or "(제목 없음)")
    if isinstance(meta.get("start"), int) and isinstance(meta.get("end"), int):
        title += f", 글자 {meta['start']}–{meta['end']}"
    return title


def citations(answer: str, sources: Sequence[Document]) -> list[dict[str, Any]]:
    """The sources an answer cites (``[n]``), in first-cited order: number, label, id."""
    return [
        {
            "number": n,
            "label": source_label(sources[n - 1]),
            "context_id": sources[n - 1].metadata.get("context_id"),
        }
        for n in cited_numbers(answer, len(sources))
    ]


def format_citations(answer: str, sources: Sequence[Document]) -> str:
    """``근거: [1] title; [3] title`` for the sources an answer cites ("" when none)."""
    cited = citations(answer, sources)
    if not cited:
        return ""
    return "근거: " + "; ".join(f"[{c['number']}] {c['label']}" for c in cited)


def format_sources(sources: Sequence[Document], snippet_chars: int = 80) -> str:
    """Two lines per source: ``[n] title (score 0.8731)``, then the indented passage start."""
    lines = []
    for i, doc in enumerate(sources, start=1):
        title = source_label(doc)
        score = source_score(doc)
        text = " ".join(doc.page_content.split())
        if len(text) > snippet_chars:
            text = text[:snippet_chars] + "…"
        score_part = f" ({score[0]} {score[1]:.4f})" if score is not None else ""
        lines += [f"[{i}] {title}{score_part}", f"    {text}"]
    return "\n".join(lines)


def format_answer(result: Mapping[str, Any]) -> str:
    """The chain's output for a terminal: the answer, then the numbered sources with scores."""
    parts = [f"답변: {result['answer']}"]
    cited = format_citations(result["answer"], result.get("sources") or [])
    if cited:
        parts[0] += "\n" + cited
    if result.get("sources"):
        parts.append("출처:\n" + format_sources(result["sources"]))
    return "\n\n".join(parts)
