"""The benchmark on the bundled news corpus with tiny from-scratch models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.bench.configs import CONFIGS
from lc_klue.bench.grid import config_spec
from lc_klue.bench.models import model_summary
from lc_klue.bench.report import _speed_lines, benchmark_markdown, write_benchmark
from lc_klue.bench.run import run_benchmark
from lc_klue.bench.settings import (
    BenchmarkSettings,
    DataSettings,
    GridSettings,
    ModelSettings,
    SpeedSettings,
)
from lc_klue.bench.speed import equal_quality_speedups, rerank_speed
from lc_klue.bench.stages import stage_check, stage_check_line
from lc_klue.resources import NEWS_QA
from tests.kit import TinyModelFactory


@pytest.fixture(autouse=True)
def one_torch_thread() -> object:
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: Every configuration but the shipped e5 pipeline (e5-small is no tiny model; its spec is
#: checked below).
RUN_ALL = [c for c in CONFIGS if c != "default-e5"]


def test_the_shipped_configurations_are_the_shipped_pipelines() -> None:
    from lc_klue.retrieval.saved_pipeline import DENSE_DEFAULT, default_pipeline

    s = BenchmarkSettings(data=DataSettings(NEWS_QA), grid=GridSettings(k=30, top_n=10))
    assert config_spec("default", s) == default_pipeline().spec
    assert config_spec("default-e5", s) == default_pipeline(DENSE_DEFAULT).spec
    assert config_spec("default-e5", s).first_stage.embedding_model == DENSE_DEFAULT


def test_benchmark_runs_every_configuration(tiny_models: TinyModelFactory, tmp_path: Path) -> None:
    bi = str(tiny_models.bi_encoder_dir("bert"))
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, protocols=("full", "book"), n_questions=30, tune_questions=20),
        models=ModelSettings(
            sts_model=bi,
            mrc_model=bi,
            cross_encoder=str(tiny_models.cross_encoder_dir("bert")),
            batch_size=16,
            max_length=128,
            device="cpu",
        ),
        grid=GridSettings(configs=RUN_ALL, k=8, top_n=5, ce_depth=6, latency_queries=2),
        speed=SpeedSettings(queries=4),
        show_progress=False,
    )
    result = run_benchmark(settings)
    assert [r["id"] for r in result["rows"]] == RUN_ALL * 2
    assert {r["group"] for r in result["rows"]} == {"full", "book"}
    assert all(r["n_queries"] == 30 for r in result["rows"])
    assert result["data"]["full_search_space"] == 32  # all distinct news passages
    assert result["data"]["book_search_space"] < 32  # the sample's own passages
    assert result["rerank_speed"]["identical_rankings"] == 4
    # both cascades (windowed and whole-passage) are fitted on the tuning questions
    for key in ("cascade", "cascade_full_passage"):
        assert result["rerank_speed"][key]["fitted_on"] == "20 train-title questions"
    # fusion starts from the first stage and only accepts improvements on the tuning questions
    for config in ("fusion-lex", "fusion-lex-dense", "fusion-all", "fusion-hybrid"):
        tuned = result["fusion_tuning"][config]
        assert tuned["mrr@10_fused"] >= tuned["mrr@10_first_stage"]
    assert result["models"]["ce"]["parameters"] > 0
    paths = write_benchmark(result, tmp_path, "tiny")
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert saved["rows"][0]["id"] == "sts"
    md = paths["md"].read_text(encoding="utf-8")
    assert "| STS bi-encoder (book 1) |" in md and "Protocol `book`" in md
    assert "; 30 sampled test questions" in md
    # the models are described as they are: the kit's untrained from-scratch models
    assert f"- mrc: `{bi}` — " in md and "scratch:tiny:bert; no pretrained weights)" in md
    assert "trained from scratch here" not in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_benchmark_skips_configurations_without_models() -> None:
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, n_questions=6),
        grid=GridSettings(configs=["bm25", "mrc"], k=8, top_n=5, latency_queries=0),
        show_progress=False,
    )
    result = run_benchmark(settings)
    assert [r["id"] for r in result["rows"]] == ["bm25"]
    assert result["skipped"] == {"mrc": ["mrc"]}
    assert result["rerank_speed"] is None


def test_stage_check_flags_a_drop() -> None:
    rows = [
        {"id": "bm25-tuned", "group": "full", "hit@1": 0.9},
        {"id": "fusion-lex", "group": "full", "hit@1": 0.92},
        {"id": "fusion-all", "group": "full", "hit@1": 0.91},
    ]
    checks = stage_check(rows)
    assert [c["ok"] for c in checks] == [True, False]


def _row(config: str, hit1: float, n: int = 30) -> dict:
    return {
        "id": config,
        "name": CONFIGS[config][0],
        "group": "full",
        "hit@1": hit1,
        "n_queries": n,
        "total_s": 1.0,
    }


def test_the_stage_check_covers_the_books_chain() -> None:
    """Book 3 below book 2 is a failed stage, not a pass."""
    rows = [
        _row("sts", 0.05),
        _row("mrc", 0.06),
        _row("mrc+ce", 0.01),
        _row("bm25-tuned", 0.9),
        _row("fusion-lex", 0.92),
    ]
    checks = {(c["after"], c["stage"]): c["ok"] for c in stage_check(rows)}
    assert checks == {
        ("sts", "mrc"): True,
        ("mrc", "mrc+ce"): False,
        ("bm25-tuned", "fusion-lex"): True,
    }
    result = {
        "settings": {
            "data": "d.json",
            "split": {"test_size": 0.3, "seed": 42},
            "questions": 1000,
            "tune_questions": 20,
        },
        "data": {
            "test_questions": 40,
            "train_questions": 60,
            "sampled_questions": 30,
            "full_search_space": 12,
        },
        "rows": rows,
        "hardware": {"processor": "x", "cpu_count": 2, "torch_threads": 2, "cuda": None},
        "total_s": 60.0,
    }
    md = benchmark_markdown(result)
    assert "Stage check" in md and "passed" not in md
    assert "FAILED: mrc+ce 0.010 < mrc 0.060." in md
    assert "along sts → mrc → mrc+ce; bm25-tuned → fusion-lex)" in md
    assert "30 sampled test questions" in md and "1000 sampled" not in md


def test_an_expected_drop_is_told_as_information_not_as_a_failure() -> None:
    checks = stage_check([_row("mrc", 0.06), _row("mrc+ce", 0.01), _row("bm25-tuned", 0.9)])
    assert stage_check_line(checks).endswith("FAILED: mrc+ce 0.010 < mrc 0.060.")
    told = stage_check_line(checks, "tiny models")
    assert "FAILED" not in told
    assert told.endswith("not raised by mrc+ce 0.010 < mrc 0.060, as expected here: tiny models.")
    passed = stage_check([_row("mrc", 0.06), _row("mrc+ce", 0.07)])
    assert stage_check_line(passed, "tiny models").endswith("): passed.")


def test_rerank_speed_compares_the_same_pairs(tiny_models: TinyModelFactory) -> None:
    model = tiny_models.cross_encoder("bert")
    queries = ["부산 해상 풍력", "전기차 배터리"]
    cands = [["부산시는 풍력 단지를", "서울의 날씨", "배터리 공장"], ["배터리 공장", "해상"]]
    out = rerank_speed(model, queries, cands, batch_size=4)
    assert out["pairs"] == 5 and out["identical_rankings"] == 2
    assert out["per_query_s"] > 0 and out["batched_s"] > 0
    # variants rerank the same candidates; quality against gold ids, agreement with the book
    from lc_klue.data import context_id
    from lc_klue.retrieval import CrossEncoderReranker

    gold = [context_id(cands[0][0]), context_id(cands[1][0])]
    windowed = CrossEncoderReranker(model=model, window=1000)  # whole passages: the same
    out = rerank_speed(model, queries, cands, 4, gold=gold, variants={"window": windowed})
    assert set(out["configs"]) == {"book", "batched", "window"}
    book, window = out["configs"]["book"], out["configs"]["window"]
    assert window["top1_agreement"] == 1.0 and window["hit@1"] == book["hit@1"]
    assert window["pairs_scored"] == 5 and out["speedup"] == pytest.approx(
        out["per_query_s"] / out["fastest_s"]
    )
    # the same rankings keep the book's quality: every variant's time ratio is a speed-up
    assert window["hit@1_change"] == 0.0 and window["mrr@10_change"] == 0.0
    assert window["speedup"] == window["time_ratio"] and "speedup_note" not in window
    assert out["fastest"] == out["fastest_overall"]


def _timed(seconds: float, pairs: int, hit1: float, mrr: float) -> dict[str, float]:
    """One reranking's entry in ``rerank_speed``'s ``configs``."""
    return {
        "seconds": seconds,
        "pairs_scored": pairs,
        "hit@1": hit1,
        "mrr@10": mrr,
        "ndcg@10": mrr,
        "top1_agreement": 1.0,
        "overlap@10": 1.0,
    }


def test_a_speedup_counts_only_at_the_books_quality() -> None:
    configs = {
        "book": _timed(10.0, 300, 0.90, 0.92),
        "int8": _timed(5.0, 300, 0.902, 0.921),  # within the tolerance: the same quality
        "window": _timed(2.0, 300, 0.85, 0.88),  # faster, but worse
        "cascade": _timed(0.004, 0, 0.95, 0.96),  # skipped every query: scored nothing
    }
    out = equal_quality_speedups(configs)
    assert (out["fastest"], out["speedup"], out["fastest_s"]) == ("int8", 2.0, 5.0)
    assert out["fastest_overall"] == "cascade"
    assert out["fastest_overall_time_ratio"] == pytest.approx(2500.0)
    cascade, window = configs["cascade"], configs["window"]
    assert cascade["speedup"] is None and cascade["time_ratio"] == pytest.approx(2500.0)
    assert cascade["speedup_note"].startswith("scored no pairs")
    assert window["speedup"] is None and window["speedup_note"].startswith("hit@1 0.850 vs 0.900")
    assert configs["int8"]["speedup"] == 2.0 and configs["book"]["speedup"] == 1.0
    # better is not the same quality either; without any, the headline is null with the reason
    configs = {"book": _timed(10.0, 300, 0.03, 0.10), "cascade": _timed(0.004, 0, 0.89, 0.93)}
    out = equal_quality_speedups(configs)
    assert out["speedup"] is None and out["fastest"] is None
    assert "no speed-up" in out["speedup_note"]
    configs = {"book": _timed(10.0, 300, 0.90, 0.92), "b": _timed(5.0, 300, 0.90, 0.95)}
    assert equal_quality_speedups(configs)["speedup"] is None
    assert configs["b"]["speedup_note"] == "mrr@10 0.950 vs 0.920: not the same quality"


def test_the_report_shows_no_speedup_for_a_variant_that_scored_nothing() -> None:
    configs = {
        "book": _timed(496.4, 30000, 0.031, 0.10),
        "int8+window128": _timed(50.6, 30000, 0.031, 0.10),
        "int8+window128+cascade": _timed(0.185, 0, 0.893, 0.92),
    }
    speed = {
        "queries": 1000,
        "pairs": 30000,
        "candidates_from": "BM25 top 30",
        "per_query_s": 496.4,
        "batched_s": 482.4,
        "identical_rankings": 1000,
        "max_abs_score_diff": 0.0,
        "configs": configs,
        **equal_quality_speedups(configs),
    }
    md = "\n".join(_speed_lines(speed))
    assert "`int8+window128` → **9.81×**" in md
    assert "**2683" not in md  # the skipped reranking's time ratio is no headline
    assert (
        "The fastest of all, `int8+window128+cascade` (2683.24× the book's time), is not a "
        "speed-up: scored no pairs" in md
    )
    row = next(line for line in md.splitlines() if line.startswith("| int8+window128+cascade"))
    assert row.startswith("| int8+window128+cascade | 0.18 | 2683.24 | – | 0 |")


def _tiny_ce(tiny_models: TinyModelFactory) -> ModelSettings:
    """The kit's tiny cross-encoder, small batches on the CPU."""
    return ModelSettings(
        cross_encoder=str(tiny_models.cross_encoder_dir("bert")),
        batch_size=16,
        max_length=128,
        device="cpu",
    )


def test_tagged_rows_and_dev_tuning(tiny_models: TinyModelFactory) -> None:
    # bm25+ce is the cross-encoder alone over BM25's candidates; a tag names the model set;
    # with dev_size the fusion weights are tuned on held-out train titles
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, n_questions=20, tune_questions=20, dev_size=0.3),
        models=_tiny_ce(tiny_models),
        grid=GridSettings(
            configs=["bm25-tuned", "bm25+ce", "fusion-lex"],
            tag="kiwi",
            k=8,
            top_n=5,
            latency_queries=2,
        ),
        speed=SpeedSettings(queries=0),
        show_progress=False,
    )
    result = run_benchmark(settings)
    assert [r["id"] for r in result["rows"]] == ["bm25-tuned", "kiwi-bm25+ce", "fusion-lex"]
    assert [r["config"] for r in result["rows"]] == ["bm25-tuned", "bm25+ce", "fusion-lex"]
    assert "dev titles" in result["settings"]["tuned_on"]
    # 11 titles: 3 test, 8 train of which 2 are dev: tuning questions come from those 2 alone
    assert 0 < result["settings"]["tune_questions"] < result["data"]["train_questions"] / 2


def test_the_default_speed_test_runs_without_onnxruntime(
    tiny_models: TinyModelFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `pip install -e .` has no onnx extra: the default (auto) leaves the int8 variants out
    import lc_klue.models.onnx_backend as onnx_backend

    monkeypatch.setattr(onnx_backend, "onnx_runtime_installed", lambda: False)
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, n_questions=6, tune_questions=6),
        models=_tiny_ce(tiny_models),
        grid=GridSettings(configs=["bm25-tuned"], k=8, top_n=5, latency_queries=0),
        speed=SpeedSettings(queries=3),
        show_progress=False,
    )
    assert settings.speed.backend == "auto"
    speed = run_benchmark(settings)["rerank_speed"]
    assert speed["backend"] is None
    assert not any("int8" in name for name in speed["configs"])
    assert "window128" in speed["configs"]


def test_a_speed_backend_the_model_cannot_run_leaves_its_variants_out(
    tiny_models: TinyModelFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a Kiwi cross-encoder has no transformers model to export: the speed test keeps its torch
    # variants instead of failing at its last step and losing the finished sections
    import lc_klue.models.onnx_backend as onnx_backend

    monkeypatch.setattr(onnx_backend, "exportable", lambda model: False)
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, n_questions=6, tune_questions=6),
        models=_tiny_ce(tiny_models),
        grid=GridSettings(configs=["bm25-tuned"], k=8, top_n=5, latency_queries=0),
        speed=SpeedSettings(queries=3, backend="int8"),
        show_progress=False,
    )
    result = run_benchmark(settings)
    assert result["rows"][0]["id"] == "bm25-tuned"
    speed = result["rerank_speed"]
    assert speed["backend"] is None and "window128" in speed["configs"]
    assert not any("int8" in name for name in speed["configs"])


def test_model_lines_say_what_is_known_of_each_kind() -> None:
    bert = {"parameters": 1_480_000, "layers": 2, "hidden": 128, "module": "Transformer"}
    assert model_summary(bert) == "1.5 M parameters, 2 layers, hidden 128"
    static = {"parameters": 22_327_132, "module": "KiwiStaticEmbedding", "dimensions": 2304}
    assert model_summary(static) == (
        "22.3 M parameters, module KiwiStaticEmbedding, 2,304 dimensions"
    )
    kiwi_ce = {"parameters": 517, "module": "KiwiInteraction", "origin": "from kiwi:static"}
    assert model_summary(kiwi_ce) == "517 parameters, module KiwiInteraction; from kiwi:static"
