"""How often the offline answer holds the gold answer: the extractive answerer's sentence,
judged against MRC answers (a question counts when its answer sentence contains one of the
gold answer texts, whitespace ignored)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from tqdm.auto import tqdm

from lc_klue.errors import DataError


def _squeeze(text: str) -> str:
    return "".join(text.split())


def answer_contains_gold(
    answerer: Any,
    questions: Sequence[str],
    sources: Sequence[Sequence[Document]],
    gold_answers: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """The share of ``questions`` whose extractive answer (``answerer.candidates``' best
    sentence over ``sources``) contains a gold answer text; also the share whose sources hold
    one at all (the ceiling) and the answers' mean length in characters."""
    if not questions or not len(questions) == len(sources) == len(gold_answers):
        raise DataError("answer evaluation needs questions with sources and gold answers each")
    contains = ceiling = chars = 0
    top = getattr(answerer, "top_passages", None)
    for question, docs, golds in zip(questions, sources, gold_answers, strict=True):
        wanted = [_squeeze(g) for g in golds if g.strip()]
        ranked = answerer.candidates(question, docs)
        text = _squeeze(ranked[0].text) if ranked else ""
        chars += len(ranked[0].text) if ranked else 0
        contains += any(g in text for g in wanted)
        pool = _squeeze(" ".join(d.page_content for d in list(docs)[:top]))
        ceiling += any(g in pool for g in wanted)
    n = len(questions)
    return {
        "questions": n,
        "answer_contains_gold": contains / n,
        "sources_contain_gold": ceiling / n,
        "mean_answer_chars": chars / n,
    }


def evaluate_answers(
    retriever: BaseRetriever,
    answerer: Any,
    questions: Sequence[str],
    gold_answers: Sequence[Sequence[str]],
    batch_size: int = 256,
    show_progress: bool = False,
) -> dict[str, Any]:
    """:func:`answer_contains_gold` with the sources ``retriever`` finds (in batches)."""
    questions = list(questions)
    sources: list[list[Document]] = []
    chunks = range(0, len(questions), batch_size)
    for lo in tqdm(chunks, desc="answers", disable=not show_progress, unit="batch"):
        sources += retriever.batch(questions[lo : lo + batch_size])
    return answer_contains_gold(answerer, questions, sources, gold_answers)
