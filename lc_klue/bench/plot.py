"""The benchmark's plot: quality against time per query, one panel per group, labels placed
where they cover nothing."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lc_klue.storage import atomic_write_bytes


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
    :data:`~lc_klue.bench.configs.CONFIGS` (so one pipeline has one colour across
    reports), any other name a stable one from its checksum."""
    import zlib

    from matplotlib import colormaps

    from lc_klue.bench.configs import CONFIGS

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
