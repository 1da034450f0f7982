"""``lc-klue chat``: a Korean Q&A chatbot over an index built by ``lc-klue index``.

Interactive (a ``질문>`` prompt) or one-shot with ``--question``. Retrieves with the index's
saved pipeline (unless ``--first-stage`` picks one), shows the answer (streamed), the sources
it cites, then the numbered sources with their titles and scores. Without ``--llm`` the answer
is the best sentence of the top passages, so it works offline. A ``--cross-encoder`` is checked
on the index's passages first; near chance it is left out, with a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Literal, TextIO

from lc_klue.commands import (
    add_device,
    add_no_progress,
    add_retrieval,
    check_index_dir,
    check_model_flags,
    non_empty,
    open_index_from,
)

EXIT_WORDS = frozenset({"exit", "quit", ":q", "종료", "끝"})


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``chat`` subcommand."""
    p = sub.add_parser(
        "chat",
        help="ask questions about indexed passages (Korean RAG chatbot)",
        description="Answer questions from an index built by 'lc-klue index': retrieve, "
        "optionally rerank with a cross-encoder, and answer with a chat model (--llm) or, "
        "offline, with the best sentence of the top passages.",
    )
    p.add_argument("index_dir", help="directory written by 'lc-klue index'")
    p.add_argument(
        "--question",
        "-q",
        action="append",
        type=non_empty("question"),
        default=None,
        help="answer this question and exit (repeatable); without it: interactive prompt",
    )
    p.add_argument(
        "--llm",
        default=None,
        metavar="SPEC",
        help="chat model: 'provider:model' (e.g. openai:gpt-4o-mini, needs the "
        "provider package) or a local Hugging Face causal LM directory / hf:NAME; "
        "default: extractive answers",
    )
    add_retrieval(p, 5, "the index's passages")
    add_device(p)
    p.add_argument(
        "--json", action="store_true", help="print each result as one JSON line instead of text"
    )
    add_no_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check every argument (before anything is loaded), load the retriever and models, then
    answer ``--question``s or run the prompt loop."""
    check_model_flags(args, cross_encoder="cross-encoder", embedding_model="embedding model")
    check_index_dir(args.index_dir)
    from lc_klue.chain.llm import check_chat_model

    check_chat_model(args.llm)
    from lc_klue.chain import build_rag_chain, load_chat_model

    retriever, reranker, fusion = load_models(args)
    chain = build_rag_chain(retriever, load_chat_model(args.llm), reranker=reranker, fusion=fusion)
    if args.question:
        for i, question in enumerate(args.question):
            if not args.json:  # each answer under its question (JSON lines carry it)
                sys.stdout.write(("\n" if i else "") + f"질문: {question}\n")
            ask(chain, question, sys.stdout, as_json=args.json)
        return 0
    return repl(chain, sys.stdin, sys.stdout, as_json=args.json)


def load_models(args: argparse.Namespace) -> tuple[Any, Any, Literal["none", "rrf"]]:
    """The retriever of ``args.index_dir`` (:func:`~lc_klue.retrieval.index.open_index`: its
    saved pipeline, with the flags' overrides), and the ``--cross-encoder`` it reranks with
    and that one's fusion rule (None and ``none`` when it was left out near chance), shared by
    reranking and the extractive answer."""
    from lc_klue.retrieval import RerankingRetriever

    retriever = open_index_from(args, args.index_dir)
    if args.cross_encoder is not None and isinstance(retriever, RerankingRetriever):
        compressor = retriever.base_compressor
        return retriever, compressor.model, compressor.fusion  # type: ignore[attr-defined]
    return retriever, None, "none"


def ask(chain: Any, question: str, out: TextIO, *, as_json: bool = False) -> dict[str, Any]:
    """Answer one question: stream the answer to ``out``, then list the sources."""
    from lc_klue.chain import format_citations, format_sources

    if as_json:
        answered: dict[str, Any] = chain.invoke(question)
        out.write(json.dumps(result_json(answered), ensure_ascii=False) + "\n")
        return answered
    result: dict[str, Any] = {"answer": ""}
    started = False
    for chunk in chain.stream(question):
        if "answer" in chunk:
            if not started:
                out.write("답변: ")
                started = True
            out.write(chunk["answer"])
            out.flush()
            result["answer"] += chunk["answer"]
        else:
            result |= chunk
    out.write("\n")
    cited = format_citations(result["answer"], result.get("sources") or [])
    if cited:
        out.write(cited + "\n")
    if result.get("sources"):
        out.write("\n출처:\n" + format_sources(result["sources"]) + "\n")
    out.flush()
    return result


def result_json(result: dict[str, Any]) -> dict[str, Any]:
    """The chain's output as JSON-ready data (sources: rank, title, context_id, score, text)."""
    from lc_klue.chain import citations, source_score

    sources = []
    for rank, doc in enumerate(result["sources"], start=1):
        score = source_score(doc)
        sources.append(
            {
                "rank": rank,
                "title": doc.metadata.get("title"),
                "context_id": doc.metadata.get("context_id"),
                "source": doc.metadata.get("source"),
                "start": doc.metadata.get("start"),
                "end": doc.metadata.get("end"),
                "score": score[1] if score else None,
                "text": doc.page_content,
            }
        )
    return {
        "question": result["question"],
        "answer": result["answer"],
        "citations": citations(result["answer"], result["sources"]),
        "sources": sources,
    }


def repl(chain: Any, inp: TextIO, out: TextIO, *, as_json: bool = False) -> int:
    """The prompt loop: one question per line; ``exit``/``종료`` or end of input leaves."""
    from lc_klue.errors import LcKlueError

    interactive = inp.isatty()
    if interactive:
        out.write("lc-klue chat: 질문을 입력하세요 (끝내려면 'exit' 또는 Ctrl-D).\n")
    while True:
        if interactive:
            try:
                line = input("질문> ")  # line editing and history on a terminal
            except EOFError:
                break
        else:
            line = inp.readline()
            if not line:
                break
        question = line.strip()
        if not question:
            continue
        if question.lower() in EXIT_WORDS:
            break
        try:
            ask(chain, question, out, as_json=as_json)
        except LcKlueError as e:
            print(f"오류: {e}", file=sys.stderr)
        if interactive:
            out.write("\n")
    return 0
