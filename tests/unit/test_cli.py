"""The ``lc-klue`` console script: every command listed, a fast ``--help``, one-line errors."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lc_klue.cli import COMMANDS, main


def test_cli_lists_every_command(capsys) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in COMMANDS:
        assert command in text


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from lc_klue.cli import main;"
        "rc = main(['--help']); print(time.perf_counter() - t);"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'datasets')"
        " if m in sys.modules))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "[]", lines[-1]
    assert time.perf_counter() - start < 10  # generous on a loaded CI machine; measured < 1 s


def test_usage_errors_are_one_line(capsys) -> None:
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("lc-klue evaluate: error: the following arguments are required: data")


def test_ctrl_c_prints_interrupted_on_its_own_line(monkeypatch, capsys) -> None:
    """The open progress bar ends its line first, and nothing is drawn after the message."""
    from tqdm import tqdm

    import lc_klue.commands.data as data_command

    def interrupted(args: object) -> int:
        bar = tqdm(total=10, desc="training")
        bar.update(3)
        raise KeyboardInterrupt

    monkeypatch.setattr(data_command, "run", interrupted)
    assert main(["data", "sts", "x.csv"]) == 130
    err = capsys.readouterr().err
    assert err.endswith("\nlc-klue data: interrupted\n")
    assert "training" in err.splitlines()[-2]  # the bar's own line, ended before the message


DEVICE_COMMANDS = [
    ["index", "missing.jsonl", "out"],
    ["evaluate", "missing.jsonl"],
    ["chat", "missing-index", "-q", "질문"],
    ["train", "sts", "out"],
    ["benchmark"],
]


@pytest.mark.parametrize("argv", DEVICE_COMMANDS, ids=lambda a: a[0])
def test_a_device_the_machine_lacks_is_one_line_before_any_work(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked with the flags (a missing input would otherwise be reported first, and chat on
    a BM25-only index would run on the CPU without a word)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*argv, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "error: argument --device: 'cuda': CUDA is not available on this machine" in err


def test_the_rerank_timing_example_checks_its_device_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    script = Path(__file__).parents[2] / "examples" / "rerank_timing.py"
    monkeypatch.setattr(sys, "argv", [script.name, "missing.json", "model", "--device", "cuda"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "rerank_timing.py: error: argument --device: 'cuda': CUDA is not available on this "
        "machine (see --help)\n"
    )


@pytest.mark.parametrize("verbose", [False, True])
def test_the_model_libraries_log_errors_only_unless_verbose(tmp_path: Path, verbose: bool) -> None:
    # transformers' LOAD REPORT tables and optional-package notices, sentence-transformers'
    # "Converting ... to CrossEncoder": hidden in a normal run, shown with -v
    code = (
        "import logging, os, sys; from lc_klue.cli import main; "
        f"main({['-v'] if verbose else []} + ['tune', 'missing.json', '--output', 'p.json']); "
        "print(os.environ.get('TRANSFORMERS_VERBOSITY'), "
        "logging.getLogger('sentence_transformers').level, 'transformers' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRANSFORMERS_VERBOSITY"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    expected = "None 0 False" if verbose else "error 40 False"
    assert out.stdout.split("\n")[-2] == expected


def test_an_embedded_qdrant_closes_without_a_traceback_at_exit(tmp_path: Path) -> None:
    pytest.importorskip("qdrant_client")
    code = (
        "from lc_klue.resources import NEWS_QA; "
        "from lc_klue.retrieval.qdrant_store import KlueQdrant, connect; "
        f"KlueQdrant.from_mrc(str(NEWS_QA), None, client=connect({str(tmp_path / 'q')!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr


def test_every_option_of_every_command_has_help_text() -> None:
    import argparse

    from lc_klue.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.help is None:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings)}")

    walk(build_parser(), [])
    assert missing == []
