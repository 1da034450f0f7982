"""The benchmark's report: markdown (one table per protocol, the speed comparison, the stage
check, the models and the hardware), JSON and the plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lc_klue.bench.models import model_summary
from lc_klue.bench.plot import plot_quality_vs_time
from lc_klue.bench.stages import stage_check, stage_check_line
from lc_klue.evaluation.report import COLUMNS, markdown_table, write_json
from lc_klue.storage import atomic_write_text

#: Quality columns of a second data set shown beside the first (:func:`markdown_table_beside`).
BESIDE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("hit@1", "hit@1", "{:.3f}"),
    ("hit@10", "hit@10", "{:.3f}"),
    ("MRR@10", "mrr@10", "{:.3f}"),
)


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


def benchmark_markdown(result: dict[str, Any]) -> str:
    """The results as markdown: one table per protocol, the speed comparison and the setup."""
    st, data = result["settings"], result["data"]
    lines = [
        f"Data: `{st['data']}`, split by title (test {st['split']['test_size']}, "
        f"seed {st['split']['seed']}): {data['test_questions']} test / "
        f"{data['train_questions']} train questions; "
        f"{data.get('sampled_questions', st['questions'])} sampled test "
        f"questions (seed {st['split']['seed']}). Fusion weights tuned on "
        f"{st['tune_questions']} train-title questions.",
        "",
    ]
    lines += _protocol_tables(result)
    lines += _speed_lines(result.get("rerank_speed"))
    checks = stage_check(result["rows"])
    if checks:
        lines += [stage_check_line(checks, st.get("stage_drops_expected")), ""]
    models = result.get("models", {})
    if models:
        lines.append("Models:")
        for key, m in models.items():
            lines.append(f"- {key}: `{m.get('path')}` — {model_summary(m)}")
        lines.append("")
    if st.get("command"):
        lines += ["Reproduce:", "", "```bash", st["command"], "```", ""]
    hw = result["hardware"]
    lines.append(
        f"Hardware: {hw['processor']}, {hw['cpu_count']} CPU cores, torch threads "
        f"{hw['torch_threads']}, GPU: {hw['cuda'] or 'none'}. Whole run: "
        f"{result['total_s'] / 60:.1f} min. Columns: p50/p95 = single-query latency "
        "(`invoke`), total s = all questions through `batch`, batch × = per-query latency / "
        "batched time per query."
    )
    return "\n".join(lines) + "\n"


def _protocol_tables(result: dict[str, Any]) -> list[str]:
    """One table per protocol; the paraphrase set's quality beside the ``full`` protocol's
    (else the first protocol's) rows, with a line that says what it is."""
    data, para = result["data"], result.get("paraphrase")
    protocols = list(dict.fromkeys(r["group"] for r in result["rows"]))
    beside = "full" if "full" in protocols else protocols[0]
    lines = []
    for protocol in protocols:
        size = data.get(f"{protocol}_search_space")
        what = "the questions' own passages" if protocol == "book" else "all distinct passages"
        lines += [f"**Protocol `{protocol}`** — search space: {size} passages ({what}).", ""]
        rows = [r for r in result["rows"] if r["group"] == protocol]
        if para and protocol == beside:
            lines += [
                f"Columns `para …`: paraphrase set `{para['file']}`, {para['queries']} pairs "
                f"scored ≥ {para['min_score']:g} (sentence 1 → sentence 2) searched among "
                f"{para['passages']} distinct second sentences; the same pipelines, fusion "
                "weights as tuned above (not refitted on it).",
                "",
            ]
            lines.append(markdown_table_beside(rows, para["rows"], "para"))
        else:
            lines.append(markdown_table(rows))
    return lines


def _speed_lines(speed: dict[str, Any] | None) -> list[str]:
    """The reranking speed comparison (:func:`~lc_klue.bench.speed.rerank_speed`) as markdown
    lines: a speed-up only at the book's quality
    (:func:`~lc_klue.bench.speed.equal_quality_speedups`), every time ratio in the table."""
    if not speed:
        return []
    lines = [
        f"Cross-encoder reranking of the same {speed['pairs']} pairs ({speed['queries']} "
        f"queries, {speed['candidates_from']}): book's per-query loop "
        f"{speed['per_query_s']:.2f} s, batched across queries {speed['batched_s']:.2f} s; "
        f"identical rankings for {speed['identical_rankings']}/{speed['queries']} queries "
        f"(max score difference {speed['max_abs_score_diff']:.1e}). " + _speed_headline(speed),
        "",
    ]
    configs = speed.get("configs") or {}
    if configs:
        lines += [
            "| reranking | seconds | time ratio | speed-up | pairs scored | hit@1 | MRR@10 "
            "| nDCG@10 | same top 1 | overlap@10 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        nan = float("nan")
        for name, c in configs.items():
            ratio, gain = c.get("time_ratio"), c.get("speedup")
            lines.append(
                f"| {name} | {c['seconds']:.2f} | {_ratio(ratio)} | {_ratio(gain)} "
                f"| {c['pairs_scored']} | {c.get('hit@1', nan):.3f} | {c.get('mrr@10', nan):.3f} "
                f"| {c.get('ndcg@10', nan):.3f} | {c['top1_agreement']:.3f} "
                f"| {c['overlap@10']:.3f} |"
            )
        notes = [f"`{n}`: {c['speedup_note']}" for n, c in configs.items() if "speedup_note" in c]
        lines += ["", "No speed-up for " + "; ".join(notes) + "."] if notes else []
        lines.append("")
    return lines


def _ratio(value: float | None) -> str:
    """A time ratio or speed-up as a table cell (``–`` when there is none)."""
    return "–" if value is None else f"{value:.2f}"


def _speed_headline(speed: dict[str, Any]) -> str:
    """The sentence that names the speed-up: the fastest variant at the book's quality, and
    the fastest of all when that one is not it (its time ratio is not a speed-up)."""
    tol = speed.get("quality_tolerance")
    if speed.get("fastest"):
        said = (
            f"Fastest at the book's quality (hit@1 and MRR@10 within {tol}): "
            f"`{speed['fastest']}` → **{speed['speedup']:.2f}×**."
        )
    else:
        said = f"No speed-up: {speed.get('speedup_note')}."
    overall = speed.get("fastest_overall")
    if overall and overall != speed.get("fastest"):
        ratio = speed.get("fastest_overall_time_ratio")
        note = speed.get("configs", {}).get(overall, {}).get("speedup_note", "")
        said += (
            f" The fastest of all, `{overall}` ({_ratio(ratio)}× the book's time), is not a "
            f"speed-up: {note}."
        )
    return said


def write_benchmark(result: dict[str, Any], output_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.png`` (hit@1 against time)."""
    paths = report_paths(output_dir, name)
    write_json(result, paths["json"])
    atomic_write_text(paths["md"], benchmark_markdown(result))
    rows = [r | {"name": r["id"], "group": f"protocol {r['group']}"} for r in result["rows"]]
    plot_quality_vs_time(rows + _speed_points(result.get("rerank_speed")), paths["png"])
    return paths


def _speed_points(speed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rerank-speed variants as plot points of their own panel (hit@1 against time per
    query), beside the configurations' panels."""
    if not speed or "hit@1" not in next(iter(speed["configs"].values()), {}):
        return []
    n = speed["queries"]
    return [
        {"name": name, "group": "rerank speed", "total_s": c["seconds"], "n_queries": n}
        | {"hit@1": c["hit@1"]}
        for name, c in speed["configs"].items()
    ]
