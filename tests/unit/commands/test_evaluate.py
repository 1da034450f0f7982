"""``lc-klue evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.data import load_mrc, split_by_title
from lc_klue.resources import NEWS_QA
from tests.kit import run_cli_fresh


def test_bm25_on_a_user_corpus(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            str(NEWS_QA),
            "--questions",
            "20",
            "--latency-queries",
            "3",
            "--ks",
            "1,3,10",
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "20 questions, 32 passages" in printed and "hit@3" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["result"]["metrics"]["hit@10"] >= saved["result"]["metrics"]["hit@1"] > 0.5


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus = tmp_path / "corpus.csv"
    corpus.write_text("context\n관련 없는 문단 하나\n", encoding="utf-8")
    assert main(["evaluate", str(NEWS_QA), "--corpus", str(corpus), "--no-progress"]) == 2
    assert "not in the corpus" in capsys.readouterr().err
    assert main(["evaluate", str(NEWS_QA), "--ks", "0,5", "--no-progress"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.jsonl"), "--no-progress"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_saved_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lc_klue.retrieval.index import build_index

    build_index(NEWS_QA, tmp_path / "index")
    out = tmp_path / "eval.json"
    args = ["evaluate", str(NEWS_QA), "--index", str(tmp_path / "index"), "--questions", "0"]
    assert main([*args, "--latency-queries", "0", "--output", str(out), "--no-progress"]) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["eval_set"]["questions"] == 96
    assert saved["result"]["metrics"]["hit@10"] > 0.9


def test_split_test_scores_only_the_held_out_titles(tmp_path: Path, capsys) -> None:
    out = tmp_path / "eval.json"
    argv = ["evaluate", str(NEWS_QA), "--split", "test", "--questions", "0", "--output", str(out)]
    assert main([*argv, "--latency-queries", "0", "--no-progress"]) == 0
    test = split_by_title(load_mrc(NEWS_QA), 0.3, seed=42)["test"]  # what lc-klue train holds out
    assert f"{len(test)} questions, test titles of the title split, 32 passages" in (
        capsys.readouterr().out
    )
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["eval_set"]["questions"] == len(test) < 96
    assert saved["eval_set"]["split"] == {"side": "test", "test_size": 0.3, "seed": 42}


def test_an_existing_result_file_is_kept_without_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "eval.json"
    out.write_text("{}", encoding="utf-8")
    argv = ["evaluate", str(NEWS_QA), "--questions", "5", "--latency-queries", "0"]
    assert main([*argv, "--output", str(out), "--no-progress"]) == 2
    assert "eval.json: already exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "{}"
    assert main([*argv, "--output", str(out), "--overwrite", "--no-progress"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["eval_set"]["questions"] == 5


def test_top_n_beyond_the_corpus_returns_all_of_it(capsys) -> None:
    argv = ["evaluate", str(NEWS_QA), "--questions", "5", "--latency-queries", "0"]
    assert main([*argv, "--top-n", "1000", "--ks", "1,1000", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "hit@1000 1.000" in out and err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--top-n", "-3"], "argument --top-n: must be a positive integer, got -3"),
        (["--k", "0"], "argument --k: must be a positive integer, got 0"),
        (["--split", "dev"], "argument --split: invalid choice: 'dev'"),
    ],
)
def test_bad_counts_are_one_line(capsys, argv, message) -> None:
    assert main(["evaluate", str(NEWS_QA), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lc-klue evaluate: error: {message}") and err.count("\n") == 1


@pytest.mark.parametrize("content", ["", "\n  \n"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_empty_corpus_file_says_it_is_empty(tmp_path: Path, capsys, content, suffix) -> None:
    corpus = tmp_path / f"corpus{suffix}"
    corpus.write_text(content, encoding="utf-8")
    assert main(["evaluate", str(NEWS_QA), "--corpus", str(corpus), "--no-progress"]) == 2
    assert capsys.readouterr().err == f"lc-klue evaluate: error: {corpus}: the file is empty\n"


@pytest.mark.parametrize("flag", ["--cross-encoder", "--embedding-model"])
def test_a_mistyped_model_path_fails_at_once(tmp_path: Path, flag: str) -> None:
    (tmp_path / "models").mkdir()
    rc, err, heavy = run_cli_fresh(["evaluate", str(NEWS_QA), flag, "models/nope"], cwd=tmp_path)
    assert rc == 2 and heavy == [] and err.endswith(" not found\n") and err.count("\n") == 1


def test_no_retriever_flag_scores_the_default_pipeline_and_its_answers(
    tmp_path: Path, capsys
) -> None:
    runs = {}
    for name, extra in (("pipeline", ["--answers"]), ("bm25", ["--first-stage", "bm25"])):
        out = tmp_path / f"{name}.json"
        argv = ["evaluate", str(NEWS_QA), "--questions", "0", "--latency-queries", "2"]
        assert main([*argv, *extra, "--output", str(out), "--no-progress"]) == 0
        runs[name] = (capsys.readouterr().out, json.loads(out.read_text(encoding="utf-8")))
    printed, saved = runs["pipeline"]
    assert "| default pipeline |" in printed
    assert saved["result"]["metrics"]["hit@1"] >= runs["bm25"][1]["result"]["metrics"]["hit@1"]
    answers = saved["result"]["extra"]["answers"]
    assert answers["questions"] == 96
    assert 0.5 < answers["answer_contains_gold"] <= answers["sources_contain_gold"] <= 1
    assert f"extractive answers: {answers['answer_contains_gold']:.3f}" in printed


def test_answers_need_gold_answers(tmp_path: Path, capsys) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"question": "사업비는 얼마인가?", "context": "총 사업비는 1조 원이다."}) + "\n",
        encoding="utf-8",
    )
    assert main(["evaluate", str(data), "--answers", "--latency-queries", "0"]) == 2
    assert "no answers to judge the extractive answer by" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.json"], "error: missing.json: file not found"),
        ([str(NEWS_QA), "--corpus", "nope.jsonl"], "error: nope.jsonl: file not found"),
        ([str(NEWS_QA), "--index", "nowhere"], "nowhere: index directory not found"),
        ([str(NEWS_QA), "--first-stage", "dense"], "--first-stage dense needs --embedding-model"),
    ],
)
def test_bad_arguments_fail_before_anything_is_loaded(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    rc, err, heavy = run_cli_fresh(["evaluate", *argv], cwd=tmp_path)
    assert (rc, heavy) == (2, []) and err.startswith("lc-klue evaluate: error: ")
    assert message in err and err.count("\n") == 1


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("index", [False, True])
def test_a_near_chance_cross_encoder_is_checked_and_left_out(
    tiny_models, tmp_path: Path, capsys, caplog, index: bool
) -> None:
    """`evaluate --cross-encoder` runs the model check the index and chat paths run: an
    untrained cross-encoder is left out with one warning line (it used to rerank silently);
    --no-check keeps it, as in chat."""
    argv = ["evaluate", str(NEWS_QA), "--questions", "20", "--latency-queries", "0"]
    if index:
        from lc_klue.retrieval.index import build_index

        build_index(NEWS_QA, tmp_path / "index")
        argv += ["--index", str(tmp_path / "index")]
    argv += ["--cross-encoder", str(tiny_models.cross_encoder_dir()), "--no-progress"]
    names, warned = {}, {}
    for run, extra in (("checked", []), ("unchecked", ["--no-check"])):
        out = tmp_path / f"{run}.json"
        caplog.clear()
        assert main([*argv, *extra, "--output", str(out)]) == 0
        names[run] = json.loads(out.read_text(encoding="utf-8"))["result"]["name"]
        warned[run] = [m for m in _warnings(caplog) if "near chance" in m]
    assert len(warned["checked"]) == 1 and "left out" in warned["checked"][0]
    assert warned["unchecked"] == []
    assert "+ cross-encoder" not in names["checked"]
    assert names["unchecked"].endswith("+ cross-encoder")
    assert capsys.readouterr().out.count("+ cross-encoder |") == 1  # the unchecked run's row
