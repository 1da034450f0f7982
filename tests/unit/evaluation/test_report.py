"""The evaluation results table."""

from __future__ import annotations

from lc_klue.evaluation.report import markdown_table


def test_markdown_table_marks_missing_values() -> None:
    table = markdown_table([{"name": "bm25", "hit@1": 0.5, "latency_p50_ms": None}])
    assert "| bm25 | 0.500 | – |" in table
