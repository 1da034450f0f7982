"""Evaluation results as a markdown table and as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lc_klue.storage import atomic_write_text

#: Columns of the results table: (header, row key, format).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("hit@1", "hit@1", "{:.3f}"),
    ("hit@5", "hit@5", "{:.3f}"),
    ("hit@10", "hit@10", "{:.3f}"),
    ("MRR@10", "mrr@10", "{:.3f}"),
    ("nDCG@10", "ndcg@10", "{:.3f}"),
    ("p50 ms", "latency_p50_ms", "{:.1f}"),
    ("p95 ms", "latency_p95_ms", "{:.1f}"),
    ("total s", "total_s", "{:.1f}"),
    ("q/s", "queries_per_s", "{:.1f}"),
    ("batch ×", "batch_speedup", "{:.1f}"),
)


def result_row(result: dict[str, Any]) -> dict[str, Any]:
    """Flatten one ``EvaluationResult.to_dict()``: metrics beside the cost numbers."""
    return {**{k: v for k, v in result.items() if k != "metrics"}, **result["metrics"]}


def _cell(value: Any, fmt: str) -> str:
    """``value`` formatted, or "–" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def markdown_table(
    rows: Sequence[dict[str, Any]],
    label: str = "configuration",
    columns: Sequence[tuple[str, str, str]] = COLUMNS,
) -> str:
    """A markdown table of evaluation rows (``name`` plus the ``columns`` keys)."""
    header = f"| {label} | " + " | ".join(h for h, _, _ in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    lines = [header, rule]
    for row in rows:
        cells = [_cell(row.get(key), fmt) for _, key, fmt in columns]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_json(data: Any, path: str | Path) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
