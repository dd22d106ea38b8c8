"""Input files of every type a user (or an attacker) can hand to ``nnqg``, shared by the fuzz tests and the
red-team campaign (``bench/redteam.py``)."""

from __future__ import annotations

import os
import signal
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

FILE_KINDS = ["directory", "fifo", "/dev/zero", "/dev/urandom", "/dev/null", "dangling symlink", "symlink loop",
              "sparse 6 GiB", "binary garbage", "latin-1", "empty", "missing", "socket"]


def make_input(kind: str, folder: Path, junk: bytes = b"") -> Path:
    """``folder/input.toml`` made into ``kind`` (``junk``: extra bytes for the garbage kinds)."""
    p = folder / "input.toml"
    if kind == "directory":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind.startswith("/dev/"):
        p.symlink_to(kind)
    elif kind == "dangling symlink":
        p.symlink_to(folder / "nowhere")
    elif kind == "symlink loop":
        p.symlink_to(folder / "loop.toml")
        (folder / "loop.toml").symlink_to(p)
    elif kind == "sparse 6 GiB":  # no disk space used; st_size alone is over every limit
        with open(p, "wb") as fh:
            fh.truncate(6 * 2**30)
    elif kind == "binary garbage":
        p.write_bytes(b"\xff\xfe" + junk)
    elif kind == "latin-1":
        p.write_bytes(b"name = '\xe9'\n" + junk.replace(b"\n", b" "))
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(str(p))
        except OSError:  # a path too long for a socket: a one-byte file instead
            p.write_bytes(b"\0")
        finally:
            s.close()
    elif kind != "missing":
        raise ValueError(kind)
    return p


class Hang(BaseException):
    """Raised by :func:`bounded` when an in-process call does not answer in time (a BaseException so that no
    ``except Exception`` in the code under test swallows it)."""


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the block runs longer than ``seconds`` (SIGALRM)."""
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
