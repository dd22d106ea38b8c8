"""Reading a user's input file with bounded work: a regular file, at most a stated size, UTF-8.

Every file nnqg reads on a user's behalf (a metric, a sweep spec, a report) goes through
:func:`read_user_text`, so a symlink to ``/dev/zero``, a FIFO that never delivers, a directory or a
multi-gigabyte file is refused with an :class:`InvalidArgument` naming the file (exit 2), never a hang or a
``MemoryError``. The file is opened non-blocking and checked with ``fstat`` on the opened descriptor, so a path
swapped between a check and the open cannot slip a device in.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ._errors import InvalidArgument

#: the largest input file nnqg reads (a metric, a spec, a report are a few KB; a report of every claim ~200 KB)
MAX_INPUT_BYTES = 4 * 1024 * 1024


def read_user_text(path: str | os.PathLike[str], what: str, *, max_bytes: int = MAX_INPUT_BYTES,
                   hint: str = "") -> str:
    """The text of ``path``, or an :class:`InvalidArgument` that starts with ``what`` (e.g. ``"metric file"``,
    ``"--report"``) and names the file. ``hint`` is appended to the not-found message (how to make one)."""
    p = Path(path)
    name = f"{what} {str(p)!r}"
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InvalidArgument(f"{name}: no such file{hint}") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{name} is a directory; give a file") from None
    except OSError as exc:
        raise InvalidArgument(f"{name} cannot be opened ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f"{name} is a directory; give a file")
        if not stat.S_ISREG(st.st_mode):
            raise InvalidArgument(f"{name} is not a regular file (a device, pipe or socket); nnqg reads only "
                                  f"regular files")
        if st.st_size > max_bytes:
            raise InvalidArgument(f"{name} is {st.st_size:,} bytes; the limit is {max_bytes:,} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:  # st_size can lie (a file growing under us): the cap is on what is read
            try:
                b = os.read(fd, 1 << 16)
            except OSError as exc:
                raise InvalidArgument(f"{name} cannot be read ({exc.strerror or exc})") from None
            if not b:
                break
            total += len(b)
            if total > max_bytes:
                raise InvalidArgument(f"{name} is larger than the limit of {max_bytes:,} bytes")
            chunks.append(b)
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{name} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
