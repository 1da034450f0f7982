"""File reading helpers: empty files, where a row is in its file, the hub data-set probe."""

from pathlib import Path

import pytest

from lc_klue.data import load_mrc, load_passages, load_sts
from lc_klue.data.io import row_location
from lc_klue.errors import DataError


def test_row_location_counts_file_lines(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text('h1,h2\n"x\ny",1\n\nz,2\n', encoding="utf-8")
    assert [row_location(csv, i) for i in (0, 1)] == ["line 2", "line 5"]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"a": 1}\n\n{"a": 2}\n', encoding="utf-8")
    assert row_location(jsonl, 1) == "line 3"
    assert row_location(tmp_path / "a.parquet", 0) == "record 1"


def test_broken_json_and_jsonl_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "가", "context": "나"}\n\n{"question": "다", "context"\n', "utf-8")
    for load in (load_mrc, load_passages, load_sts):
        with pytest.raises(DataError, match=r"bad\.jsonl:3: not valid JSON \(Expecting ':'"):
            load(bad)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"question": "가", "context": "나"}\n["다", "라"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"rows\.jsonl:2: expected a JSON object, got list"):
        load_mrc(rows)
    nested = tmp_path / "squad.json"
    nested.write_text('{"data": [\n  {"title": "t",}\n]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"squad\.json:2: not valid JSON"):
        load_mrc(nested)
    korean = tmp_path / "euc.json"  # not UTF-8: one line, not a decoder traceback
    korean.write_bytes('{"data": []} // 한국어'.encode("euc-kr"))
    with pytest.raises(DataError, match=r"euc\.json: not a text file \(not UTF-8"):
        load_mrc(korean)


def test_an_unreachable_hub_is_one_probe_not_a_minute_of_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datasets
    import huggingface_hub

    probes = []

    def unreachable(self: object, repo_id: str, **kwargs: object) -> None:
        probes.append(repo_id)
        raise ConnectionError("Name or service not known")

    def loader(*args: object, **kwargs: object) -> None:  # pragma: no cover - must not run
        raise AssertionError("load_dataset must not be reached")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", unreachable)
    monkeypatch.setattr(datasets, "load_dataset", loader)
    with pytest.raises(DataError, match=r"STS data set 'klue/klue': cannot reach the Hugging Face"):
        load_sts("klue")
    with pytest.raises(DataError, match=r"MRC data set 'klue/klue': .*pass a local file"):
        load_mrc("klue")
    assert probes == ["klue/klue", "klue/klue"]
