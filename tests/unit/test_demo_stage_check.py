"""The demo's stage check: a learned stage losing to BM25 on its tiny models is expected, so it
is told as information, never as FAILED (the demo's heavy steps stubbed: seconds, not minutes)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import lc_klue.bench.report
import lc_klue.bench.run
import lc_klue.chain
import lc_klue.retrieval
import lc_klue.retrieval.index
from lc_klue import demo
from lc_klue.bench.settings import BenchmarkSettings, settings_record


def _row(config: str, hit1: float) -> dict[str, Any]:
    return {"id": config, "name": config, "group": "full", "hit@1": hit1, "total_s": 1.0}


def test_the_demo_tells_an_expected_drop_without_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BenchmarkSettings] = []

    def fake_run(settings: BenchmarkSettings) -> dict[str, Any]:
        seen.append(settings)
        rows = [_row("mrc", 0.30), _row("mrc+ce", 0.10), _row("bm25", 0.90)]
        return {
            "settings": settings_record(settings, 20),
            "data": {"test_questions": 30, "train_questions": 66, "sampled_questions": 30},
            "rows": rows,
            "hardware": {"processor": "x", "cpu_count": 2, "torch_threads": 2, "cuda": None},
            "total_s": 60.0,
        }

    models = demo.DemoModels(tmp_path / "s", tmp_path / "m", tmp_path / "c", reused=True)
    monkeypatch.setattr(demo, "train_demo_models", lambda *a, **k: models)
    monkeypatch.setattr(lc_klue.retrieval, "build_index", lambda *a, **k: None)
    monkeypatch.setattr(lc_klue.retrieval, "open_index", lambda *a, **k: None)
    monkeypatch.setattr(lc_klue.retrieval.index, "saved_pipeline", lambda *a: None)
    monkeypatch.setattr(lc_klue.chain, "build_rag_chain", lambda *a, **k: None)
    monkeypatch.setattr(lc_klue.bench.run, "run_benchmark", fake_run)
    monkeypatch.setattr(lc_klue.bench.report, "write_benchmark", lambda *a: {})
    out = io.StringIO()
    demo.run_demo(tmp_path, n_answers=0, show_progress=False, out=out)
    assert seen[0].stage_drops_expected == demo.STAGE_DROPS_EXPECTED
    text = out.getvalue()
    assert "FAILED" not in text
    assert "not raised by mrc+ce 0.100 < mrc 0.300, as expected here: the demo's models" in text
