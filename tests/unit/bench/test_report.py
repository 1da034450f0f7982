"""The benchmark's report: a second data set beside the table, and the quality-against-time
plot with readable labels."""

from __future__ import annotations

import itertools
from pathlib import Path

from lc_klue.bench.plot import pipeline_colour, place_labels, plot_quality_vs_time
from lc_klue.bench.report import markdown_table_beside

#: Points as crowded as the committed benchmark's: near-equal times and scores.
CROWD = [
    ("bm25", 0.62, 0.880),
    ("bm25-tuned", 0.62, 0.893),
    ("fusion-lex", 2.6, 0.917),
    ("fusion-lex-dense", 3.4, 0.917),
    ("fusion-all", 37.0, 0.917),
    ("hybrid", 1.4, 0.484),
    ("mrc", 0.66, 0.288),
    ("sts", 1.0, 0.141),
    ("mrc+ce", 99.2, 0.025),
    ("hybrid+ce", 101.7, 0.029),
    ("hybrid+ce-rrf", 103.0, 0.031),
]


def test_labels_of_crowded_points_do_not_overlap() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=120)
    names, xs, ys = zip(*CROWD, strict=True)
    ax.scatter(xs, ys)
    ax.set_xscale("log")
    ax.set_xlim(0.3, 600)
    ax.set_ylim(-0.05, 1.08)
    fig.tight_layout()
    boxes = place_labels(ax, xs, ys, names)
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    plt.close(fig)
    assert len(boxes) == len(CROWD)
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (names[i], names[j])
    assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)


def test_plot_has_a_panel_per_protocol(tmp_path: Path) -> None:
    rows = [
        {"name": n, "total_s": t * 30 / 1000, "n_queries": 30, "hit@1": h, "group": g}
        for g in ("full", "book")
        for n, t, h in CROWD
    ]
    out = plot_quality_vs_time(rows, tmp_path / "p.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_second_data_set_sits_beside_the_quality_columns() -> None:
    rows = [
        {"id": "bm25", "name": "BM25", "hit@1": 0.9, "ndcg@10": 0.95, "total_s": 1.0},
        {"id": "sts", "name": "STS", "hit@1": 0.2, "ndcg@10": 0.3, "total_s": 2.0},
    ]
    other = [{"id": "bm25", "hit@1": 0.725, "hit@10": 0.929, "mrr@10": 0.797}]
    lines = markdown_table_beside(rows, other, "para").splitlines()
    assert lines[0].startswith("| configuration | hit@1 |")
    assert "| nDCG@10 | para hit@1 | para hit@10 | para MRR@10 | p50 ms |" in lines[0]
    assert "| 0.950 | 0.725 | 0.929 | 0.797 | – | – | 1.0 |" in lines[2]
    assert "| 0.300 | – | – | – | – | – | 2.0 |" in lines[3]  # no row on the second set


def test_a_pipeline_has_one_colour_in_every_plot() -> None:
    from lc_klue.bench.configs import CONFIGS

    colours = [pipeline_colour(c) for c in CONFIGS]
    assert len(set(colours)) == len(colours)  # the configurations are told apart
    assert pipeline_colour("fusion-lex") == pipeline_colour("fusion-lex")
    assert pipeline_colour("my-variant") == pipeline_colour("my-variant")


def test_the_rerank_speed_variants_get_a_panel_of_their_own() -> None:
    from lc_klue.bench.report import _speed_points

    speed = {
        "queries": 10,
        "configs": {
            "book": {"seconds": 5.0, "hit@1": 0.8},
            "int8+window128": {"seconds": 1.0, "hit@1": 0.79},
        },
    }
    points = _speed_points(speed)
    assert [p["name"] for p in points] == ["book", "int8+window128"]
    assert {p["group"] for p in points} == {"rerank speed"}
    assert 1000.0 * points[1]["total_s"] / points[1]["n_queries"] == 100.0
    assert _speed_points(None) == []
