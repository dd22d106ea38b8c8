r"""Residual kernels generated from SymPy expressions.

Given residual expressions :math:`R_k(a_1, \dots, a_n; c_1, \dots, c_m)` in *field* symbols :math:`a_i`
(arrays, one value per point) and *parameter* symbols :math:`c_j` (scalars), :func:`compile_residual` writes a
real Python module: common subexpressions eliminated by :func:`sympy.cse`, printed by SymPy's
``PythonCodePrinter`` (``math`` functions, which numba compiles natively), one fused loop over the points inside an
``@njit`` function (:func:`~nnqg.numerics._jitcache.njit_cached`), writing into a preallocated ``out[k, i]``. The
module carries a provenance header (source hash, SymPy/numba/nnqg versions, and a sha256 of every other line of
the file, header included), so

* a second run finds the file, checks the hash and imports it from the verified text (never from a
  ``.pyc``); the one signature the wrapper passes is compiled eagerly, so numba's machine code, cached by
  :mod:`nnqg.numerics._jitcache` (sealed ``.nbi`` index and ``.nbc`` files in ``<cache root>/jit/``), is
  checked and loaded here and LLVM is skipped; ``STATS`` counts what happened (files generated/reused/rebuilt,
  machine code loaded/compiled/rebuilt);
* a truncated or edited kernel file, or machine code that fails its seal, is detected, rebuilt, and a
  :class:`KernelCacheWarning` says so; the run then computes exactly what a run on a clean cache computes. A
  numba compile error is reported as one (naming the kernel file), never taken for a corrupt cache;
* integers and rationals beyond 2**53 are printed as float literals (numba's integers are 64-bit, and the kernel
  computes in float64 anyway), so ``2**64*q`` compiles;
* files are written to a temporary name and renamed (atomic on POSIX), so two processes compiling the same kernel
  at once both end with a complete file; Ctrl-C is held back while a kernel is written and compiled, so an
  interrupt never leaves a half-written kernel or a numba temporary file behind.

>>> import sympy as sp, numpy as np
>>> x, a = sp.symbols("x a", real=True)
>>> k = compile_residual([("r", a * sp.sin(x) ** 2 + a * sp.cos(x) ** 2 - a)], fields=[x], parameters=[a],
...                      name="doc_example")
>>> float(abs(k(x=np.linspace(0.0, 3.0, 7), a=2.5)).max()) < 1e-14
True
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from nnqg.derivations import EquationSet, InvalidArgument, NnqgError

from . import _jitcache
from ._atomic import atomic_write_text
from ._cachedir import KernelCacheWarning, cache_subdir

# 2: error_model="numpy" (IEEE inf/NaN, no ZeroDivisionError); 3: sealed machine-code cache, big integers as floats
GENERATOR_VERSION = "3"
_lock = threading.Lock()
_loaded: dict[str, Any] = {}
#: counts of what happened in this process, for the "reused the cache" message of `nnqg verify`:
#: kernel *files* generated / reused / rebuilt (corrupt or stale), and numba machine code loaded from numba's
#: on-disk cache (``jit_reused``), compiled by LLVM (``jit_compiled``), or recompiled because a cached file failed
#: its seal (``jit_rebuilt``).
STATS = {"generated": 0, "reused": 0, "rebuilt": 0, "jit_reused": 0, "jit_compiled": 0, "jit_rebuilt": 0}


def cache_dir() -> Path:
    """The folder of generated kernel modules, ``kernels/`` in the cache root (``$NNQG_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/nnqg`` or ``~/.cache/nnqg``; see :mod:`nnqg.numerics._cachedir`)."""
    return cache_subdir("kernels")


#: the largest integer a float64 holds exactly; beyond it numba's int64 literals overflow or round anyway
_EXACT_INT = 2**53


class _Printer(PythonCodePrinter):
    """Python printer with bare ``math`` names numba understands; refuses anything it cannot print.

    Integers and rationals with a part beyond 2**53 become float literals (the correctly rounded value): numba
    types an integer literal as int64 and refuses ``2**64`` ("Int value is too large")."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:  # names are sanitised by the caller
        return super()._print_Symbol(expr)

    def _print_Integer(self, expr: sp.Integer) -> str:
        v = int(expr)
        return repr(float(v)) if abs(v) > _EXACT_INT else super()._print_Integer(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        p, q = int(expr.p), int(expr.q)
        if abs(p) > _EXACT_INT or q > _EXACT_INT:
            return repr(p / q)  # Python's int / int is correctly rounded
        return super()._print_Rational(expr)


def _versions() -> dict[str, str]:
    import numba

    from nnqg import __version__

    return {"sympy": sp.__version__, "numba": numba.__version__, "nnqg": __version__}


def _sanitise(names: Sequence[str]) -> list[str]:
    out = []
    for n in names:
        s = "".join(c if (c.isalnum() or c == "_") else "_" for c in n)
        if not s or s[0].isdigit():
            s = "a_" + s
        out.append(s)
    if len(set(out)) != len(out):
        raise InvalidArgument(f"kernel arguments {list(names)} collide after sanitising to {out}")
    return out


def _generate_source(name: str, labels: Sequence[str], exprs: Sequence[sp.Expr], fields: Sequence[sp.Symbol],
                     parameters: Sequence[sp.Symbol], source_hash: str, parallel: bool) -> str:
    args = list(fields) + list(parameters)
    arg_names = _sanitise([s.name for s in args])
    rename = {s: sp.Symbol(n, real=True) for s, n in zip(args, arg_names)}
    local_fields = [rename[s] for s in fields]
    exprs = [sp.sympify(e).xreplace(rename) for e in exprs]
    # scalar access inside the loop: field symbols become field[i]
    loop_vars = {s: sp.Symbol(f"{s.name}_i", real=True) for s in local_fields}
    exprs = [e.xreplace(loop_vars) for e in exprs]
    extra = sorted({s.name for e in exprs for s in e.free_symbols} - {s.name for s in loop_vars.values()}
                   - set(arg_names[len(fields):]))
    if extra:
        raise InvalidArgument(f"kernel {name!r}: the residual uses symbols {extra} that are neither fields nor "
                              f"parameters (fields={[s.name for s in fields]}, "
                              f"parameters={[s.name for s in parameters]})")
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("x_"), optimizations="basic")
    printer = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    body: list[str] = []
    for sym, sub in replacements:
        body.append(f"        {sym} = {printer.doprint(sub)}")
    for k, e in enumerate(reduced):
        body.append(f"        out[{k}, i] = {printer.doprint(e)}")
    unsupported = [ln for ln in body if "# Not supported" in ln or "Not supported" in ln]
    if unsupported:
        raise NnqgError(f"kernel {name!r}: SymPy's printer cannot print {unsupported[0].strip()}")
    loads = [f"        {loop_vars[s]} = {s}[i]" for s in local_fields]
    versions = _versions()
    sig = ", ".join(arg_names + ["out"])
    rng = "prange" if parallel else "range"
    code = [
        "n = out.shape[1]",
        f"for i in {rng}(n):",
    ]
    lines = [
        "import math",
        "",
        "from numba import prange",
        "",
        "from nnqg.numerics._jitcache import njit_cached",
        "",
        f"NAME = {name!r}",
        f"SOURCE_HASH = {source_hash!r}",
        f"FIELDS = {tuple(arg_names[:len(fields)])!r}",
        f"PARAMETERS = {tuple(arg_names[len(fields):])!r}",
        f"OUTPUTS = {tuple(labels)!r}",
        "",
        "",
        # error_model="numpy": x/0 is inf or NaN as in IEEE 754 (and NumPy), so a blow-up shows up as a
        # non-finite residual (verdict NONFINITE) instead of a ZeroDivisionError deep inside a numeric check.
        # njit_cached: numba's machine code cached in nnqg's cache folder, every file sealed with its sha256
        f"@njit_cached(fastmath=False, error_model='numpy', parallel={parallel!r})",
        f"def kernel({sig}):",
        "    " + code[0],
        "    " + code[1],
        *loads,
        *body,
        "",
    ]
    text = "\n".join(lines)
    head = (
        "# Generated by nnqg from a SymPy expression; do not edit (regenerated when the hash below mismatches).\n"
        f"# source_hash: {source_hash}\n"
        f"# sympy: {versions['sympy']}  numba: {versions['numba']}  nnqg: {versions['nnqg']}  "
        f"generator: {GENERATOR_VERSION}\n"
    )
    return head + _DIGEST + hashlib.sha256((head + text).encode()).hexdigest() + "\n" + text


#: line 4 of a kernel file: the sha256 of lines 1-3 and 5-end (a flipped bit anywhere else, even in a comment of
#: the header, which would no longer be a comment, is caught)
_DIGEST = "# sha256 of every other line: "


def _text_ok(text: str, source_hash: str | None = None) -> bool:
    """The kernel file's text is what nnqg wrote (and, if given, was generated from ``source_hash``)."""
    lines = text.split("\n", 4)
    if len(lines) < 5 or not lines[3].startswith(_DIGEST):
        return False
    head = "\n".join(lines[:3]) + "\n"
    if source_hash is not None and lines[1] != f"# source_hash: {source_hash}":
        return False
    return hashlib.sha256((head + lines[4]).encode()).hexdigest() == lines[3][len(_DIGEST):]





@dataclass(frozen=True)
class ResidualKernel:
    """A compiled residual ``out[k, i] = R_k(fields[i]; parameters)`` with a validating wrapper."""

    name: str
    labels: tuple[str, ...]
    fields: tuple[str, ...]
    parameters: tuple[str, ...]
    source_hash: str
    path: Path
    expressions: tuple[sp.Expr, ...] = field(compare=False, repr=False)
    _fn: Any = field(compare=False, repr=False, default=None)

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.fields + self.parameters

    @property
    def compiled(self) -> Any:
        """The compiled function ``kernel(*fields, *parameters, out)`` without the validating wrapper, for hot
        loops (e.g. an ODE right-hand side) that validated their arguments once."""
        return self._fn

    def __call__(self, out: np.ndarray | None = None, **values: Any) -> np.ndarray:
        """Evaluate at every point; fields are 1-D arrays of equal length, parameters finite scalars."""
        expected = set(self.fields) | set(self.parameters)
        missing = sorted(expected - set(values))
        unknown = sorted(set(values) - expected)
        if missing or unknown:
            raise InvalidArgument(f"kernel {self.name!r}: missing arguments {missing}, unknown arguments "
                                  f"{unknown}; expected fields {list(self.fields)} and parameters "
                                  f"{list(self.parameters)}")
        arrays = []
        n = None
        for f in self.fields:
            a = np.ascontiguousarray(np.asarray(values[f], dtype=np.float64)).ravel() \
                if np.ndim(values[f]) > 0 else None
            if a is None:
                a = np.asarray([float(values[f])], dtype=np.float64)
            elif not a.flags.writeable:
                a = a.copy()  # a read-only array is another numba type: it would compile a second specialisation
            if n is None or (n == 1 and a.size > 1):
                n = a.size
            arrays.append(a)
        if n is None:
            n = 1
        for f, a in zip(self.fields, arrays):
            if a.size not in (1, n):
                raise InvalidArgument(f"kernel {self.name!r}: field {f!r} has {a.size} points, others have {n}")
        arrays = [np.full(n, a[0]) if a.size == 1 and n > 1 else a for a in arrays]
        params = []
        for p in self.parameters:
            v = values[p]
            if np.ndim(v) != 0:
                raise InvalidArgument(f"kernel {self.name!r}: parameter {p!r} must be a scalar, got shape "
                                      f"{np.shape(v)}")
            params.append(float(v))
        if out is None:
            out = np.empty((len(self.labels), n), dtype=np.float64)
        elif out.shape != (len(self.labels), n) or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise InvalidArgument(f"kernel {self.name!r}: out must be C-contiguous float64 of shape "
                                  f"{(len(self.labels), n)}, got {out.dtype} {out.shape}")
        self._fn(*arrays, *params, out)
        return out


def compile_residual(residuals: EquationSet | Sequence[tuple[str, sp.Expr]], *, fields: Sequence[sp.Symbol],
                     parameters: Sequence[sp.Symbol] = (), name: str | None = None,
                     parallel: bool = False) -> ResidualKernel:
    """Generate, cache and load the numba kernel of ``residuals`` (see the module docstring).

    The cache key is ``sha256(srepr of every residual, labels, argument names, parallel)`` together with the
    SymPy, numba and nnqg versions and the generator version, so a changed expression or an upgraded library
    never picks up an old kernel.
    """
    if isinstance(residuals, EquationSet):
        labels = tuple(lab for lab, _ in residuals.residuals)
        exprs = tuple(e for _, e in residuals.residuals)
        name = name or residuals.name
    else:
        labels = tuple(lab for lab, _ in residuals)
        exprs = tuple(sp.sympify(e) for _, e in residuals)
    if not exprs:
        raise InvalidArgument("compile_residual: no residuals given")
    name = name or "kernel"
    source_hash = _source_hash(labels, exprs, fields, parameters, parallel)
    key = _cache_key(source_hash)
    safe = _sanitise([name])[0]
    modname = f"nnqg_kernel_{safe}_{key}"
    path = cache_dir() / f"{modname}.py"
    with _lock:
        fn = _loaded.get(modname)
        if fn is None:
            # Ctrl-C is held back (main thread only) until the file is renamed into place and numba has written
            # its cache files, so an interrupt never leaves half of either behind.
            with _deferred_sigint():
                fn = _load_or_build(modname, path, safe, labels, exprs, fields, parameters, source_hash, parallel)
            _loaded[modname] = fn
    return ResidualKernel(name=safe, labels=labels, fields=tuple(fn.py_func.__globals__["FIELDS"]),
                          parameters=tuple(fn.py_func.__globals__["PARAMETERS"]), source_hash=source_hash,
                          path=path, expressions=exprs, _fn=fn)


def _source_hash(labels: Sequence[str], exprs: Sequence[sp.Expr], fields: Sequence[sp.Symbol],
                 parameters: Sequence[sp.Symbol], parallel: bool) -> str:
    """sha256 of the SymPy source: ``srepr`` is canonical (printing order of args is fixed by SymPy), so the
    same expression built in another process, or with another ``PYTHONHASHSEED``, hashes the same."""
    h = hashlib.sha256()
    for lab, e in zip(labels, exprs):
        h.update(lab.encode())
        h.update(b"\0")
        h.update(sp.srepr(e).encode())
        h.update(b"\0")
    h.update(repr([s.name for s in fields]).encode())
    h.update(repr([s.name for s in parameters]).encode())
    h.update(repr(parallel).encode())
    return h.hexdigest()


def _cache_key(source_hash: str) -> str:
    v = _versions()
    return hashlib.sha256(f"{source_hash}|{sorted(v.items())}|{GENERATOR_VERSION}".encode()).hexdigest()[:20]


def _load_or_build(modname: str, path: Path, safe: str, labels: Sequence[str], exprs: Sequence[sp.Expr],
                   fields: Sequence[sp.Symbol], parameters: Sequence[sp.Symbol], source_hash: str,
                   parallel: bool) -> Any:
    """Return the (compiled) numba dispatcher of the kernel module at ``path``, writing the module first when it is
    missing, corrupt or stale (numba's cached machine code is checked by :mod:`nnqg.numerics._jitcache`)."""
    state = "generated"
    text = ""
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        if _text_ok(text, source_hash):
            state = "reused"
        else:
            state = "rebuilt"
            warnings.warn(f"kernel cache file {path} is corrupt or stale (its text does not match the sha256 in "
                          f"its header); regenerating it", KernelCacheWarning, stacklevel=3)
    if state != "reused":
        text = _generate_source(safe, labels, exprs, fields, parameters, source_hash, parallel)
        atomic_write_text(path, text)
    STATS[state] += 1
    fn = _exec_verified(modname, path, text).kernel
    if state == "rebuilt":
        _purge_numba_cache(fn)  # numba files compiled from the corrupt module are not to be trusted either
    sig = _signature(len(fields), len(parameters))
    corrupt = _jitcache.STATS["corrupt"]
    try:
        fn.compile(sig)  # loads sealed machine code (a broken seal is a warning and a recompile) or compiles
    except Exception as exc:  # a compile error is the generated code's, never the cache's: nothing is purged
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise NnqgError(f"numba cannot compile the generated kernel {path} ({type(exc).__name__}: {first}); "
                        f"this is a bug in nnqg's code generation, please report it with the formula") from exc
    if _jitcache.STATS["corrupt"] > corrupt:
        STATS["jit_rebuilt"] += 1
    elif sum(fn.stats.cache_hits.values()) > 0:
        STATS["jit_reused"] += 1
    else:
        STATS["jit_compiled"] += 1
    return fn


def _signature(n_fields: int, n_parameters: int) -> tuple[Any, ...]:
    """The one signature the wrapper ever passes: C-contiguous writable float64 fields, float64 scalars, and a
    C-contiguous 2-D ``out``. Compiling it eagerly lets numba's cache be checked (and repaired) here, not at the
    first call deep inside a numeric check."""
    from numba import types

    return ((types.Array(types.float64, 1, "C"),) * n_fields + (types.float64,) * n_parameters
            + (types.Array(types.float64, 2, "C"),))


def _exec_verified(modname: str, path: Path, text: str) -> Any:
    """Import the kernel module from the text whose hash was just verified, never from a ``.pyc``.

    A stale or truncated byte-code file could otherwise shadow the verified source (CPython trusts a .pyc whose
    recorded mtime and size match). The module object still has ``__file__ = path``, so numba's on-disk cache
    is keyed to the real file.
    """
    import importlib.machinery
    import importlib.util

    class _VerifiedLoader(importlib.machinery.SourceFileLoader):
        def get_code(self, fullname: str) -> Any:
            return self.source_to_code(text.encode("utf-8"), str(path))

    loader = _VerifiedLoader(modname, str(path))
    spec = importlib.util.spec_from_file_location(modname, path, loader=loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    loader.exec_module(mod)
    return mod


def _purge_numba_cache(fn: Any) -> None:
    """Delete numba's index and data files of this kernel (``<module>.kernel-<line>.pyXY.nbi/.nbc``)."""
    cache_path = getattr(fn.stats, "cache_path", None)
    if not cache_path:
        return
    mod = fn.py_func.__module__
    for f in Path(cache_path).glob(f"{mod}.*"):
        if f.suffix in (".nbi", ".nbc"):
            try:
                f.unlink()
            except FileNotFoundError:
                pass


@contextmanager
def _deferred_sigint() -> Iterator[None]:
    """Hold SIGINT back for the duration of the block and deliver it afterwards (main thread only; elsewhere,
    where Python cannot install signal handlers, this is a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    except (ValueError, TypeError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            signal.raise_signal(signal.SIGINT)
