"""Where nnqg keeps its caches, and what happens when that place is unusable.

The cache root is ``$NNQG_CACHE_DIR``, else ``$XDG_CACHE_HOME/nnqg``, else ``~/.cache/nnqg`` (an empty or relative
``XDG_CACHE_HOME`` is ignored, as the XDG specification asks). It holds ``kernels/`` (generated kernel modules),
``jit/`` (numba machine code) and ``symbolic/`` (derivation results). A root that cannot be used -- a regular
file, ``/dev/null``, a read-only folder or file system, a read-only home -- does not stop a run: nnqg says so
once (:class:`CacheWarning`) and uses a temporary folder, removed at exit, for this run only. Only when no
temporary folder can be made either is it an error (exit 2).

Trust model: every cached file is checked before it is used (a kernel module by the sha256 of its body, machine
code and derivation results by a sha256 seal, see :mod:`nnqg.numerics._sealed`), which detects corruption --
truncation, flipped bits, a crash mid-write -- and rebuilds. It does not authenticate: the seal is stored beside
the data, so whoever can write the cache folder can forge both, and machine code and pickles are code. Keep the
cache folder writable by you alone (the default under your home is).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from nnqg.derivations import NnqgError


class CacheWarning(UserWarning):
    """A cache file or folder was unusable (corrupt, unwritable); nnqg rebuilt it or worked around it."""


class KernelCacheWarning(CacheWarning):
    """A cached kernel file or its numba machine code was corrupt or stale and has been regenerated."""


_usable: dict[str, Path] = {}


def configured_root() -> Path:
    """The cache root the environment asks for (not yet checked)."""
    env = os.environ.get("NNQG_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nnqg"


def cache_root() -> Path:
    """The cache root, created and known to be writable; a temporary folder (with a :class:`CacheWarning`)
    when the configured one is unusable."""
    want = configured_root()
    key = str(want)
    got = _usable.get(key)
    if got is not None:
        return got
    try:
        want.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=want).close()  # writable, and not a read-only file system
        got = want
    except OSError as exc:
        got = _temporary_root(want, exc)
    _usable[key] = got
    return got


def cache_subdir(name: str) -> Path:
    """``cache_root() / name``, created."""
    d = cache_root() / name
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NnqgError(f"the cache folder {str(d)!r} cannot be created ({exc.strerror or exc}); set "
                        f"NNQG_CACHE_DIR to a writable folder") from None
    return d


def _temporary_root(want: Path, exc: OSError) -> Path:
    why = "not a folder" if isinstance(exc, (FileExistsError, NotADirectoryError)) else \
        (exc.strerror or type(exc).__name__)
    try:
        tmp = Path(tempfile.mkdtemp(prefix="nnqg-cache-"))
    except OSError as exc2:
        raise NnqgError(f"the cache folder {str(want)!r} is unusable ({why}) and no temporary folder can be made "
                        f"({exc2.strerror or exc2}); set NNQG_CACHE_DIR to a writable folder") from None
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    source = "NNQG_CACHE_DIR" if os.environ.get("NNQG_CACHE_DIR") else "the default cache folder"
    warnings.warn(f"{source} {str(want)!r} is unusable ({why}); this run uses the temporary cache {str(tmp)!r}, "
                  f"removed at exit, so kernels are compiled again next time; set NNQG_CACHE_DIR to a writable "
                  f"folder", CacheWarning, stacklevel=3)
    return tmp
