"""Benchmark/evaluation reports: JSON, a markdown table and a PNG plot of quality against time."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lc_klue.storage import atomic_write_bytes, atomic_write_text

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
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def markdown_table(rows: Sequence[dict[str, Any]], label: str = "configuration") -> str:
    """A markdown table of evaluation rows (``name`` plus the :data:`COLUMNS` keys)."""
    header = f"| {label} | " + " | ".join(h for h, _, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [header, rule]
    for row in rows:
        cells = [_cell(row.get(key), fmt) for _, key, fmt in COLUMNS]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_json(data: Any, path: str | Path) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def plot_quality_vs_time(
    rows: Sequence[dict[str, Any]],
    path: str | Path,
    metric: str = "hit@1",
    title: str = "Retrieval quality against time",
) -> Path:
    """Scatter ``metric`` against milliseconds per query (batched) for every row; PNG, atomic.

    Rows may carry a ``group`` (e.g. the protocol); each group gets its own marker.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    markers = "osD^v<>"
    groups = list(dict.fromkeys(r.get("group", "") for r in rows))
    for g_i, group in enumerate(groups):
        pts = [r for r in rows if r.get("group", "") == group]
        xs = [1000.0 * r["total_s"] / max(r["n_queries"], 1) for r in pts]
        ys = [r[metric] for r in pts]
        ax.scatter(xs, ys, marker=markers[g_i % len(markers)], s=50, label=group or None)
        for x, y, r in zip(xs, ys, pts, strict=True):
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds per query (batched, log scale)")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if any(groups):
        ax.legend(title="protocol")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return atomic_write_bytes(Path(path), buf.getvalue())
