"""The reproduce scripts never write over the committed records in ``results/``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[3] / "training").glob("reproduce_*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_reproduce_script_writes_its_records_under_results_rerun(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    targets = re.findall(r"(?:cp\s+\S+\s+|--output-dir\s+|mkdir -p\s+[^\n]*?)(\S*results\S*)", code)
    assert all("results/rerun" in t or "$RECORDS" in t for t in targets), targets
    defaults = re.findall(r"RECORDS=\$\{\d+:-([^}]+)\}", code)
    assert defaults == ["results/rerun/training"]


def test_there_are_reproduce_scripts() -> None:
    assert {p.name for p in SCRIPTS} >= {"reproduce_e5.sh", "reproduce_kiwi.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_reproduce_script_uses_only_flags_the_cli_has(script: Path) -> None:
    import argparse

    from lc_klue.commands import train

    parser = argparse.ArgumentParser()
    train.register(parser.add_subparsers())
    stages = parser._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0]  # type: ignore[union-attr]
    text = re.sub(r"\\\n", " ", script.read_text(encoding="utf-8"))
    for stage, rest in re.findall(r"lc-klue train (\S+) (.*)", text):
        known = stages.choices[stage]._option_string_actions
        flags = set(re.findall(r"(--[a-z][a-z-]*)", rest))
        assert flags <= set(known), (stage, flags - set(known))
