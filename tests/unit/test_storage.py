"""Atomic saves leave either the old output or the complete new one."""

import os
from pathlib import Path

import pytest

from lc_klue.errors import DataError
from lc_klue.storage import atomic_directory, atomic_write_text, refuse_existing


def test_atomic_directory_replaces_on_success(tmp_path: Path) -> None:
    out = tmp_path / "model"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("1")
    with atomic_directory(out) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_directory_keeps_old_output_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "model"
    with atomic_directory(out) as tmp:
        (tmp / "good.txt").write_text("ok")
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "half.txt").write_text("...")
        raise RuntimeError("crash while saving")
    assert [p.name for p in out.iterdir()] == ["good.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_write_text(tmp_path: Path) -> None:
    f = atomic_write_text(tmp_path / "sub" / "m.json", "{}")
    assert f.read_text() == "{}" and len(list(f.parent.iterdir())) == 1


def test_outputs_are_not_private(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "a.txt").write_text("1")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o777 & ~mask
    f = atomic_write_text(tmp_path / "m.json", "{}")
    assert f.stat().st_mode & 0o777 == 0o666 & ~mask


def test_files_written_private_inside_follow_the_umask(tmp_path: Path) -> None:
    """Libraries save some files (``model.safetensors``) through private temporary files."""
    import tempfile

    with atomic_directory(tmp_path / "model") as tmp:
        fd, name = tempfile.mkstemp(dir=tmp)  # mode 0600
        os.close(fd)
        os.rename(name, tmp / "model.safetensors")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "config.json").write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    for f in ("model.safetensors", "sub/config.json"):
        assert (tmp_path / "model" / f).stat().st_mode & 0o777 == 0o666 & ~mask, f


def test_refuse_existing_says_what_is_there(tmp_path: Path) -> None:
    refuse_existing(tmp_path / "new", "model directory")  # nothing there: fine
    (tmp_path / "empty").mkdir()
    refuse_existing(tmp_path / "empty", "model directory", marker="metrics.json")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "metrics.json").write_text("{}")
    with pytest.raises(DataError, match=r"done: already exists \(a finished model directory\); "):
        refuse_existing(tmp_path / "done", "model directory", marker="metrics.json")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"\(a folder that is not a finished model directory\)"):
        refuse_existing(tmp_path / "other", "model directory", marker="metrics.json")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match=r"\(a file\)"):
        refuse_existing(tmp_path / "file", "model directory", marker="metrics.json")
    refuse_existing(tmp_path / "done", "model directory", overwrite=True)
