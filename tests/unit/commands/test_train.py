"""``lc-klue train``: each stage from the command line, JSON on stdout, errors in one line."""

from __future__ import annotations

import json

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA, STS_PAIRS

METRIC_KEYS = {"pair_spearman", "hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}

pytestmark = pytest.mark.slow


def test_sts_trains_and_reports_errors(tmp_path, tiny_models, capsys) -> None:
    base = str(tiny_models.base("bert"))
    argv = ["train", "sts", str(tmp_path / "cli"), "--base-model", base, "--data", str(STS_PAIRS)]
    fast = ["--test-data", str(STS_PAIRS), "--max-steps", "3", "--max-seq-length", "32"]
    assert main([*argv, *fast, "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["after"]) == {"validation_spearman", "test_spearman"}
    assert (tmp_path / "cli" / "metrics.json").exists()
    bad = ["train", "sts", str(tmp_path / "bad"), "--base-model", base]
    assert main([*bad, "--data", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_mrc_on_a_held_out_title_split(tmp_path, tiny_models, capsys) -> None:
    model = str(tiny_models.bi_encoder_dir("bert"))
    argv = ["train", "mrc", str(tmp_path / "mrc"), "--model", model, "--data", str(NEWS_QA)]
    assert main([*argv, "--max-steps", "2", "--max-length", "32", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["before"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "mrc" / "metrics.json").read_text())
    assert "title split" in metrics["data"]["test"]


def test_cross_encoder_with_hard_negatives_and_bi_encoder_candidates(
    tmp_path, tiny_models, capsys
) -> None:
    code = main(
        [
            "train",
            "cross-encoder",
            str(tmp_path / "ce"),
            "--base-model",
            str(tiny_models.base("roberta")),
            "--data",
            str(NEWS_QA),
            "--negatives",
            "hard",
            "--bi-encoder",
            str(tiny_models.bi_encoder_dir("bert")),
            "--candidates",
            "4",
            "--eval-questions",
            "10",
            "--max-steps",
            "2",
            "--max-length",
            "32",
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["after"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "ce" / "metrics.json").read_text())
    assert metrics["negatives"] == "hard" and "top-4" in metrics["data"]["rerank_evaluation"]
    assert set(metrics["first_stage"]) == METRIC_KEYS - {"pair_spearman"}


def test_bad_shared_values_are_one_line(tmp_path, capsys) -> None:
    assert main(["train", "sts", str(tmp_path / "x"), "--batch-size", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "lc-klue train sts: error: argument --batch-size: must be a positive integer, got 0 "
        "(see --help)"
    )
