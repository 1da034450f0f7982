"""``lc-klue demo`` from the command line (reusing the session's quick demo models)."""

import pytest

from lc_klue.cli import main

pytestmark = pytest.mark.slow


def test_demo_command_prints_answers_and_the_table(quick_demo, capsys) -> None:
    cache, _, _ = quick_demo
    assert (
        main(["demo", "--quick", "--cache-dir", str(cache), "--answers", "1", "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "reused the cached models" in out and out.count("질문:") == 1
    assert "| configuration | hit@1 |" in out
