"""``lc-klue benchmark``: reports written, the table printed, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from tests.kit import run_cli_fresh, write_korsts


def test_lexical_benchmark_writes_its_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["benchmark", str(NEWS_QA), "--configs", "bm25,fusion-lex", "--questions", "20"]
    sizes = ["--tune-questions", "20", "--k", "8", "--top-n", "5", "--latency-queries", "0"]
    out = ["--output-dir", str(tmp_path), "--name", "lex", "--no-progress"]
    assert main([*args, *sizes, *out]) == 0
    printed = capsys.readouterr().out
    assert "| BM25-Kiwi" in printed and "lex.json" in printed
    result = json.loads((tmp_path / "lex.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in result["rows"]] == ["bm25", "fusion-lex"]
    assert (tmp_path / "lex.md").exists() and (tmp_path / "lex.png").exists()


def test_existing_reports_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "lex.md").write_text("committed results", encoding="utf-8")
    args = ["benchmark", str(NEWS_QA), "--configs", "bm25", "--questions", "5", "--k", "8"]
    out = ["--top-n", "5", "--latency-queries", "0", "--output-dir", str(tmp_path), "--name", "lex"]
    assert main([*args, *out, "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue benchmark: error: {tmp_path / 'lex.md'}: already exists (a finished "
        "benchmark report); pass --overwrite to replace it\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["lex.md"]
    assert main([*args, *out, "--no-progress", "--overwrite"]) == 0
    assert (tmp_path / "lex.md").read_text(encoding="utf-8").startswith("Data: ")


def test_a_mistyped_model_path_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    argv = ["benchmark", str(NEWS_QA), "--cross-encoder", "models/nope"]
    rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue benchmark: error: models/nope: cross-encoder not found\n",
        [],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.json"], "error: missing.json: file not found"),
        ([str(NEWS_QA), "--paraphrase", "sts.tsv"], "error: sts.tsv: file not found"),
        ([str(NEWS_QA), "--corpus", "nope.jsonl"], "error: nope.jsonl: file not found"),
        ([str(NEWS_QA), "--configs", "bm25,nope"], "unknown configuration(s) ['nope']"),
        ([str(NEWS_QA), "--k", "5"], "k=5 candidates cannot give top_n=10"),
    ],
)
def test_bad_arguments_fail_before_anything_is_loaded(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    rc, err, heavy = run_cli_fresh(["benchmark", *argv], cwd=tmp_path)
    assert (rc, heavy) == (2, []) and err.startswith("lc-klue benchmark: error: ")
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["benchmark", str(NEWS_QA), "--configs", "nope", "--output-dir", str(tmp_path)]
    assert main([*argv, "--no-progress"]) == 2
    assert "unknown configuration" in capsys.readouterr().err
    assert main(["benchmark", str(NEWS_QA), "--k", "0"]) == 2
    assert "argument --k: must be a positive integer" in capsys.readouterr().err


#: (score, sentence1, sentence2) on the 0–5 scale: 3 pairs scored 4 or more, 5 distinct second
#: sentences.
PARAPHRASES = [
    (4.8, "시청 앞 광장에서 축제가 열렸다.", "시청 광장에서 축제가 개최되었다."),
    (4.2, "버스 요금이 다음 달부터 오른다.", "다음 달부터 버스 요금이 인상된다."),
    (4.0, "도서관은 주말에도 문을 연다.", "주말에도 도서관이 운영된다."),
    (2.0, "새 지하철 노선이 개통했다.", "지하철 공사가 지연되고 있다."),
    (0.4, "공원에 나무를 심었다.", "시장이 기자 회견을 열었다."),
    (3.0, "축제에 많은 사람이 모였다.", "시청 광장에서 축제가 개최되었다."),
]


def test_paraphrase_set_runs_beside_the_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sts = write_korsts(tmp_path / "sts-test.tsv", PARAPHRASES)
    args = ["benchmark", str(NEWS_QA), "--configs", "bm25,fusion-lex", "--questions", "20"]
    sizes = ["--tune-questions", "20", "--k", "8", "--top-n", "5", "--latency-queries", "0"]
    out = ["--output-dir", str(tmp_path), "--name", "para", "--no-progress"]
    assert main([*args, *sizes, *out, "--paraphrase", str(sts)]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "para.json").read_text(encoding="utf-8"))
    para = result["paraphrase"]
    assert (para["file"], para["min_score"], para["queries"], para["passages"]) == (
        str(sts),
        4.0,
        3,
        5,
    )
    # the same configurations, rows shaped as the protocol's, on the paraphrase queries
    assert [r["id"] for r in para["rows"]] == [r["id"] for r in result["rows"]]
    assert {r["group"] for r in para["rows"]} == {"paraphrase"}
    assert all(r["n_queries"] == 3 for r in para["rows"])
    assert set(para["rows"][0]) == set(result["rows"][0])
    md = (tmp_path / "para.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| configuration"))
    assert "| nDCG@10 | para hit@1 | para hit@10 | para MRR@10 | p50 ms |" in header
    row = next(line for line in md.splitlines() if line.startswith("| BM25-Kiwi (k1=1.5"))
    assert row.count("|") == header.count("|")
    assert f"paraphrase set `{sts}`, 3 pairs scored ≥ 4" in md and "para hit@1" in printed


def test_a_paraphrase_file_without_close_pairs_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sts = write_korsts(tmp_path / "sts-test.tsv", PARAPHRASES[3:])
    argv = ["benchmark", str(NEWS_QA), "--configs", "bm25", "--paraphrase", str(sts)]
    assert main([*argv, "--output-dir", str(tmp_path), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue benchmark: error: {sts}: no pair scored 4 or more for a paraphrase set "
        "(3 pairs, highest score 3)\n"
    )
    assert not list(tmp_path.glob("benchmark.*"))
