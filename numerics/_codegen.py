r"""Residual kernels generated from SymPy expressions.

Given residual expressions :math:`R_k(a_1, \dots, a_n; c_1, \dots, c_m)` in *field* symbols :math:`a_i`
(arrays, one value per point) and *parameter* symbols :math:`c_j` (scalars), :func:`compile_residual` writes a
real Python module: common subexpressions eliminated by :func:`sympy.cse`, printed by SymPy's
``PythonCodePrinter`` (``math`` functions, which numba compiles natively), one fused loop over the points inside an
``@njit(cache=True)`` function, writing into a preallocated ``out[k, i]``. The module carries a provenance header
(source hash, SymPy/numba/nnqg versions, a sha256 of its own body), so

* a second run finds the file, checks the body hash and imports it; numba's on-disk cache then skips LLVM;
* a truncated or edited file is detected, rebuilt, and a warning says so;
* files are written to a temporary name and renamed (atomic on POSIX), so concurrent runs and Ctrl-C never leave
  a half-written kernel.

>>> import sympy as sp, numpy as np
>>> x, a = sp.symbols("x a", real=True)
>>> k = compile_residual([("r", a * sp.sin(x) ** 2 + a * sp.cos(x) ** 2 - a)], fields=[x], parameters=[a],
...                      name="doc_example")
>>> float(abs(k(x=np.linspace(0.0, 3.0, 7), a=2.5)).max()) < 1e-14
True
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from nnqg.derivations import EquationSet, InvalidArgument, NnqgError

GENERATOR_VERSION = "1"
_lock = threading.Lock()
_loaded: dict[str, Any] = {}
#: counts of what happened in this process, for the "reused the cache" message of `nnqg verify`
STATS = {"generated": 0, "reused": 0, "rebuilt": 0}


class KernelCacheWarning(UserWarning):
    """A cached kernel file was corrupt or stale and has been regenerated."""


def cache_dir() -> Path:
    """``$NNQG_CACHE_DIR`` or ``~/.cache/nnqg`` (``$XDG_CACHE_HOME`` honoured); kernels live in ``kernels/``."""
    env = os.environ.get("NNQG_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nnqg"
    d = root / "kernels"
    d.mkdir(parents=True, exist_ok=True)
    return d


class _Printer(PythonCodePrinter):
    """Python printer with bare ``math`` names numba understands; refuses anything it cannot print."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:  # names are sanitised by the caller
        return super()._print_Symbol(expr)


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
        f"n = out.shape[1]",
        f"for i in {rng}(n):",
    ]
    lines = [
        "import math",
        "",
        "from numba import njit, prange",
        "",
        f"NAME = {name!r}",
        f"SOURCE_HASH = {source_hash!r}",
        f"FIELDS = {tuple(arg_names[:len(fields)])!r}",
        f"PARAMETERS = {tuple(arg_names[len(fields):])!r}",
        f"OUTPUTS = {tuple(labels)!r}",
        "",
        "",
        f"@njit(cache=True, fastmath=False, parallel={parallel!r})",
        f"def kernel({sig}):",
        "    " + code[0],
        "    " + code[1],
        *loads,
        *body,
        "",
    ]
    text = "\n".join(lines)
    digest = hashlib.sha256(text.encode()).hexdigest()
    header = (
        "# Generated by nnqg from a SymPy expression; do not edit (regenerated when the hash below mismatches).\n"
        f"# source_hash: {source_hash}\n"
        f"# sympy: {versions['sympy']}  numba: {versions['numba']}  nnqg: {versions['nnqg']}  "
        f"generator: {GENERATOR_VERSION}\n"
        f"# body_sha256: {digest}\n"
    )
    return header + text


def _body_ok(text: str) -> bool:
    lines = text.split("\n", 4)
    if len(lines) < 5 or not lines[3].startswith("# body_sha256: "):
        return False
    return hashlib.sha256(lines[4].encode()).hexdigest() == lines[3].removeprefix("# body_sha256: ").strip()


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
    """Generate, cache and load the numba kernel of ``residuals`` (see the module docstring)."""
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
    h = hashlib.sha256()
    for lab, e in zip(labels, exprs):
        h.update(lab.encode())
        h.update(sp.srepr(e).encode())
    h.update(repr([s.name for s in fields]).encode())
    h.update(repr([s.name for s in parameters]).encode())
    h.update(repr(parallel).encode())
    source_hash = h.hexdigest()
    v = _versions()
    key = hashlib.sha256(f"{source_hash}|{v}|{GENERATOR_VERSION}".encode()).hexdigest()[:20]
    safe = _sanitise([name])[0]
    modname = f"nnqg_kernel_{safe}_{key}"
    path = cache_dir() / f"{modname}.py"
    with _lock:
        mod = _loaded.get(modname)
        if mod is None:
            state = "generated"
            if path.exists():
                try:
                    text = path.read_text()
                except (OSError, UnicodeDecodeError):
                    text = ""
                if _body_ok(text) and f"# source_hash: {source_hash}" in text:
                    state = "reused"
                else:
                    state = "rebuilt"
                    warnings.warn(f"kernel cache file {path} is corrupt or stale; regenerating it",
                                  KernelCacheWarning, stacklevel=2)
            if state != "reused":
                _atomic_write(path, _generate_source(safe, labels, exprs, fields, parameters, source_hash,
                                                     parallel))
            STATS[state] += 1
            spec = importlib.util.spec_from_file_location(modname, path)
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            sys.modules[modname] = mod
            spec.loader.exec_module(mod)
            _loaded[modname] = mod
    return ResidualKernel(name=safe, labels=labels, fields=tuple(mod.FIELDS), parameters=tuple(mod.PARAMETERS),
                          source_hash=source_hash, path=path, expressions=exprs, _fn=mod.kernel)

