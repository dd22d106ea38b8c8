"""The generated-kernel cache: keyed by the SymPy source hash and the versions; corrupt or truncated files (the
kernel module or numba's sealed index/data files in ``jit/``) are detected and rebuilt with a warning; concurrent
processes never corrupt it; a second process reuses both the kernel file and numba's machine code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from nnqg.numerics import KernelCacheWarning, cache_dir, compile_residual
from nnqg.numerics import _codegen

X, A = sp.symbols("x a", real=True)
EXPR = A * sp.sin(X) ** 2 + A * sp.cos(X) ** 3 - A  # not an identity: the value checks the kernel computes


def _expected(x: np.ndarray, a: float) -> np.ndarray:
    return a * np.sin(x) ** 2 + a * np.cos(x) ** 3 - a


@pytest.fixture()
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder, and no kernels already loaded in this process (as in a new process)."""
    monkeypatch.setenv("NNQG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(_codegen, "_loaded", {})
    monkeypatch.setattr(_codegen, "STATS", dict.fromkeys(_codegen.STATS, 0))
    return tmp_path / "cache" / "kernels"


def _compile(name: str = "cache_test", expr: sp.Expr = EXPR):
    return compile_residual([("r", expr)], fields=[X], parameters=[A], name=name)


def _check(k) -> None:
    x = np.linspace(-2.0, 2.0, 11)
    np.testing.assert_allclose(k(x=x, a=1.5)[0], _expected(x, 1.5), rtol=0, atol=1e-14)


def test_key_is_the_source_hash_and_the_versions(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k1 = _compile()
    assert k1.path.parent == cache_dir() == fresh and k1.path.exists()
    assert _compile().path == k1.path  # same expression, same file
    k2 = _compile(expr=EXPR + X)
    assert k2.path != k1.path and k2.source_hash != k1.source_hash
    header = k1.path.read_text().splitlines()[:4]
    assert header[1] == f"# source_hash: {k1.source_hash}"
    real = _codegen._versions()
    monkeypatch.setattr(_codegen, "_versions", lambda: {**real, "numba": "0.0.0-other"})
    monkeypatch.setattr(_codegen, "_loaded", {})
    k3 = _compile()
    assert k3.source_hash == k1.source_hash and k3.path != k1.path  # an upgraded library never reuses
    monkeypatch.setattr(_codegen, "_versions", lambda: real)
    monkeypatch.setattr(_codegen, "GENERATOR_VERSION", "test-next")
    assert _codegen._cache_key(k1.source_hash) not in k1.path.name


def test_source_hash_is_independent_of_pythonhashseed(tmp_path: Path) -> None:
    """The key must not depend on set/dict iteration order: two processes with different hash seeds agree."""
    code = ("import sympy as sp; from nnqg.numerics import compile_residual as c; x, a, b = sp.symbols('x a b', "
            "real=True); print(c([('r', a*x + b*x**2 + sp.exp(a*b) - sp.sin(x*b))], fields=[x], "
            "parameters=[a, b], name='seedless').path.name)")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed, "NNQG_CACHE_DIR": str(tmp_path / seed)})
             for seed in ("1", "12345")]
    names = {p.communicate(timeout=300)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs) and len(names) == 1 and "" not in names, names


@pytest.mark.parametrize("damage", ["truncate", "edit", "empty", "binary"])
def test_corrupt_kernel_file_is_rebuilt_with_a_warning(fresh: Path, monkeypatch: pytest.MonkeyPatch,
                                                      damage: str) -> None:
    path = _compile().path
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "edit":  # same length, one operator changed: only the hash can tell
        path.write_text(text.replace("out[0, i] = ", "out[0, i] = -", 1).replace("    n = out", "   n = out", 1))
    elif damage == "empty":
        path.write_text("")
    else:
        path.write_bytes(b"\xff\xfe\x00garbage")
    monkeypatch.setattr(_codegen, "_loaded", {})
    with pytest.warns(KernelCacheWarning, match="corrupt or stale"):
        k = _compile()
    _check(k)
    assert _codegen._text_ok(path.read_text()) and _codegen.STATS["rebuilt"] == 1


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_corrupt_numba_cache_file_is_recompiled_with_a_warning(fresh: Path, monkeypatch: pytest.MonkeyPatch,
                                                              suffix: str) -> None:
    _check(_compile())
    files = list((fresh.parent / "jit").glob(f"nnqg_kernel_*{suffix}"))
    assert files, "numba wrote no cache files"
    for f in files:
        f.write_bytes(f.read_bytes()[:25])
    monkeypatch.setattr(_codegen, "_loaded", {})
    with pytest.warns(KernelCacheWarning, match="numba machine code .* is corrupt"):
        k = _compile()
    _check(k)
    assert _codegen.STATS["jit_rebuilt"] == 1
    monkeypatch.setattr(_codegen, "_loaded", {})
    before = _codegen.STATS["jit_reused"]
    _check(_compile())  # the repaired cache is used again
    assert _codegen.STATS["jit_reused"] == before + 1


SCRIPT = r"""
import json, sys
import numpy as np, sympy as sp
from nnqg.numerics import KERNEL_STATS, compile_residual
x, a = sp.symbols("x a", real=True)
vals = []
for j in range(int(sys.argv[1])):
    k = compile_residual([("r", a * sp.sin(x) ** 2 + a * sp.cos(x) ** (3 + j) - a), ("s", x ** (j + 1) / a)],
                         fields=[x], parameters=[a], name=f"shared{j}")
    xs = np.linspace(-1.0, 1.0, 5)
    out = k(x=xs, a=1.5)
    ok = np.allclose(out[0], 1.5 * np.sin(xs) ** 2 + 1.5 * np.cos(xs) ** (3 + j) - 1.5, rtol=0, atol=1e-14)
    vals.append(bool(ok and np.allclose(out[1], xs ** (j + 1) / 1.5, rtol=0, atol=1e-14)))
    hits = sum(k._fn.stats.cache_hits.values())
print(json.dumps({"stats": KERNEL_STATS, "ok": all(vals)}))
"""


def _run_script(cache: Path, n: int) -> dict:
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(n)], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "NNQG_CACHE_DIR": str(cache)})
    assert p.returncode == 0, p.stderr[-2000:]
    assert "KernelCacheWarning" not in p.stderr, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_second_process_reuses_file_and_machine_code(tmp_path: Path) -> None:
    first = _run_script(tmp_path, 2)
    assert first["ok"] and first["stats"]["generated"] == 2 and first["stats"]["jit_compiled"] == 2
    jit = tmp_path / "jit"
    assert len(list(jit.glob("nnqg_kernel_*.nbi"))) == 2
    assert len(list(jit.glob("nnqg_kernel_*.nbc"))) == 2
    second = _run_script(tmp_path, 2)
    s = second["stats"]
    assert second["ok"] and (s["reused"], s["generated"], s["rebuilt"]) == (2, 0, 0)
    assert (s["jit_reused"], s["jit_compiled"], s["jit_rebuilt"]) == (2, 0, 0)  # numba cache hit: no LLVM


def test_concurrent_processes_do_not_corrupt_the_cache(tmp_path: Path) -> None:
    """Processes started together on an empty cache all generate and compile the same kernels at once; every
    one computes the right values, no temporary file is left, every file passes its hash, and a later process
    reuses everything."""
    env = {**os.environ, "NNQG_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, "3"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["ok"]
        assert "KernelCacheWarning" not in err, err
    kernels = tmp_path / "kernels"
    assert not [f for f in tmp_path.rglob("*") if re.search(r"\.tmp", f.name)]
    files = sorted(kernels.glob("*.py"))
    assert len(files) == 3 and all(_codegen._text_ok(f.read_text()) for f in files)
    later = _run_script(tmp_path, 3)["stats"]
    assert (later["reused"], later["generated"], later["rebuilt"], later["jit_compiled"]) == (3, 0, 0, 0)


def test_kernel_is_imported_from_verified_text_not_a_stale_pyc(fresh: Path, monkeypatch: pytest.MonkeyPatch) \
        -> None:
    """A byte-code file next to the kernel is never trusted: plant a .pyc computing something else."""
    import importlib.util
    import py_compile

    path = _compile().path
    evil = path.with_name("evil_src.py")
    evil.write_text(path.read_text().replace("out[0, i] = ", "out[0, i] = 1e300 + ", 1))
    pyc = Path(importlib.util.cache_from_source(str(path)))
    pyc.parent.mkdir(exist_ok=True)
    # an unchecked-hash .pyc is trusted by CPython's default loader without looking at the source at all
    py_compile.compile(str(evil), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    spec = importlib.util.spec_from_file_location("plain_import_of_kernel", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = np.empty((1, 3))
    mod.kernel.py_func(np.zeros(3), 1.0, out)
    assert out[0, 0] > 1e299  # a plain import runs the planted byte code ...
    monkeypatch.setattr(_codegen, "_loaded", {})
    _check(_compile())  # ... compile_residual runs the verified source
