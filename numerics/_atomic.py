"""Atomic file writes: a temporary file in the same folder, flushed to disk, then renamed over the target.

A reader (another `nnqg` process, a later run) sees the old file or the whole new one, never half of it; an
interrupt (Ctrl-C) or an error removes the temporary file and leaves the target as it was. mkstemp creates files
0600; generated kernels, reports and LaTeX are ordinary readable files, so they are made 0644. An ``OSError`` (a
full disk, a read-only folder, a name too long) names the target file, not the temporary one, so the CLI can say
which file could not be written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes, *, mode: int = 0o644) -> None:
    path = Path(path)
    try:
        _write(path, data, mode)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from exc


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path | str, text: str, *, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)
