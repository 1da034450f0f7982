"""The benchmark's questions: test-title questions per protocol, the train-title questions the
fusion weights are tuned on, and the optional paraphrase set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lc_klue.bench.settings import DataSettings
from lc_klue.data import (
    load_mrc,
    load_passages,
    paraphrase_retrieval,
    sample_questions,
    split_by_title,
    split_dev,
)
from lc_klue.data.gold import gold_ids
from lc_klue.evaluation import EvalSet, build_eval_set


@dataclass
class BenchData:
    """The questions and search spaces of a run."""

    questions: int
    """Questions in the data file."""
    titles: int
    """Distinct titles in the data file."""
    test_questions: int
    """Questions of the test titles."""
    train_questions: list[str]
    """The sampled train-title (or dev-title) questions fusion is tuned on."""
    train_gold: list[str]
    """Their gold passage ids in the corpus."""
    corpus_passages: int
    """Passages of the corpus."""
    eval_sets: dict[str, EvalSet]
    """Test questions and search space per protocol."""
    paraphrase: EvalSet | None = None
    """The paraphrase retrieval set, when asked for."""


def load_data(d: DataSettings) -> BenchData:
    """Test-title questions per protocol, and the train-title questions fusion is tuned on."""
    ds = load_mrc(d.data)
    parts = split_by_title(ds, d.test_size, seed=d.seed)
    corpus = load_passages(d.corpus if d.corpus is not None else d.data)
    eval_sets = {
        p: build_eval_set(
            parts["test"], p, d.n_questions, d.seed, corpus=corpus if p == "full" else None
        )
        for p in d.protocols
    }
    tune_from = (
        split_dev(parts["train"], d.dev_size, d.seed)["dev"] if d.dev_size else parts["train"]
    )
    train = sample_questions(tune_from, d.tune_questions, seed=d.seed)
    paraphrase = None
    if d.paraphrase is not None:  # all its queries, over all its distinct second sentences
        queries, passages = paraphrase_retrieval(d.paraphrase, d.paraphrase_min_score)
        es = build_eval_set(queries, "full", None, corpus=passages)
        paraphrase = dataclasses.replace(es, protocol="paraphrase")
    return BenchData(
        questions=len(ds),
        titles=len(set(ds["title"])),
        test_questions=len(parts["test"]),
        train_questions=list(train["question"]),
        train_gold=gold_ids(list(train["context"]), corpus),
        corpus_passages=len(corpus),
        eval_sets=eval_sets,
        paraphrase=paraphrase,
    )


def data_record(data: BenchData) -> dict[str, Any]:
    """The ``data`` of a result: question, title and passage counts."""
    return {
        "questions": data.questions,
        "titles": data.titles,
        "test_questions": data.test_questions,
        "train_questions": data.questions - data.test_questions,
        "corpus_passages": data.corpus_passages,
        "sampled_questions": len(next(iter(data.eval_sets.values())).questions),
        **{f"{p}_search_space": len(es.passages) for p, es in data.eval_sets.items()},
    }
