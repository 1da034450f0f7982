"""The growth benchmark: the hashing embedding, the synthetic corpus, projections, a small run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lc_klue.bench.scale.corpus import Source, synthetic_corpus, synthetic_texts
from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings
from lc_klue.bench.scale.measure import Measurement
from lc_klue.bench.scale.report import markdown
from lc_klue.bench.scale.run import ScaleSettings, _order, _projection, run
from lc_klue.cli import main
from lc_klue.errors import DataError
from lc_klue.resources import NEWS_QA


@pytest.fixture(scope="module")
def source() -> Source:
    return Source.from_mrc(NEWS_QA, n_questions=20)


def test_hash_embedding_is_deterministic_and_lexical() -> None:
    emb = MorphemeHashEmbeddings(dimension=32, seed=1)
    a, b, c = np.asarray(
        emb.embed_documents(["부산 해상 풍력 단지", "부산 해상 풍력 발전", "서울 버스 요금 인상"])
    )
    assert a.shape == (32,) and np.isclose(np.linalg.norm(a), 1.0)
    assert np.allclose(a, MorphemeHashEmbeddings(32, 1).embed_query("부산 해상 풍력 단지"))
    assert a @ b > a @ c  # shared morphemes, closer vectors
    assert not np.allclose(a, MorphemeHashEmbeddings(32, 2).embed_query("부산 해상 풍력 단지"))


def test_synthetic_corpus(source: Source) -> None:
    ids, offsets = synthetic_corpus(source, 500, seed=3, length_scale=0.5)
    again, _ = synthetic_corpus(source, 500, seed=3, length_scale=0.5)
    assert np.array_equal(ids, again) and len(offsets) == 501 and offsets[-1] == len(ids)
    assert ids.min() >= 0 and ids.max() < len(source.vocab)
    mean_src = np.diff(source.offsets).mean()
    assert 0.4 * mean_src < np.diff(offsets).mean() < 0.6 * mean_src
    # a passage is a bag of morphemes, not a copied run of a real passage
    real = source.token_ids.tolist()
    first = ids[offsets[0] : offsets[1]].tolist()
    assert not any(real[i : i + len(first)] == first for i in range(len(real)))


def test_synthetic_texts_are_running_real_sentences(source: Source) -> None:
    texts = synthetic_texts(source.sentences, 200, seed=3, length_scale=0.5)
    assert texts == synthetic_texts(source.sentences, 200, seed=3, length_scale=0.5)
    assert len(texts) == 200 and all(texts)
    sentences = [s for ss in source.sentences for s in ss]
    for text in texts[:20]:  # made of the file's own sentences, never invented text
        rest = text
        while rest:
            first = max((s for s in sentences if rest.startswith(s)), key=len)
            rest = rest[len(first) :].lstrip()
    mean_src = np.mean([sum(map(len, ss)) for ss in source.sentences])
    assert 0.4 * mean_src < np.mean([len(t) for t in texts]) < 0.9 * mean_src


def test_the_text_stores_need_no_bm25s_reference() -> None:
    assert _order(["kiwi-bm25", "kiwi-bm25-word"]) == ["kiwi-bm25", "kiwi-bm25-word"]
    assert _order(["qdrant-bm25"]) == ["bm25s", "qdrant-bm25"]


def test_projection_follows_the_growth_of_the_last_two_sizes() -> None:
    def m(n: int, build_s: float, store_mb: float) -> Measurement:
        return Measurement("s", n, build_s, 0, store_mb, None, None, None, 1, 1, 10, None)

    t, mem = _projection([m(1000, 1.0, 10)], 10_000)
    assert (t, mem) == pytest.approx((10.0, 100.0))
    t, mem = _projection([m(1000, 1.0, 10), m(10_000, 100.0, 100)], 100_000)
    assert t == pytest.approx(10_000.0) and mem == pytest.approx(1000.0)  # quadratic build


def test_a_small_run_measures_and_stops(source: Source, tmp_path: Path) -> None:
    settings = ScaleSettings(
        sizes=[300, 3000],
        stores=["faiss-flat", "qdrant-bm25", "qdrant-edge-bm25", "kiwi-bm25-word"],
        dimension=16,
        queries=20,
        latency_queries=10,
        budget_s=1e-6,  # nothing may grow past the first size
    )
    report = run(NEWS_QA, settings)
    rows = {r["store"]: r for r in report["rows"]}
    # bm25s joins as the exact reference of the BM25 stores
    assert list(rows) == [
        "faiss-flat",
        "bm25s",
        "qdrant-bm25",
        "qdrant-edge-bm25",
        "kiwi-bm25-word",
    ]
    assert all(r["passages"] == 300 for r in rows.values())
    # text of real sentences, Kiwi analysis in the build; exact over its own analysis
    text = rows["kiwi-bm25-word"]
    assert text["recall_at_10"] is None and text["disk_mb"] > 0 and text["query_p50_ms"] > 0
    assert "build includes Kiwi analysis (word)" in text["notes"][0]
    assert rows["faiss-flat"]["recall_at_10"] == pytest.approx(1.0)
    assert rows["qdrant-bm25"]["recall_at_10"] > 0.9
    assert rows["qdrant-edge-bm25"]["recall_at_10"] > 0.9
    assert rows["bm25s"]["disk_mb"] > 0 and rows["faiss-flat"]["query_p50_ms"] > 0
    assert {s["store"] for s in report["stopped"]} == set(rows)
    assert all("projected build" in s["reason"] for s in report["stopped"])
    with pytest.raises(DataError, match="unknown store"):
        run(NEWS_QA, ScaleSettings(sizes=[300], stores=["milvus"]))


def test_approximate_stores_serve_at_the_recall_target(source: Source) -> None:
    settings = ScaleSettings(
        sizes=[2000],
        stores=["faiss-hnsw", "faiss-ivf", "qdrant-edge-dense"],
        dimension=16,
        queries=20,
        latency_queries=10,
        recall=0.9,
    )
    report = run(NEWS_QA, settings)
    rows = {r["store"]: r for r in report["rows"]}
    assert list(rows) == ["faiss-hnsw", "faiss-ivf", "qdrant-edge-dense"]
    for store, parameter in zip(rows, ["ef_search", "nprobe", "hnsw_ef"], strict=True):
        tuning = rows[store]["tuning"]
        assert tuning["recall_target"] == 0.9 and tuning["recall_at_10"] >= 0.9
        assert tuning["queries"] == 20 and tuning[parameter] > 0  # held-out questions
        assert tuning["tune_s"] >= 0 and any("recall@10" in n for n in rows[store]["notes"])
        assert rows[store]["recall_at_10"] is not None
    assert report["config"]["recall_target"] == 0.9
    assert "20 held-out questions" in report["config"]["faiss"]
    table = markdown(report)
    assert f"| ef_search {rows['faiss-hnsw']['tuning']['ef_search']} (tuned: " in table


def test_the_command_writes_json_table_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["benchmark-scale", str(NEWS_QA), "--sizes", "200", "--stores", "faiss-hnsw"]
    args += ["--questions", "10", "--latency-queries", "10", "--dimension", "16"]
    (tmp_path / "scale.md").write_text("an earlier run", encoding="utf-8")
    assert main([*args, "--output-dir", str(tmp_path), "--no-progress", "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "| faiss-hnsw | 200 |" in out
    assert (tmp_path / "scale.md").read_text(encoding="utf-8").startswith("| store")
    saved = json.loads((tmp_path / "scale.json").read_text())
    assert saved["rows"][0]["store"] == "faiss-hnsw" and (tmp_path / "scale.png").stat().st_size
    assert main(["benchmark-scale", str(NEWS_QA), "--stores", "milvus"]) == 2
    assert "unknown store" in capsys.readouterr().err
    assert main(["benchmark-scale", str(NEWS_QA), "--sizes", "ten"]) == 2
    assert main(["benchmark-scale", str(NEWS_QA), "--recall", "1.2"]) == 2
    assert "a recall target lies in (0, 1], got '1.2'" in capsys.readouterr().err


def test_existing_reports_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scale.png").write_bytes(b"committed plot")
    argv = ["benchmark-scale", str(NEWS_QA), "--sizes", "200", "--output-dir", str(tmp_path)]
    assert main([*argv, "--stores", "milvus"]) == 2  # a bad argument still comes first
    assert "unknown store" in capsys.readouterr().err
    assert main([*argv, "--stores", "faiss-flat", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue benchmark-scale: error: {tmp_path / 'scale.png'}: already exists (a finished "
        "scale report); pass --overwrite to replace it\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["scale.png"]
    assert (tmp_path / "scale.png").read_bytes() == b"committed plot"
