"""``lc-klue train``: each stage from the command line, JSON on stdout, errors in one line."""

from __future__ import annotations

import json

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA, STS_PAIRS
from tests.kit import run_cli_fresh

METRIC_KEYS = {"pair_spearman", "hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10"}
#: What the model libraries print on their own; ``--no-progress`` must hide all of it.
LIBRARY_NOISE = (
    "Loading weights",
    "Writing model shards",
    "Computing widget examples",
    "Flattening the indices",
    "LOAD REPORT",
    "Converting",
)

pytestmark = pytest.mark.slow


def test_sts_trains_quietly_and_reports_errors(tmp_path, tiny_models, capfd) -> None:
    base = str(tiny_models.base("bert"))
    argv = ["train", "sts", str(tmp_path / "cli"), "--model", base, "--data", str(STS_PAIRS)]
    fast = ["--test-data", str(STS_PAIRS), "--max-steps", "3", "--max-length", "32"]
    capfd.readouterr()  # what building the fixture's model printed
    assert main([*argv, *fast, "--logging-steps", "1", "--no-progress"]) == 0
    out, err = capfd.readouterr()
    report = json.loads(out)  # stdout is the one JSON line: the trainer's logs are on stderr
    assert set(report["after"]) == {"validation_spearman", "test_spearman"}
    assert "{'loss': " in err
    assert [noise for noise in LIBRARY_NOISE if noise in err] == []
    assert (tmp_path / "cli" / "metrics.json").exists()
    bad = ["train", "sts", str(tmp_path / "bad"), "--model", base]
    assert main([*bad, "--data", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capfd.readouterr().err


def test_a_finished_output_is_refused_before_any_training(tmp_path, tiny_models, capsys) -> None:
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "metrics.json").write_text("{}")
    argv = ["train", "sts", str(tmp_path / "done"), "--data", str(STS_PAIRS)]
    assert main([*argv, "--model", str(tiny_models.base("bert"))]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue train: error: {tmp_path / 'done'}: already exists (a finished model "
        "directory); pass --overwrite to replace it\n"
    )
    assert [p.name for p in (tmp_path / "done").iterdir()] == ["metrics.json"]
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    assert main(["train", "base", str(tmp_path / "base"), "--sts", str(STS_PAIRS)]) == 2
    assert "already exists (a finished base model)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "mrc", "out", "--model", "models/nope"], "models/nope: model not found"),
        (["train", "sts", "out", "--model", "./nope"], "nope: model not found"),
        (
            ["train", "cross-encoder", "out", "--embedding-model", "models/nope"],
            "models/nope: embedding model not found",
        ),
    ],
)
def test_a_mistyped_model_path_fails_at_once(tmp_path, argv, message) -> None:
    (tmp_path / "models").mkdir()
    rc, err, heavy = run_cli_fresh([*argv, "--data", str(NEWS_QA)], cwd=tmp_path)
    assert (rc, err, heavy) == (2, f"lc-klue train: error: {message}\n", [])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sts", "out", "--data", "missing.csv"], "missing.csv: file not found"),
        (
            ["mrc", "out", "--model", "scratch:tiny", "--data", NEWS_QA, "--test-data", "t.json"],
            "t.json: file not found",
        ),
        (["base", "out", "--mrc", NEWS_QA, "data/q.jsonl"], "data/q.jsonl: file not found"),
    ],
)
def test_a_missing_data_file_fails_before_anything_is_loaded(tmp_path, argv, message) -> None:
    rc, err, heavy = run_cli_fresh(["train", *map(str, argv)], cwd=tmp_path)
    assert (rc, err, heavy) == (2, f"lc-klue train: error: {message}\n", [])


def test_input_files_are_hub_names_or_existing_files(tmp_path) -> None:
    from argparse import Namespace

    from lc_klue.commands import check_input_files
    from lc_klue.data import mrc, sts
    from lc_klue.errors import DataError
    from lc_klue.runtime import is_local

    assert mrc.is_local is is_local and sts.is_local is is_local  # lc_klue.data's own rule

    def check(value: object) -> None:
        check_input_files(Namespace(input_files=("data",), data=value))

    for fine in ("klue", str(NEWS_QA), NEWS_QA, None, ["klue", str(STS_PAIRS)]):
        check(fine)
    for missing in ("train.csv", str(tmp_path / "x"), "./x", ["klue", "x/y.json"]):
        with pytest.raises(DataError, match="file not found"):
            check(missing)
    with pytest.raises(DataError, match="not a file"):
        check(tmp_path)


def test_mrc_on_a_held_out_title_split(tmp_path, tiny_models, capsys) -> None:
    model = str(tiny_models.bi_encoder_dir("bert"))
    argv = ["train", "mrc", str(tmp_path / "mrc"), "--model", model, "--data", str(NEWS_QA)]
    assert main([*argv, "--max-steps", "2", "--max-length", "32", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["before"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "mrc" / "metrics.json").read_text())
    assert "title split" in metrics["data"]["test"]


def test_cross_encoder_with_bm25_negatives_and_bi_encoder_candidates(
    tmp_path, tiny_models, capfd
) -> None:
    base, bi_encoder = str(tiny_models.base("roberta")), str(tiny_models.bi_encoder_dir("bert"))
    capfd.readouterr()  # what building the fixture's models printed
    code = main(
        [
            "train",
            "cross-encoder",
            str(tmp_path / "ce"),
            "--model",
            base,
            "--data",
            str(NEWS_QA),
            "--negatives",
            "bm25",
            "--embedding-model",
            bi_encoder,
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
    out, err = capfd.readouterr()
    report = json.loads(out)
    assert [noise for noise in LIBRARY_NOISE if noise in err] == []  # new head: a LOAD REPORT
    assert set(report["after"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "ce" / "metrics.json").read_text())
    assert metrics["negatives"] == "bm25" and "top-4" in metrics["data"]["rerank_evaluation"]
    assert set(metrics["first_stage"]) == METRIC_KEYS - {"pair_spearman"}


def test_bad_shared_values_are_one_line(tmp_path, capsys) -> None:
    assert main(["train", "sts", str(tmp_path / "x"), "--batch-size", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "lc-klue train sts: error: argument --batch-size: must be a positive integer, got 0 "
        "(see --help)"
    )


def test_a_capped_cross_encoder_run_evaluates_fewer_questions(
    tmp_path, tiny_models, capfd, caplog
) -> None:
    """--max-steps without --eval-questions: both evaluations take 200 held-out questions,
    not 1000, said in one log line (a 50-step trial spent over 10 minutes evaluating); each
    evaluation is timed on stderr, with no progress bar under --no-progress; --no-eval-before
    skips the first one."""
    from lc_klue.data import load_mrc

    test = tmp_path / "test.jsonl"  # 288 held-out questions: more than the capped 200
    rows = [
        {**r, "question": f"{r['question']} ({k})", "title": f"{r['title']} {k}"}
        for k in range(3)
        for r in load_mrc(NEWS_QA).select_columns(["title", "context", "question", "answers"])
    ]
    test.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    base = str(tiny_models.base("bert"))
    argv = ["train", "cross-encoder", "--model", base, "--data", str(NEWS_QA)]
    argv += ["--test-data", str(test), "--candidates", "4", "--max-steps", "2"]
    argv += ["--max-length", "32", "--no-progress"]
    capfd.readouterr()  # what building the fixture's model printed
    assert main([*argv, str(tmp_path / "capped")]) == 0
    out, err = capfd.readouterr()
    assert set(json.loads(out)["before"]) == METRIC_KEYS
    metrics = json.loads((tmp_path / "capped" / "metrics.json").read_text())
    assert metrics["data"]["rerank_evaluation"].startswith("200 test questions")
    capped = [r.getMessage() for r in caplog.records if "caps training" in r.getMessage()]
    assert capped == [
        "--max-steps 2 caps training: the evaluations before and after use at most 200 "
        "held-out questions, not 1000 (--eval-questions sets the number)"
    ]
    assert "evaluating before training" in err and "evaluating after training" in err
    assert err.count(" s)\n") == 2 and "after training: pair_spearman " in err
    assert "%|" not in err and "it/s]" not in err  # no progress bar at all
    caplog.clear()
    again = [*argv, "--eval-questions", "24", "--no-eval-before", str(tmp_path / "given")]
    assert main(again) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["before"] == {} and "evaluating before training" not in err
    metrics = json.loads((tmp_path / "given" / "metrics.json").read_text())
    assert metrics["data"]["rerank_evaluation"].startswith("24 test questions")
    assert not any("caps training" in r.getMessage() for r in caplog.records)
