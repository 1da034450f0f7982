"""Score fusion and lexical features over the bundled news corpus."""

from __future__ import annotations

import pytest
from datasets import Dataset
from langchain_core.documents import Document

from lc_klue.errors import DataError, RetrievalError
from lc_klue.evaluation import EvalSettings, build_eval_set, evaluate
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.fusion import FIRST_STAGE, FusionRetriever
from lc_klue.retrieval.lexical_features import LexicalFeatures


@pytest.fixture(scope="module")
def news_stack(news_qa: Dataset) -> tuple:
    es = build_eval_set(news_qa, "full", n_questions=None)
    docs = es.documents()
    return es, KiwiBM25Retriever(docs=docs, k=12), LexicalFeatures(docs, windows=(8,))


def test_first_stage_weight_reproduces_the_first_stage(news_stack: tuple) -> None:
    es, bm25, lexical = news_stack
    fusion = FusionRetriever(first_stage=bm25, scorers=[lexical], k=12)
    assert fusion.feature_names == (FIRST_STAGE, *lexical.names)
    q = es.questions[:6]
    plain = [[d.page_content for d in docs] for docs in bm25.batch(q)]
    fused = fusion.batch(q)
    assert [[d.page_content for d in docs] for docs in fused] == plain
    assert all("fusion_score" in d.metadata for docs in fused for d in docs)
    assert [d.page_content for d in fusion.invoke(q[0])] == plain[0]


def test_nested_fusion_uses_the_inner_score(news_stack: tuple) -> None:
    es, bm25, lexical = news_stack
    inner = FusionRetriever(first_stage=bm25, scorers=[lexical], weights={"bigram": 1.0}, k=8)
    outer = FusionRetriever(first_stage=inner, first_stage_score="fusion_score", k=5)
    q = es.questions[:4]
    expected = [[d.page_content for d in docs[:5]] for docs in inner.batch(q)]
    assert [[d.page_content for d in docs] for docs in outer.batch(q)] == expected


def test_fit_never_lowers_the_tuning_objective(news_stack: tuple) -> None:
    es, bm25, lexical = news_stack
    fusion = FusionRetriever(first_stage=bm25, scorers=[lexical], k=10)
    report = fusion.fit(es.questions[:48], es.gold_ids()[:48])
    assert report["mrr@10_fused"] >= report["mrr@10_first_stage"]
    assert set(report["weights"]) <= set(fusion.feature_names)
    result = evaluate(fusion, es, settings=EvalSettings(latency_queries=2, show_progress=False))
    assert result.metrics["hit@10"] > 0.9


def test_bad_configuration(news_stack: tuple) -> None:
    _, bm25, lexical = news_stack
    with pytest.raises(RetrievalError, match="unknown feature"):
        FusionRetriever(first_stage=bm25, scorers=[lexical], weights={"nope": 1.0})
    with pytest.raises(RetrievalError, match="not in the corpus"):
        lexical.features(["질문"], [[Document(page_content="없는 문단")]])
    with pytest.raises(DataError, match="non-empty corpus"):
        LexicalFeatures([])
    with pytest.raises(DataError, match="one gold id each"):
        FusionRetriever(first_stage=bm25, scorers=[lexical]).fit(["q"], [])
