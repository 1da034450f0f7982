"""Atomic saves: write into a temporary sibling, then rename, so no half-written output remains."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lc_klue.errors import DataError


def home_dir(*parts: str) -> Path:
    """lc-klue's own folder for caches and demo models: ``$LC_KLUE_HOME`` or
    ``~/.cache/lc-klue``, with ``parts`` appended."""
    home = os.environ.get("LC_KLUE_HOME") or Path.home() / ".cache" / "lc-klue"
    return Path(home).expanduser().joinpath(*parts)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _follow_umask(root: Path) -> None:
    """Give every file under ``root`` the mode the umask gives new files: libraries that write
    through private temporary files (``model.safetensors``) would leave them 0600."""
    mask = _umask()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            executable = path.stat().st_mode & 0o111
            path.chmod((0o777 if executable else 0o666) & ~mask)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds.

    Its files get the modes the umask gives (as if written in place). On an exception the
    temporary directory is removed and an existing ``path`` is untouched.
    """
    final = Path(path).expanduser().resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output is not
    try:
        yield tmp
        _follow_umask(tmp)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            old.rmdir()
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and ``os.replace``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``."""
    final = Path(path).expanduser()
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the output is not
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def refuse_existing(
    path: str | Path, what: str, overwrite: bool = False, *, marker: str | None = None
) -> None:
    """Refuse to replace a finished output: raise :class:`DataError` when ``path`` exists (a
    file, or a non-empty directory) unless ``overwrite``. ``marker`` names the file that makes
    a directory a finished output, for the message."""
    p = Path(path).expanduser()
    if overwrite or not p.exists() or (p.is_dir() and not any(p.iterdir())):
        return
    if marker is not None and not p.is_dir():
        found = "a file"
    elif marker is not None and not (p / marker).exists():
        found = f"a folder that is not a finished {what}"
    else:
        found = f"a finished {what}"
    raise DataError(f"{p}: already exists ({found}); pass --overwrite to replace it")
