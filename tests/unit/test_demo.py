"""The offline demo end to end on the bundled data (quick recipe: tiny models, one epoch)."""

import io
import json

import pytest

from lc_klue.demo import DEMO_CONFIGS, run_demo

pytestmark = pytest.mark.slow


def test_quick_demo_answers_with_sources_and_prints_the_table(quick_demo) -> None:
    cache, result, text = quick_demo
    assert text.count("질문:") == 2
    assert "Stage check" in text and "FAILED" not in text  # tiny models: drops are expected
    assert "[1]" in text  # numbered sources under each answer
    assert "| configuration | hit@1 |" in text
    assert [row["id"] for row in result["rows"]] == list(DEMO_CONFIGS)
    assert all(0.0 <= row["hit@10"] <= 1.0 for row in result["rows"])
    saved = json.loads((cache / "results" / "demo.json").read_text(encoding="utf-8"))
    quality = [(r["id"], r["hit@1"], r["hit@10"], r["ndcg@10"]) for r in result["rows"]]
    assert [(r["id"], r["hit@1"], r["hit@10"], r["ndcg@10"]) for r in saved["rows"]] == quality
    assert (cache / "results" / "demo.png").stat().st_size > 0


def test_the_header_counts_the_questions_it_uses(quick_demo) -> None:
    from lc_klue.data import load_mrc, split_by_title
    from lc_klue.demo import SEED, TEST_SIZE
    from lc_klue.resources import NEWS_QA

    _, result, text = quick_demo
    test = split_by_title(load_mrc(NEWS_QA), TEST_SIZE, seed=SEED)["test"]
    assert all(r["n_queries"] == len(test) for r in result["rows"])
    assert f"; {len(test)} sampled test questions" in text and "1000 sampled" not in text


def test_a_second_run_reuses_the_cached_models(quick_demo) -> None:
    cache, _, _ = quick_demo
    again = io.StringIO()
    run_demo(cache, quick=True, n_answers=1, show_progress=False, out=again)
    assert "reused the cached models" in again.getvalue()
