"""``lc-klue tune``: refit a pipeline's fusion weights on your own questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from lc_klue.retrieval.saved_pipeline import SavedPipeline
from tests.kit import news_documents


def test_tune_refits_an_index_and_evaluate_flags_its_questions(tmp_path: Path, capsys) -> None:
    index = tmp_path / "idx"
    assert main(["index", str(NEWS_QA), str(index), "-m", "none", "--no-progress"]) == 0
    capsys.readouterr()
    argv = ["tune", str(NEWS_QA), "--index", str(index), "--split", "train", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == str(index / "pipeline.json")
    assert summary["split"] == {"side": "train", "test_size": 0.3, "seed": 42}
    assert summary["mrr@10_fused"] >= summary["mrr@10_first_stage"]
    saved = SavedPipeline.load(index / "pipeline.json")
    assert saved.spec.stages[0].weights == summary["weights"]
    assert saved.fitted["data"] == NEWS_QA.name

    def evaluate(split: str) -> list[str]:
        out = tmp_path / f"{split}.json"
        argv = ["evaluate", str(NEWS_QA), "--index", str(index), "--split", split]
        argv += ["--questions", "0", "--latency-queries", "0", "--output", str(out)]
        assert main([*argv, "--no-progress", "--overwrite"]) == 0
        capsys.readouterr()
        return json.loads(out.read_text(encoding="utf-8"))["result"]["warnings"]

    assert any("fusion weights were fitted on" in w for w in evaluate("train"))
    assert not evaluate("test")  # the held-out titles: never seen by the fit


def test_tune_writes_a_pipeline_file_once(tmp_path: Path, capsys) -> None:
    out = tmp_path / "pipeline.json"
    argv = ["tune", str(NEWS_QA), "--output", str(out), "--questions", "40", "--no-progress"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 40
    assert SavedPipeline.load(out).fitted["sample"] == {"questions": 40, "seed": 42}
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "one of the arguments --index --output is required"),
        (["--index", "nowhere"], "index directory not found"),
    ],
)
def test_bad_tune_arguments_are_one_line(capsys, argv, message) -> None:
    assert main(["tune", str(NEWS_QA), *argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lc-klue tune: error: ") and message in err and err.count("\n") == 1


def test_a_missing_question_file_fails_before_anything_is_loaded(tmp_path: Path) -> None:
    from tests.kit import run_cli_fresh

    rc, err, heavy = run_cli_fresh(["tune", "q.json", "--output", "p.json"], cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue tune: error: q.json: file not found\n",
        [],
    )


def test_tune_fits_an_index_of_raw_documents(tmp_path: Path, capsys) -> None:
    """An index of chunked documents is tuned on questions whose gold passages are the whole
    documents: each maps onto its chunk (it used to fail: no gold passage is a chunk)."""
    docs = news_documents(tmp_path / "docs")
    index = tmp_path / "idx"
    argv = ["index", str(docs), str(index), "-m", "none", "--chunk-size", "200"]
    assert main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    argv = ["tune", str(NEWS_QA), "--index", str(index), "--questions", "0", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["questions"] == 96 and summary["search_space"] > 32
