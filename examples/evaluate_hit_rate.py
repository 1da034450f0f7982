"""Hit rate of any LangChain retriever, the book's way, through the retriever interface.

    python examples/evaluate_hit_rate.py DATA [MRC_MODEL]

DATA: an MRC file (SQuAD-style JSON or JSONL/parquet/CSV with question and context).
Compares BM25 over Kiwi morphemes with the dense retriever of MRC_MODEL when given.
"""

from __future__ import annotations

import sys

from lc_klue import KiwiBM25Retriever, KlueEmbeddings, KlueFAISS, evaluate_retriever, load_mrc
from lc_klue.data import sample_questions, unique_contexts


def main(data: str, model: str | None = None) -> None:
    questions = sample_questions(load_mrc(data), 1000, seed=42)  # the book's protocol:
    corpus = unique_contexts(questions)  # the sampled questions' own passages
    retrievers = {"bm25-kiwi": KiwiBM25Retriever.from_mrc(corpus, k=10)}
    if model:
        store = KlueFAISS.from_mrc(corpus, KlueEmbeddings(model_name_or_path=model))
        retrievers["dense"] = store.as_retriever(k=10)
    for name, retriever in retrievers.items():
        result = evaluate_retriever(
            retriever,
            list(questions["question"]),
            list(questions["context"]),
            corpus=corpus,
            name=name,
        )
        print(name, {k: round(v, 3) for k, v in result.metrics.items()})


if __name__ == "__main__":
    main(*sys.argv[1:3])
