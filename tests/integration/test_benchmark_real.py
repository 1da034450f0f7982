"""The benchmark on KorQuAD 1.0 dev (stand-in for KLUE MRC), lexical stages only: no models.

The full benchmark with the trained models is ``lc-klue benchmark`` (see
results/README.md); this test keeps the lexical part honest in CI in about a minute.
The paraphrase test runs the real KorSTS test set beside the bundled news questions, tuned BM25
alone, in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lc_klue.bench.run import run_benchmark
from lc_klue.bench.settings import BenchmarkSettings, DataSettings, GridSettings
from lc_klue.resources import NEWS_QA
from tests.conftest import shared_file


@pytest.mark.integration
def test_lexical_benchmark_on_korquad(shared_data: Path) -> None:
    path = shared_file(shared_data, "korquad-1.0/KorQuAD_v1.0_dev.json")
    settings = BenchmarkSettings(
        data=DataSettings(path, n_questions=300, tune_questions=300),
        grid=GridSettings(configs=["bm25", "bm25-tuned", "fusion-lex"], latency_queries=5),
        show_progress=False,
    )
    result = run_benchmark(settings)
    rows = {r["id"]: r for r in result["rows"]}
    assert result["data"]["corpus_passages"] == 961  # every distinct paragraph text
    assert result["data"]["test_questions"] + result["data"]["train_questions"] == 5774
    # Kiwi BM25 is strong on KorQuAD: the gold passage is almost always in the top 10
    assert rows["bm25"]["hit@10"] > 0.95 and rows["bm25"]["hit@1"] > 0.8
    # fusion weights come from train titles; on test titles they must not lose to BM25
    tuned = result["fusion_tuning"]["fusion-lex"]
    assert tuned["mrr@10_fused"] > tuned["mrr@10_first_stage"]
    assert rows["fusion-lex"]["hit@1"] >= rows["bm25-tuned"]["hit@1"]
    assert rows["fusion-lex"]["ndcg@10"] > rows["bm25"]["ndcg@10"]


@pytest.mark.integration
def test_tuned_bm25_on_the_korsts_paraphrase_set(shared_data: Path) -> None:
    path = shared_file(shared_data, "korsts/sts-test.tsv")
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, paraphrase=path, n_questions=10),
        grid=GridSettings(configs=["bm25-tuned"], latency_queries=0),
        show_progress=False,
    )
    para = run_benchmark(settings)["paraphrase"]
    # the protocol: 338 pairs scored >= 4 over all 1,327 distinct second sentences
    assert (para["queries"], para["passages"]) == (338, 1327)
    row = para["rows"][0]
    assert row["n_queries"] == 338
    assert 0.70 < row["hit@1"] < 0.75 and row["hit@10"] > 0.9  # measured 0.725 and 0.929
