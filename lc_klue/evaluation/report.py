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


#: Quality columns of a second data set shown beside the first (:func:`markdown_table_beside`).
BESIDE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("hit@1", "hit@1", "{:.3f}"),
    ("hit@10", "hit@10", "{:.3f}"),
    ("MRR@10", "mrr@10", "{:.3f}"),
)


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


def markdown_table_beside(
    rows: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], prefix: str
) -> str:
    """:func:`markdown_table` of ``rows`` with the :data:`BESIDE_COLUMNS` of ``other`` (rows of
    the same configurations on a second data set, matched by ``id``) after the quality
    columns, headed ``<prefix> hit@1`` and so on; "–" where ``other`` lacks a row."""
    by_id = {r["id"]: r for r in other}
    extra = [(f"{prefix} {h}", f"{prefix}:{k}", fmt) for h, k, fmt in BESIDE_COLUMNS]
    merged = []
    for row in rows:
        side = by_id.get(row["id"], {})
        merged.append(row | {f"{prefix}:{k}": side.get(k) for _, k, _ in BESIDE_COLUMNS})
    at = next(i for i, (_, key, _) in enumerate(COLUMNS) if key == "ndcg@10") + 1
    return markdown_table(merged, columns=[*COLUMNS[:at], *extra, *COLUMNS[at:]])


def report_paths(output_dir: str | Path, name: str) -> dict[str, Path]:
    """The files of a report named ``name``: ``<name>.json``, ``.md`` and ``.png``."""
    out = Path(output_dir)
    return {kind: out / f"{name}.{kind}" for kind in ("json", "md", "png")}


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

    Rows may carry a ``group`` (e.g. ``protocol full``); each group gets its own panel, titled
    by it, and each point the colour of its ``config`` (:func:`pipeline_colour`). Every point
    is labelled with its ``name`` where the label covers no other label or point
    (:func:`place_labels`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    groups = list(dict.fromkeys(r.get("group", "") for r in rows)) or [""]
    fig, axes = plt.subplots(
        1, len(groups), figsize=(7 * len(groups), 5.5), dpi=120, sharey=True, squeeze=False
    )
    panels = []
    for ax, group in zip(axes[0], groups, strict=True):
        pts = [r for r in rows if r.get("group", "") == group]
        xs = [1000.0 * r["total_s"] / max(r["n_queries"], 1) for r in pts]
        ys = [r[metric] for r in pts]
        colours = [pipeline_colour(str(r.get("config") or r["name"])) for r in pts]
        ax.scatter(xs, ys, s=30, zorder=3, c=colours)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        if xs:  # room for the labels beside the outermost points
            ax.set_xlim(min(xs) / 2, max(xs) * 6)
        ax.set_ylim(-0.05, 1.08)
        ax.set_xlabel("milliseconds per query (batched, log scale)")
        ax.set_title(group or title)
        ax.grid(True, alpha=0.3)
        panels.append((ax, xs, ys, [str(r["name"]) for r in pts]))
    axes[0][0].set_ylabel(metric)
    if any(groups):
        fig.suptitle(title)
    fig.tight_layout()
    for ax, xs, ys, names in panels:
        place_labels(ax, xs, ys, names)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    return atomic_write_bytes(Path(path), buf.getvalue())


def pipeline_colour(config: str) -> Any:
    """The colour of a pipeline in every plot: a benchmark configuration keeps its place in
    :data:`~lc_klue.evaluation.configs.CONFIGS` (so one pipeline has one colour across
    reports), any other name a stable one from its checksum."""
    import zlib

    from matplotlib import colormaps

    from lc_klue.evaluation.configs import CONFIGS

    ids = list(CONFIGS)
    index = ids.index(config) if config in ids else len(ids) + zlib.crc32(config.encode()) % 7
    return colormaps["tab20"](index % 20)


#: Where :func:`place_labels` tries a label, in order: distances (points) × directions (deg).
_LABEL_DISTANCES = (5, 12, 22, 34, 48, 64, 82)
_LABEL_ANGLES = (0, 25, -25, 180, 155, -155, 90, -90, 55, -55, 125, -125)


def place_labels(
    ax: Any, xs: Sequence[float], ys: Sequence[float], names: Sequence[str], fontsize: float = 7
) -> list[Any]:
    """Label each point ``(xs[i], ys[i])`` with ``names[i]`` at the nearest spot (from
    :data:`_LABEL_DISTANCES` × :data:`_LABEL_ANGLES`) where the label stays inside the axes and
    covers no point and no label placed before it; a thin line joins a label set apart from
    its point. Returns the labels' boxes in display coordinates."""
    import numpy as np
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    centres = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else []
    r = 4.0  # marker half-size, pixels
    points = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in centres]
    placed: list[Any] = []
    for i, name in enumerate(names):
        label = ax.annotate(
            name,
            (xs[i], ys[i]),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=fontsize,
            zorder=4,
        )
        best: tuple[float, tuple[float, float, str, str]] | None = None
        for dist in _LABEL_DISTANCES:
            for angle in _LABEL_ANGLES:
                dx = dist * np.cos(np.radians(angle))
                dy = dist * np.sin(np.radians(angle))
                ha = "left" if dx > 1e-6 else "right" if dx < -1e-6 else "center"
                va = "bottom" if dy > 1e-6 else "top" if dy < -1e-6 else "center"
                label.xyann = (dx, dy)
                label.set_ha(ha)
                label.set_va(va)
                box = label.get_window_extent(renderer)
                clash = sum(_overlap(box, b) for b in points + placed)
                clash += box.width * box.height - _overlap(box, frame)  # outside the axes
                if best is None or clash < best[0]:
                    best = (clash, (dx, dy, ha, va))
                if clash == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        dx, dy, ha, va = best[1]
        label.xyann = (dx, dy)
        label.set_ha(ha)
        label.set_va(va)
        if np.hypot(dx, dy) > _LABEL_DISTANCES[1]:  # a leader line to a label set apart
            ax.annotate(
                "",
                (xs[i], ys[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.55", "shrinkB": 2},
            )
        placed.append(label.get_window_extent(renderer))
    return placed


def _overlap(a: Any, b: Any) -> float:
    """Area shared by two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return float(w * h) if w > 0 and h > 0 else 0.0
