"""The README matches the code: its Architecture table names every module and only paths that
exist, its Options table names every flag of every command, and its commands parse."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _layout_rows() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_path_in_the_layout_exists() -> None:
    for row in _layout_rows():
        folder = None
        for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
            assert (REPO / name).exists(), name
            folder = name if name.endswith("/") else folder
        for module in re.findall(r"`(\w+\.py)`", row.split("|")[2]):
            assert folder and (REPO / folder / module).exists(), (folder, module)


def test_every_module_is_in_the_layout() -> None:
    named = " ".join(_layout_rows())
    for package in ("lc_klue", "training"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name == "__init__.py" or path.name.startswith("_"):
                continue
            if path.parent.name in ("commands", "resources"):
                continue  # named as folders: one module per subcommand, bundled data
            assert path.name in named, path.relative_to(REPO)


def _commands(name: str) -> list[list[str]]:
    """The ``lc-klue`` command lines of a markdown file's bash blocks (continuations joined)."""
    import shlex

    text = (REPO / name).read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("lc-klue ") or " lc-klue " in line:  # also after `pip ... &&`
                lines.append(line[line.index("lc-klue ") :])
    return [shlex.split(line)[1:] for line in lines]


def test_every_readme_command_parses() -> None:
    """No README command uses a flag or value the CLI does not take."""
    from lc_klue.cli import build_parser

    parser = build_parser()
    commands = _commands("README.md") + _commands("results/README.md")
    assert len(commands) > 10
    for argv in commands:
        parser.parse_args(argv)  # exits (fails the test) on a bad flag


def test_no_documented_benchmark_writes_over_the_committed_results() -> None:
    for name in ("README.md", "results/README.md"):
        for argv in _commands(name):
            if "benchmark" in argv:
                assert "--output-dir" in argv, argv
                assert argv[argv.index("--output-dir") + 1] not in ("results", "results/"), argv


def test_the_docs_name_the_provider_package_and_no_machine_paths() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install langchain-openai" in readme
    for path in [REPO / "README.md", *sorted((REPO / "results").glob("*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not re.search(r"(source|activate)\s+/", line), (path.name, line)


def _flags() -> dict[str, set[str]]:
    """Every option string of every ``lc-klue`` (sub)command, with the commands that take it."""
    import argparse

    from lc_klue.cli import build_parser

    found: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}".strip())
            for flag in action.option_strings:
                found.setdefault(flag, set()).add(name or "lc-klue")

    walk(build_parser(), "")
    return found


def test_every_flag_is_in_the_options_table() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(-{1,2}[a-z][\w-]*)`", table))
    missing = sorted(set(_flags()) - named - {"-h", "--help"})
    assert not missing, f"flags missing from the README's Options table: {missing}"
    unknown = sorted(named - set(_flags()))
    assert not unknown, f"the Options table names flags no command takes: {unknown}"
