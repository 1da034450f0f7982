"""A KLUE news Q&A chatbot in LangChain: FAISS + BM25 → cross-encoder rerank → chat model.

    python examples/news_chatbot.py MRC_MODEL CROSS_ENCODER [DATA] [--llm openai:gpt-4o-mini]

MRC_MODEL / CROSS_ENCODER: directories written by ``lc-klue train mrc|cross-encoder`` or hub ids.
DATA: an MRC file (default: the bundled news corpus). Without ``--llm`` the answer is the best
sentence of the reranked passages (offline).
"""

from __future__ import annotations

import argparse

from lc_klue import (
    CrossEncoderReranker,
    KiwiBM25Retriever,
    KlueEmbeddings,
    KlueFAISS,
    build_first_stage,
    build_rag_chain,
    build_retriever,
    format_answer,
)
from lc_klue.resources import NEWS_QA


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mrc_model")
    p.add_argument("cross_encoder")
    p.add_argument("data", nargs="?", default=str(NEWS_QA))
    p.add_argument("--llm", default=None, help="provider:model or a local model directory")
    args = p.parse_args()

    embeddings = KlueEmbeddings(model_name_or_path=args.mrc_model)
    dense = KlueFAISS.from_mrc(args.data, embeddings)  # distinct passages, title/context_id
    bm25 = KiwiBM25Retriever.from_mrc(args.data)
    first = build_first_stage("hybrid", dense=dense, bm25=bm25, k=30)  # the book's 30 …
    reranker = CrossEncoderReranker(model=args.cross_encoder, top_n=10)
    retriever = build_retriever(first, reranker)  # … → 10: a ContextualCompressionRetriever
    chain = build_rag_chain(retriever, args.llm, reranker=reranker.model)

    while True:
        try:
            question = input("질문> ").strip()
        except EOFError:
            break
        if question in {"", "exit", "종료"}:
            break
        print(format_answer(chain.invoke(question)))


if __name__ == "__main__":
    main()
