"""The scale benchmark's report: a markdown table (and the stopped stores) and a log-log plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def markdown(report: dict[str, Any]) -> str:
    """The report's rows as a markdown table, and the stopped stores."""
    head = (
        "| store | passages | build s | peak RSS MB | store MB | disk MB | load s "
        "| p50 ms | p95 ms | recall@10 | search setting |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )

    def cell(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    lines = [
        f"| {r['store']} | {r['passages']:,} | {r['build_s']:.1f} | {r['peak_rss_mb']:.0f} "
        f"| {r['store_mb']:.0f} | {cell(r['disk_mb'], '.0f')} | {cell(r['load_s'], '.1f')} "
        f"| {r['query_p50_ms']:.2f} | {r['query_p95_ms']:.2f} | {cell(r['recall_at_10'], '.3f')} "
        f"| {_setting(r.get('tuning'))} |"
        for r in report["rows"]
    ]
    stops = [f"- {s['store']} at {s['passages']:,}: {s['reason']}" for s in report["stopped"]]
    return (
        head + "\n".join(lines) + "\n" + ("\nStopped:\n" + "\n".join(stops) + "\n" if stops else "")
    )


def _setting(tuning: dict[str, Any] | None) -> str:
    """A row's tuned search setting and the recall@10 it measured when tuned, or –."""
    if not tuning:
        return "–"
    name = next(k for k in ("ef_search", "nprobe", "hnsw_ef") if k in tuning)
    return f"{name} {tuning[name]} (tuned: {tuning['recall_at_10']:.3f})"


def plot(report: dict[str, Any], path: str | Path) -> Path:
    """Log-log plot of build time, memory, disk and query latency against corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("build_s", "build time (s)"),
        ("store_mb", "memory held by the store (MB)"),
        ("disk_mb", "size on disk (MB)"),
        ("query_p50_ms", "query latency p50 (ms)"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for store in report["config"]["stores"]:
            pts = [
                (r["passages"], r[key])
                for r in report["rows"]
                if r["store"] == store and r[key] is not None and r[key] > 0
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=store)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    cpus, threads = report["machine"]["cpus"], report["machine"].get("threads", 1)
    fig.suptitle(
        f"lc-klue stores: cost against corpus size ({cpus} CPU core(s), {threads} thread(s))"
    )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
