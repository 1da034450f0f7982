"""The evaluator: known rankings give known numbers, protocols, bad input."""

from __future__ import annotations

import time
from typing import Any

import pytest
from datasets import Dataset
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from lc_klue.data import load_passages
from lc_klue.data.gold import chunk_gold_ids, corpus_ids_by_text, gold_ids
from lc_klue.errors import DataError, RetrievalError
from lc_klue.evaluation import (
    EvalSet,
    EvalSettings,
    build_eval_set,
    evaluate,
    evaluate_retriever,
)
from lc_klue.evaluation.evaluator import WARMUP_QUERIES, _judged_id


class TableRetriever(BaseRetriever):
    """Returns a fixed ranking per question and counts how it was called."""

    rankings: dict[str, list[str]]
    calls: list[int] = Field(default_factory=list)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content=t) for t in self.rankings[query]]

    def batch(self, inputs: list[Any], config: Any = None, **kwargs: Any) -> list[Any]:
        self.calls.append(len(inputs))
        return super().batch(inputs, config, **kwargs)


def test_known_rankings_give_known_metrics() -> None:
    rankings = {"q1": ["A", "B", "C"], "q2": ["B", "A", "C"], "q3": ["C", "B", "D"]}
    retriever = TableRetriever(rankings=rankings, calls=[])
    result = evaluate_retriever(
        retriever,
        ["q1", "q2", "q3"],
        ["A", "A", "A"],
        settings=EvalSettings(
            ks=(1, 2, 3), k_rank=3, batch_size=2, latency_queries=2, show_progress=False
        ),
    )
    assert result.metrics["hit@1"] == pytest.approx(1 / 3)
    assert result.metrics["hit@2"] == pytest.approx(2 / 3)
    assert result.metrics["hit@3"] == pytest.approx(2 / 3)
    assert result.metrics["mrr@3"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert result.ranks == [1, 2, 0]
    # one untimed warm-up batch, then the questions through .batch in chunks of batch_size
    assert retriever.calls == [3, 2, 1]
    assert result.latency_queries == 2
    assert result.latency_p50_ms is not None
    assert result.latency_p95_ms >= result.latency_p50_ms
    assert result.n_queries == 3 and result.total_s > 0 and result.max_returned == 3
    assert "ranks" not in result.to_dict() and result.to_dict(with_ranks=True)["ranks"] == [1, 2, 0]


class SlowStartRetriever(TableRetriever):
    """A retriever whose first ``batch`` and first ``invoke`` pay a start-up cost (a model
    loaded on first use)."""

    started: set[str] = Field(default_factory=set)

    def _start(self, how: str) -> None:
        if how not in self.started:
            self.started.add(how)
            time.sleep(START_UP_S)

    def batch(self, inputs: list[Any], config: Any = None, **kwargs: Any) -> list[Any]:
        self._start("batch")
        return super().batch(inputs, config, **kwargs)

    def invoke(self, input: str, config: Any = None, **kwargs: Any) -> list[Document]:
        self._start("invoke")
        return super().invoke(input, config, **kwargs)


START_UP_S = 1.5


def test_the_first_calls_start_up_cost_is_not_timed() -> None:
    rankings = {f"q{i}": ["A", "B"] for i in range(6)}
    retriever = SlowStartRetriever(rankings=rankings, calls=[])
    result = evaluate_retriever(
        retriever,
        list(rankings),
        ["A"] * 6,
        settings=EvalSettings(batch_size=4, latency_queries=3, show_progress=False),
    )
    assert retriever.calls == [WARMUP_QUERIES, 4, 2]  # the warm-up batch, then the timed ones
    assert result.total_s < START_UP_S / 2
    assert result.latency_p95_ms is not None and result.latency_p95_ms < START_UP_S * 1000 / 2
    assert result.metrics["hit@1"] == 1.0


def test_short_rankings_are_reported() -> None:
    retriever = TableRetriever(rankings={"q": ["A"]}, calls=[])
    quiet = EvalSettings(latency_queries=0, show_progress=False)
    result = evaluate_retriever(retriever, ["q"], ["A"], settings=quiet)
    assert result.metrics["hit@10"] == 1.0
    assert result.latency_p50_ms is None
    assert result.warnings and "at most 1" in result.warnings[0]


def test_a_document_is_judged_by_its_id_or_its_text() -> None:
    corpus = Dataset.from_dict({"context_id": ["d1"], "title": ["t"], "context": ["가 나"]})
    other_ids = Document(page_content="가 나", metadata={"context_id": "question-7"})
    assert _judged_id(other_ids, "d1", corpus_ids_by_text(corpus)) == "d1"  # same text: gold
    chunk = Document(page_content="가", metadata={"context_id": "d1"})
    assert _judged_id(chunk, "d1", corpus_ids_by_text(corpus)) == "d1"  # same id: gold
    wrong = Document(page_content="다", metadata={"context_id": "d2"})
    assert _judged_id(wrong, "d1", None) == "d2"


def test_gold_ids_use_the_corpus_ids_and_ignore_whitespace() -> None:
    corpus = Dataset.from_dict(
        {"context_id": ["d1", "d2"], "title": ["t", "t"], "context": ["가 나 다", "라 마"]}
    )
    assert gold_ids(["가  나 다\n", "라 마"], corpus) == ["d1", "d2"]
    with pytest.raises(DataError, match="1 of 2 gold context"):
        gold_ids(["가 나 다", "없는 문단"], corpus)


@pytest.mark.parametrize(
    ("questions", "gold", "kwargs", "message"),
    [
        ([], [], {}, "no questions"),
        (["q"], ["A", "B"], {}, "1 questions but 2 gold"),
        (["  "], ["A"], {}, "empty question"),
        (["q"], ["A"], {"ks": (0, 1)}, "positive integer"),
        (["q"], ["A"], {"ks": (1,), "k_rank": -1}, "positive integer"),
        (["q"], ["A"], {"ks": ()}, "ks is empty"),
        (["q"], ["A"], {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_input_raises_data_error(
    questions: list[str], gold: list[str], kwargs: dict[str, Any], message: str
) -> None:
    retriever = TableRetriever(rankings={"q": ["A"]}, calls=[])
    with pytest.raises(DataError, match=message):
        settings = EvalSettings(show_progress=False, **kwargs)
        evaluate_retriever(retriever, questions, gold, settings=settings)
    assert retriever.calls == []  # rejected before any retrieval


def test_k_larger_than_corpus_counts_and_missing_gold_fails(news_qa: Dataset) -> None:
    es = build_eval_set(news_qa, "book", n_questions=4, seed=0)
    gold = dict(zip(es.questions, es.gold_contexts, strict=True))
    retriever = TableRetriever(rankings={q: [gold[q]] for q in es.questions}, calls=[])
    settings = EvalSettings(ks=(1, 500), latency_queries=0, show_progress=False)
    result = evaluate(retriever, es, settings=settings)
    assert result.metrics["hit@500"] == 1.0  # k beyond the corpus: the corpus is all there is
    retriever = TableRetriever(rankings={}, calls=[])
    other = EvalSet(es.questions, ["not a passage"] * 4, es.passages, "full")
    with pytest.raises(DataError, match="not in the corpus"):
        evaluate(retriever, other, settings=EvalSettings(ks=(1,), k_rank=1, show_progress=False))


def test_retriever_failure_is_a_retrieval_error() -> None:
    retriever = TableRetriever(rankings={}, calls=[])  # KeyError inside the retriever
    with pytest.raises(RetrievalError, match="failed on a batch"):
        evaluate_retriever(retriever, ["q"], ["A"], settings=EvalSettings(show_progress=False))


def test_protocols(news_qa: Dataset, tmp_path: Any) -> None:
    book = build_eval_set(news_qa, "book", n_questions=10, seed=42)
    full = build_eval_set(news_qa, "full", n_questions=10, seed=42)
    assert book.questions == full.questions  # the same sampled questions
    assert len(book.passages) == len(set(book.gold_contexts)) < len(full.passages)
    assert len(full.passages) == len(set(news_qa["context"]))
    assert full.describe() == {"protocol": "full", "questions": 10, "passages": 32}
    assert [d.metadata["context_id"] for d in full.documents()] == list(full.passages["context_id"])
    # a user corpus with its own ids and an extra distractor becomes the search space
    path = tmp_path / "corpus.jsonl"
    rows = [{"id": f"p{i}", "context": c} for i, c in enumerate(sorted(set(news_qa["context"])))]
    rows.append({"id": "extra", "context": "관련 없는 방해 문단입니다."})
    Dataset.from_list(rows).to_json(path, force_ascii=False)
    mine = build_eval_set(news_qa, "full", n_questions=10, corpus=load_passages(path))
    assert len(mine.passages) == 33 and all(g.startswith("p") for g in mine.gold_ids())
    with pytest.raises(DataError, match="protocol 'full'"):
        build_eval_set(news_qa, "book", corpus=load_passages(path))
    with pytest.raises(DataError, match="protocol must be"):
        build_eval_set(news_qa, "nope")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no questions"):
        build_eval_set(news_qa.select([]), "full")


def test_bm25_over_the_news_corpus(news_qa: Dataset) -> None:
    from lc_klue.retrieval.bm25 import KiwiBM25Retriever

    es = build_eval_set(news_qa, "full", n_questions=None)
    bm25 = KiwiBM25Retriever(docs=es.documents(), k=10)
    result = evaluate(bm25, es, settings=EvalSettings(latency_queries=3, show_progress=False))
    gold = es.gold_ids()
    expected = []
    for question, g in zip(es.questions, gold, strict=True):
        ids = [d.metadata["context_id"] for d in bm25.invoke(question)]
        expected.append(ids.index(g) + 1 if g in ids else 0)
    assert result.ranks == expected  # batch results agree with one-by-one retrieval
    assert result.n_queries == 96 and result.max_returned == 10
    assert result.metrics["hit@10"] > 0.9  # news questions share words with their passage
    assert result.metrics["hit@1"] <= result.metrics["hit@5"] <= result.metrics["hit@10"]


def test_chunk_gold_ids_map_a_whole_document_onto_its_chunks() -> None:
    """A gold passage that the corpus holds only in chunks maps to the chunk holding its
    answer where the passage has it, else to the chunk sharing the most text; a passage the
    corpus holds whole keeps its id, as gold_ids gives it; an unrelated one maps to None."""
    first = "부산시는 2027년까지 해상 풍력 단지를 조성한다. 총 사업비는 1조 2천억 원이다. "
    second = "서울시는 새 버스 노선을 발표했다. 요금은 1조 2천억 원이 아닌 1,500원, 3월에 연다."
    document = first + second
    other = "대구시는 올해 도서관 세 곳을 새로 연다고 밝혔다. 개관은 9월이다."
    corpus = Dataset.from_dict(
        {
            "context_id": ["doc:0-48", "doc:48-95", "other"],
            "context": [first.strip(), second, other],
        }
    )
    late = document.rindex("1조 2천억 원")  # the answer's second place: in the second chunk
    answers = [
        {"text": ["1조 2천억 원"], "answer_start": [document.index("1조 2천억 원")]},
        {"text": ["1조 2천억 원"], "answer_start": [late]},
        {"text": ["1,500원"], "answer_start": [-1]},  # no place given: the chunk holding it
        {"text": [], "answer_start": []},  # no answer: the chunk sharing the most text
        {"text": [], "answer_start": []},
        {"text": [], "answer_start": []},
    ]
    golds = [document, document, document, document + " 끝.", other, "전혀 다른 이야기의 문단."]
    ids = chunk_gold_ids(golds, answers, corpus)
    assert ids == ["doc:0-48", "doc:48-95", "doc:48-95", "doc:48-95", "other", None]
    assert ids[4] == gold_ids([other], corpus)[0]
