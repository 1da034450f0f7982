"""``lc-klue data``: sizes of a data set, one-line errors."""

import json

from lc_klue.cli import main
from lc_klue.resources import NEWS_QA, STS_PAIRS


def test_sizes_of_bundled_data(capsys) -> None:
    assert main(["data", "mrc", str(NEWS_QA), "--title-split", "0.3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["questions"] == 96 and info["contexts"] == 32
    assert info["train_questions"] + info["test_questions"] == 96
    assert main(["data", "sts", str(STS_PAIRS)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == info["train"] + info["validation"]


def test_missing_file_is_one_line(capsys, tmp_path) -> None:
    assert main(["data", "mrc", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lc-klue data: error: {tmp_path / 'missing.json'}: file not found"
