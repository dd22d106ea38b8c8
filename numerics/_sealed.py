r"""Cache files sealed with a sha256 of their contents, checked before a byte of the payload is used.

A sealed file is ``b"nnqg-sealed sha256 " + hex(sha256(payload)) + b"\n" + payload``, written atomically
(temporary file, fsync, rename). :func:`unseal` reads the whole file, recomputes the digest and returns the payload
only when it matches; otherwise it raises :class:`BrokenSeal`, so a truncated file, a flipped bit or a crash
mid-write is detected *before* the payload is unpickled or handed to LLVM. (What the seal does not do -- stop
someone who can write the cache folder -- is stated in :mod:`nnqg.numerics._cachedir`.)

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
>>> seal(p, b"payload")
>>> unseal(p)
b'payload'
>>> _ = p.write_bytes(p.read_bytes().replace(b"payload", b"paYload"))
>>> unseal(p)
Traceback (most recent call last):
...
nnqg.numerics._sealed.BrokenSeal: ... its sha256 does not match its seal
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ._atomic import atomic_write_bytes

MAGIC = b"nnqg-sealed sha256 "
_HEADER = len(MAGIC) + 64 + 1


class BrokenSeal(Exception):
    """A sealed file is not what was written (truncated, edited, or not a sealed file at all)."""


def seal(path: Path | str, payload: bytes) -> None:
    """Write ``payload`` to ``path`` with its sha256, atomically."""
    digest = hashlib.sha256(payload).hexdigest().encode("ascii")
    atomic_write_bytes(path, MAGIC + digest + b"\n" + payload)


def unseal(path: Path | str) -> bytes:
    """The payload of the sealed file ``path``; :class:`BrokenSeal` when it does not match its digest,
    ``FileNotFoundError`` when there is no file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < _HEADER or not data.startswith(MAGIC) or data[_HEADER - 1:_HEADER] != b"\n":
        raise BrokenSeal(f"{path}: not a sealed nnqg cache file (truncated or overwritten)")
    payload = data[_HEADER:]
    if hashlib.sha256(payload).hexdigest().encode("ascii") != data[len(MAGIC):_HEADER - 1]:
        raise BrokenSeal(f"{path}: its sha256 does not match its seal")
    return payload
