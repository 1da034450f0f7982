"""`lc-klue demo` end to end on the bundled data (quick recipe: tiny models, one epoch)."""

import io
import json
from pathlib import Path

from lc_klue.demo import DEMO_CONFIGS, run_demo


def test_quick_demo_answers_with_sources_and_prints_the_table(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_demo(tmp_path, quick=True, n_answers=2, show_progress=False, out=out)
    text = out.getvalue()
    assert text.count("질문:") == 2
    assert "[1]" in text  # numbered sources under each answer
    assert "| configuration | hit@1 |" in text
    assert [row["id"] for row in result["rows"]] == list(DEMO_CONFIGS)
    assert all(0.0 <= row["hit@10"] <= 1.0 for row in result["rows"])
    saved = json.loads((tmp_path / "results" / "demo.json").read_text(encoding="utf-8"))
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    assert (tmp_path / "results" / "demo.png").stat().st_size > 0

    again = io.StringIO()
    run_demo(tmp_path, quick=True, n_answers=1, show_progress=False, out=again)
    assert "reused the cached models" in again.getvalue()
