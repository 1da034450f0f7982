import io
import json
import re

import pytest

from lc_klue.cli import main
from lc_klue.retrieval.index import IndexSettings, build_index
from lc_klue.text import split_sentences

QUESTION = "해상 풍력 단지 조성에 들어가는 총 사업비는 얼마인가?"
SOURCE_LINE = re.compile(r"^\[(\d+)\] (.+?)(?: \((score|rrf) (-?\d+\.\d{4})\))?$")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, news_qa, tiny_models):
    out = tmp_path_factory.mktemp("chat") / "index"
    build_index(news_qa, out, IndexSettings(embedding_model=tiny_models.bi_encoder_dir()))
    return out


def parse(text: str) -> tuple[str, list[tuple[int, str, str | None]]]:
    """The answer line and the (number, title, score label) of each source line (after the
    question line that ``--question`` prints)."""
    lines = text.strip().splitlines()
    if lines[0].startswith("질문: "):
        lines = lines[1:]
    assert lines[0].startswith("답변: ")
    if lines[1].startswith("근거: "):  # the sources the answer cites, by title
        cited = lines.pop(1)
        for n in re.findall(r"\[(\d+)\]", lines[0]):
            assert f"[{n}] " in cited
    assert lines[2] == "출처:"
    sources = []
    for header, snippet in zip(lines[3::2], lines[4::2], strict=True):
        m = SOURCE_LINE.match(header)
        assert m, header
        assert snippet.startswith("    ") and snippet.strip()
        sources.append((int(m[1]), m[2], m[3]))
    return lines[0].removeprefix("답변: "), sources


def test_one_shot_question_answers_from_the_bm25_index(index_dir, news_qa, capsys):
    rc = main(
        ["chat", str(index_dir), "--question", QUESTION, "--first-stage", "bm25", "--top-n", "3"]
    )
    assert rc == 0
    answer, sources = parse(capsys.readouterr().out)
    gold = news_qa.filter(lambda r: r["question"] == QUESTION)[0]
    assert [n for n, _, _ in sources] == [1, 2, 3]
    assert sources[0][1] == gold["title"]  # BM25 finds the article
    sentence, cited = answer.rsplit(" [", 1)
    assert cited == "1]"
    assert sentence in split_sentences(gold["context"])
    assert "1조 2천억 원" in sentence


def test_reranker_hybrid_and_json_output(index_dir, tiny_models, capsys):
    rc = main(
        [
            "chat",
            str(index_dir),
            "-q",
            QUESTION,
            "-q",
            "부산시는 무엇을 발표했나?",
            "--cross-encoder",
            str(tiny_models.cross_encoder_dir()),
            "--first-stage",
            "hybrid",
            "--no-check",
            "--k",
            "10",
            "--top-n",
            "4",
            "--json",
        ]
    )
    assert rc == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in results] == [QUESTION, "부산시는 무엇을 발표했나?"]
    for r in results:
        assert [s["rank"] for s in r["sources"]] == [1, 2, 3, 4]
        scores = [s["score"] for s in r["sources"]]
        assert all(isinstance(s, float) for s in scores)
        assert scores == sorted(scores, reverse=True)
        assert all(s["title"] and s["context_id"] for s in r["sources"])
        sentence, n = re.fullmatch(r"(.+) \[(\d)\]", r["answer"]).groups()
        assert sentence in r["sources"][int(n) - 1]["text"]


@pytest.mark.parametrize("fusion", ["none", "rrf"])
def test_text_output_shows_reranker_scores(index_dir, tiny_models, capsys, fusion):
    rc = main(
        [
            "chat",
            str(index_dir),
            "-q",
            QUESTION,
            "--cross-encoder",
            str(tiny_models.cross_encoder_dir()),
            "--first-stage",
            "bm25",
            "--no-check",
            "--top-n",
            "2",
            "--rerank-fusion",
            fusion,
        ]
    )
    assert rc == 0
    answer, sources = parse(capsys.readouterr().out)
    assert [label for _, _, label in sources] == ["score", "score"]
    assert re.fullmatch(r".+ \[[12]\]", answer)


def test_interactive_loop_answers_each_line_until_exit(index_dir, monkeypatch, capsys):
    questions = f"{QUESTION}\n\n   \n부산시는 무엇을 발표했나?\nexit\n그 다음 질문\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(questions))
    assert main(["chat", str(index_dir), "--first-stage", "dense", "--top-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("답변: ") == 2
    assert out.count("출처:\n[1] ") == 2


def test_local_llm_streams_its_answer(index_dir, tiny_causal_lm, capsys):
    rc = main(
        [
            "chat",
            str(index_dir),
            "-q",
            QUESTION,
            "--llm",
            str(tiny_causal_lm),
            "--first-stage",
            "bm25",
            "--top-n",
            "2",
        ]
    )
    assert rc == 0
    answer, sources = parse(capsys.readouterr().out)
    assert answer.strip() and len(sources) == 2


def test_each_question_is_printed_above_its_answer(index_dir, capsys):
    second = "부산시는 무엇을 발표했나?"
    argv = ["chat", str(index_dir), "-q", QUESTION, "-q", second, "--first-stage", "bm25"]
    assert main([*argv, "--top-n", "1"]) == 0
    first, other = capsys.readouterr().out.split("\n\n질문: ")
    assert first.startswith(f"질문: {QUESTION}\n답변: ")
    assert other.startswith(f"{second}\n답변: ")
    assert len(parse(first)[1]) == 1 and len(parse("질문: " + other)[1]) == 1


@pytest.mark.parametrize("stage", ["bm25", "dense", "hybrid"])
def test_k_and_top_n_beyond_the_index_return_all_of_it(index_dir, capsys, stage):
    """The one rule of every command (in each --help): more than the corpus holds returns all
    of it, without a warning."""
    argv = ["chat", str(index_dir), "-q", QUESTION, "--first-stage", stage, "--no-progress"]
    assert main([*argv, "--k", "1000", "--top-n", "1000"]) == 0
    out, err = capsys.readouterr()
    assert len(parse(out)[1]) == 32 and err == ""  # the index holds 32 passages


def test_the_k_rule_is_in_the_help(capsys):
    from lc_klue.commands import K_RULE

    for command in ("chat", "evaluate", "benchmark"):
        assert main([command, "--help"]) == 0
        assert " ".join(capsys.readouterr().out.split()).count(K_RULE) == 2, command  # k, top-n


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-q", "   "], "empty question"),
        (["-q", QUESTION, "--llm", "nosuchprovider:x"], "provider"),
        (["-q", QUESTION, "--cross-encoder", "/no/such/model"], "not found"),
        (["-q", QUESTION, "--top-n", "0"], "argument --top-n: must be a positive integer, got 0"),
        (["-q", QUESTION, "--k", "0"], "argument --k: must be a positive integer, got 0"),
    ],
)
def test_user_errors_are_one_line_messages(index_dir, capsys, argv, message):
    assert main(["chat", str(index_dir), "--first-stage", "bm25", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lc-klue chat: error: ") and message in err


@pytest.mark.parametrize("flag", ["--cross-encoder", "--embedding-model"])
def test_a_mistyped_model_path_fails_at_once(tmp_path, flag):
    from tests.kit import run_cli_fresh

    (tmp_path / "models").mkdir()
    rc, err, heavy = run_cli_fresh(["chat", "idx", "-q", "x", flag, "models/nope"], cwd=tmp_path)
    assert rc == 2 and heavy == [] and err.endswith(" not found\n") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-q", QUESTION, "-q", ""], "argument --question/-q: empty question (see --help)"),
        (["-q", QUESTION, "--llm", "nosuchprovider:x"], "Unable to infer model provider"),
        (["-q", QUESTION, "--llm", "./no/such/llm"], "no such model directory"),
    ],
)
def test_bad_arguments_fail_before_anything_is_loaded(tmp_path, argv, message):
    """An empty question or an unusable --llm is refused before the index or any model is
    loaded (the first question is not answered first)."""
    from tests.kit import run_cli_fresh

    (tmp_path / "idx").mkdir()
    rc, err, heavy = run_cli_fresh(["chat", "idx", *argv], cwd=tmp_path)
    assert (rc, heavy) == (2, []) and err.startswith("lc-klue chat: error: ")
    assert message in err and err.count("\n") == 1
    rc, err, heavy = run_cli_fresh(["chat", "nowhere", "-q", QUESTION], cwd=tmp_path)
    assert (rc, err, heavy) == (2, "lc-klue chat: error: nowhere: index directory not found\n", [])


def test_a_missing_provider_package_fails_before_anything_is_loaded(tmp_path):
    """--llm openai:… without langchain-openai: found with importlib.util.find_spec."""
    import importlib.util

    from tests.kit import run_cli_fresh

    if importlib.util.find_spec("langchain_openai") is not None:
        pytest.skip("langchain-openai is installed")
    (tmp_path / "idx").mkdir()
    argv = ["chat", "idx", "-q", QUESTION, "--llm", "openai:gpt-4o-mini"]
    rc, err, heavy = run_cli_fresh(argv, cwd=tmp_path)
    assert (rc, err, heavy) == (
        2,
        "lc-klue chat: error: llm 'openai:gpt-4o-mini': provider package missing: "
        "pip install langchain-openai\n",
        [],
    )


def test_missing_index_directory(tmp_path, capsys):
    assert main(["chat", str(tmp_path / "none"), "-q", QUESTION]) == 2
    assert "index directory not found" in capsys.readouterr().err


def test_the_saved_pipeline_answers_and_a_near_chance_reranker_is_left_out(
    index_dir, tiny_models, capsys, caplog
):
    argv = ["chat", str(index_dir), "-q", QUESTION, "--top-n", "3", "--json", "--no-progress"]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["sources"][0]["title"] == "부산시, 2027년까지 해상 풍력 단지 조성"
    assert plain["citations"] and "1조 2천억 원" in plain["answer"]
    # the untrained cross-encoder scores every pair alike: told so, and not used
    assert main([*argv, "--cross-encoder", str(tiny_models.cross_encoder_dir())]) == 0
    reranked = json.loads(capsys.readouterr().out)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("near chance: left out" in m for m in warned)
    assert reranked == plain  # the same pipeline, the same answer
