r"""numba's on-disk machine-code cache, sealed and kept in nnqg's cache folder.

``@njit(cache=True)`` writes an index (``.nbi``) and machine code (``.nbc``) per function and loads them back
with ``pickle`` and LLVM, trusting every byte: two flipped bits in an ``.nbc`` make every later run segfault, and
a changed 8-byte constant silently changes a result. :func:`njit_cached` is ``njit`` with a cache that

* lives in ``<cache root>/jit/`` (:func:`nnqg.numerics._cachedir.cache_root`: ``$NNQG_CACHE_DIR``), never in
  the installed package's ``__pycache__``, ``~/.cache/numba`` or ``$NUMBA_CACHE_DIR``; files are named
  ``<module>.<function>-<line>.pyXY.nbi`` / ``.<n>.nbc`` after the function's importable module name;
* seals every file (:mod:`nnqg.numerics._sealed`): the sha256 is checked before the bytes are unpickled, and a
  mismatch deletes the file, warns (:class:`KernelCacheWarning`) and recompiles -- the run then computes what a
  run on a clean cache computes;
* stores the index key inside each ``.nbc`` and checks it on load, so an index and a data file written by two
  processes racing on the same function can never pair one signature with another's machine code;
* keys the index by the sha256 of the defining source file (numba >= 0.61 does too; 0.60 used its mtime);
* treats a failure to *save* (a full disk, a read-only folder) as a warning: the compiled code is used, and
  compiled again next time.

It plugs into numba through the documented pieces of ``numba.core.caching`` (a ``FunctionCache`` with its own
locator and index/data file), the same ones numba's own ``cache=True`` uses.

``STATS["corrupt"]`` counts the sealed files found broken in this process.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import os
import pickle
import sys
import warnings
from typing import Any, Callable

from numba import njit
from numba.core.caching import CompileResultCacheImpl, FunctionCache, IndexDataCacheFile, _Cache, _CacheLocator

from ._cachedir import CacheWarning, KernelCacheWarning, cache_subdir
from ._sealed import BrokenSeal, seal, unseal

STATS = {"corrupt": 0}


def njit_cached(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` whose machine code is cached on disk, sealed (see the module docstring)."""
    if "cache" in options:
        raise TypeError("njit_cached: do not pass cache=; the sealed cache is always on")

    def decorate(fn: Callable[..., Any]) -> Any:
        disp = njit(**options)(fn)
        disp._cache = _LazyCache(disp.py_func)  # the hook numba's own enable_caching() sets
        return disp

    return decorate


class _LazyCache(_Cache):
    """Builds the sealed cache at the first compile, not at import: importing nnqg touches no folder."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        self._py_func = py_func
        self._real: _SealedFunctionCache | None = None
        self._enabled = True

    def _get(self) -> "_SealedFunctionCache":
        if self._real is None:
            self._real = _SealedFunctionCache(self._py_func)
            if not self._enabled:
                self._real.disable()
        return self._real

    @property
    def cache_path(self) -> str:
        return self._get().cache_path

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        return self._get().load_overload(sig, target_context)

    def save_overload(self, sig: Any, data: Any) -> None:
        self._get().save_overload(sig, data)

    def enable(self) -> None:
        self._enabled = True
        if self._real is not None:
            self._real.enable()

    def disable(self) -> None:
        self._enabled = False
        if self._real is not None:
            self._real.disable()

    def flush(self) -> None:
        if self._real is not None:
            self._real.flush()


class _Locator(_CacheLocator):
    def __init__(self, py_func: Callable[..., Any], py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_subdir("jit"))

    def get_cache_path(self) -> str:
        return self._cache_path

    def ensure_cache_path(self) -> None:
        try:
            super().ensure_cache_path()
        except OSError:
            pass  # save() says so, once, when it cannot write

    def get_source_stamp(self) -> Any:
        with open(self._py_file, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func: Callable[..., Any], py_file: str) -> "_Locator":
        return cls(py_func, py_file)


class _Impl(CompileResultCacheImpl):
    def __init__(self, py_func: Callable[..., Any]) -> None:
        # numba picks a locator from its list (and $NUMBA_CACHE_DIR); nnqg always uses its own folder, and names
        # files after the importable module (two nnqg modules may share a file name)
        self._lineno = py_func.__code__.co_firstlineno
        self._locator = _Locator(py_func, inspect.getfile(py_func))
        fullname = f"{py_func.__module__}.{py_func.__qualname__}"
        self._filename_base = self.get_filename_base(fullname, getattr(sys, "abiflags", ""))


class _SealedFunctionCache(FunctionCache):
    _impl_class = _Impl

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        self._cache_file = _SealedIndexDataFile(cache_path=self._cache_path,
                                                filename_base=self._impl.filename_base,
                                                source_stamp=self._impl.locator.get_source_stamp())


class _SealedIndexDataFile(IndexDataCacheFile):
    """numba's index + data files, each sealed; the data file also carries its index key."""

    def _load_index(self) -> dict[Any, str]:
        try:
            payload = unseal(self._index_path)
        except FileNotFoundError:
            return {}
        except BrokenSeal as exc:
            _broken(self._index_path, exc)
            return {}
        version, stamp, overloads = pickle.loads(payload)
        if version != self._version or stamp != self._source_stamp:
            return {}  # another numba, or an edited source file: stale, not corrupt
        return overloads

    def _save_index(self, overloads: dict[Any, str]) -> None:
        seal(self._index_path, self._dump((self._version, self._source_stamp, overloads)))

    def load(self, key: Any) -> Any:
        name = self._load_index().get(key)
        if name is None:
            return None
        path = self._data_path(name)
        try:
            payload = unseal(path)
        except FileNotFoundError:
            return None
        except BrokenSeal as exc:
            _broken(path, exc)
            return None
        stored_key, data = pickle.loads(payload)
        return data if stored_key == key else None

    def save(self, key: Any, data: Any) -> None:
        try:
            overloads = self._load_index()
            name = overloads.get(key)
            if name is None:
                taken = set(overloads.values())
                name = next(n for n in (self._data_name(i) for i in itertools.count(1)) if n not in taken)
                overloads[key] = name
            seal(self._data_path(name), self._dump((key, data)))  # data first: an index never points at nothing
            self._save_index(overloads)
        except OSError as exc:
            warnings.warn(f"numba machine code could not be saved in {self._cache_path!r} ({exc.strerror or exc});"
                          f" it is used for this run and compiled again next time", CacheWarning, stacklevel=2)


def _broken(path: str, exc: BrokenSeal) -> None:
    STATS["corrupt"] += 1
    warnings.warn(f"numba machine code {path} is corrupt ({exc.args[0].split(': ', 1)[-1]}); deleted and "
                  f"recompiled", KernelCacheWarning, stacklevel=2)
    try:
        os.unlink(path)
    except OSError:
        pass
