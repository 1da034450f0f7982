"""Atomic saves leave either the old output or the complete new one."""

import os
from pathlib import Path

import pytest

from lc_klue.storage import atomic_directory, atomic_write_text


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
