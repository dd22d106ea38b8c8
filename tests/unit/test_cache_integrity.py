"""Every cached artefact is checked before it is used (issue 15, item 1): bytes flipped in a kernel module, in
numba's index (.nbi) or machine code (.nbc), or in a symbolic-result pickle are detected, the file is rebuilt, a
warning names it, and the run reports exactly what a run on a clean cache reports -- never a segfault, an LLVM
abort or a silently changed number."""

from __future__ import annotations

import os
import pickle
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnqg.numerics import CacheWarning
from nnqg.numerics._sealed import BrokenSeal, seal, unseal

CLAIMS = "schrodinger.*"
#: which warning each kind of damaged file must raise, and where the files live in the cache root
KINDS = {"kernel .py": ("KernelCacheWarning", "kernels/*.py"), ".nbi": ("KernelCacheWarning", "**/*.nbi"),
         ".nbc": ("KernelCacheWarning", "**/*.nbc"), "symbolic pickle": ("CacheWarning", "symbolic/*.pickle")}


def _verify(cache: Path, report: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NNQG_CACHE_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "nnqg.verify._cli", "verify", "--quick", "--claims", CLAIMS,
                           "--seed", "1", "--json", str(report)], env=env, capture_output=True, text=True,
                          timeout=900)


def _flip_bits(path: Path, rng: random.Random, n: int = 2, middle: bool = False) -> list[tuple[int, int]]:
    """Flip ``n`` random bits (``middle``: in the middle half of the file, the bulk of numba's machine code,
    where an unchecked cache would not notice)."""
    b = bytearray(path.read_bytes())
    lo, hi = (len(b) // 4, 3 * len(b) // 4) if middle else (0, len(b))
    flips = [(rng.randrange(lo, hi), rng.randrange(8)) for _ in range(n)]
    for i, bit in flips:
        b[i] ^= 1 << bit
    path.write_bytes(bytes(b))
    return flips


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A warm cache after one clean run, and that run's report."""
    d = tmp_path_factory.mktemp("clean")
    p = _verify(d / "cache", d / "r.json")
    assert p.returncode == 0, p.stderr[-3000:]
    return d / "cache", (d / "r.json").read_bytes()


def _damaged_run(clean: tuple[Path, bytes], tmp_path: Path, kind: str, damage) -> tuple[str, list[Path]]:
    cache0, report0 = clean
    cache = tmp_path / "cache"
    shutil.copytree(cache0, cache)
    files = sorted(cache.glob(KINDS[kind][1]))
    assert files, f"no {kind} file in the cache: {sorted(str(f.relative_to(cache)) for f in cache.rglob('*'))}"
    damaged = [f for f in files if damage(f) is not False]  # damage() returns False for a file it left alone
    p = _verify(cache, tmp_path / "r.json")
    assert p.returncode == 0, (kind, p.returncode, p.stderr[-3000:])  # -11/-6: a segfault or an LLVM abort
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert KINDS[kind][0] in p.stderr, (kind, p.stderr[-3000:])  # detected, and said so ...
    missed = [f.name for f in damaged if f.name not in p.stderr]
    assert not missed, (missed, p.stderr[-3000:])  # ... for every damaged file
    assert (tmp_path / "r.json").read_bytes() == report0  # the same report as a clean run, byte for byte
    return p.stderr, damaged


def _all_sealed_files_hold(cache: Path) -> None:
    from nnqg.numerics._codegen import _text_ok

    for f in list(cache.rglob("*.nbi")) + list(cache.rglob("*.nbc")) + list(cache.rglob("*.pickle")):
        unseal(f)  # rebuilt files are sealed again
    assert all(_text_ok(f.read_text()) for f in cache.glob("kernels/*.py"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_two_flipped_bits_in_each_kind_of_cache_file(clean: tuple[Path, bytes], tmp_path: Path, kind: str) -> None:
    rng = random.Random(f"flip {kind}")
    _damaged_run(clean, tmp_path, kind, lambda f: _flip_bits(f, rng, middle=kind == ".nbc"))
    _all_sealed_files_hold(tmp_path / "cache")


def test_a_flipped_bit_in_a_kernel_header_is_detected(clean: tuple[Path, bytes], tmp_path: Path) -> None:
    """'#' -> '"' in the first line: the comment becomes code (a SyntaxError on import if only the body were
    hashed)."""
    def edit(f: Path) -> None:
        b = bytearray(f.read_bytes())
        b[0] ^= 1
        f.write_bytes(bytes(b))

    _damaged_run(clean, tmp_path, "kernel .py", edit)


def test_a_changed_constant_in_machine_code_is_detected(clean: tuple[Path, bytes], tmp_path: Path) -> None:
    """1.0 -> 1.000001 in an .nbc: on an unsealed cache the run exits 0 with a silently different residual."""
    one, other = struct.pack("<d", 1.0), struct.pack("<d", 1.000001)

    def edit(f: Path) -> None:
        b = f.read_bytes()
        if one in b:
            f.write_bytes(b.replace(one, other, 1))
        else:
            _flip_bits(f, random.Random(0), 1)

    _damaged_run(clean, tmp_path, ".nbc", edit)


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "other pickle"])
def test_truncated_or_foreign_symbolic_pickle(clean: tuple[Path, bytes], tmp_path: Path, damage: str) -> None:
    def edit(f: Path) -> None:
        if damage == "truncate":
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        elif damage == "empty":
            f.write_bytes(b"")
        elif damage == "garbage":
            f.write_bytes(os.urandom(300))
        else:  # a well-formed pickle that is not a sealed file (e.g. from an older nnqg): never unpickled
            f.write_bytes(pickle.dumps({"not": "a result"}))

    _damaged_run(clean, tmp_path, "symbolic pickle", edit)


PACKAGE_KERNEL = ("import numpy as np; from nnqg.numerics._nelson import _interp; "
                  "print(repr(_interp(0.25, 0.0, 1.0, np.array([1.0, 3.0]))))")


def test_package_kernels_are_cached_sealed_in_the_cache_folder(tmp_path: Path) -> None:
    """numba's cache of nnqg's own kernels (_nelson, _sgd) lives in the cache folder, sealed, not in the
    installed package's __pycache__; a flipped bit there is detected and recompiled too."""
    import nnqg.numerics

    env = {**os.environ, "NNQG_CACHE_DIR": str(tmp_path)}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", PACKAGE_KERNEL], env=env, capture_output=True, text=True,
                              timeout=600)

    first = run()
    assert first.returncode == 0 and first.stdout.strip() == "1.5", first.stderr[-2000:]
    files = sorted((tmp_path / "jit").glob("nnqg.numerics._nelson._interp-*.nb[ic]"))
    assert len(files) == 2, sorted(tmp_path.rglob("*"))
    pkg = Path(nnqg.numerics.__file__).parent / "__pycache__"
    assert not list(pkg.glob("*_interp*.nb[ic]")), "numba wrote into the package's __pycache__"
    for f in files:
        unseal(f)
    _flip_bits(files[1], random.Random(3))
    second = run()
    assert second.returncode == 0 and second.stdout.strip() == "1.5", second.stderr[-2000:]
    assert "KernelCacheWarning" in second.stderr and "corrupt" in second.stderr, second.stderr
    third = run()
    assert third.returncode == 0 and "Warning" not in third.stderr, third.stderr


# --- the seal itself, in-process ------------------------------------------------------------------------------

@given(st.binary(max_size=2000), st.data())
def test_any_flipped_bit_breaks_the_seal(payload: bytes, data: st.DataObject) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f"
        seal(p, payload)
        assert unseal(p) == payload
        raw = bytearray(p.read_bytes())
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
        p.write_bytes(bytes(raw))
        with pytest.raises(BrokenSeal):
            unseal(p)


@pytest.mark.parametrize("content", [b"", b"nnqg-sealed sha256 ", b"\x80\x05K\x01.", b"x" * 200])
def test_short_or_foreign_files_break_the_seal(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "f").write_bytes(content)
    with pytest.raises(BrokenSeal):
        unseal(tmp_path / "f")


def test_symbolic_cache_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnqg.verify import _symcache
    from nnqg.verify._registry import get_claim

    monkeypatch.setenv("NNQG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_symcache, "SYMBOLIC_STATS", dict.fromkeys(_symcache.SYMBOLIC_STATS, 0))
    claim = get_claim("madelung.continuity")
    first = _symcache.symbolic_cached(claim, claim.default_inputs())
    path = _symcache.cache_path(claim)
    assert path.exists() and _symcache.symbolic_cached(claim, claim.default_inputs()) == first
    _flip_bits(path, random.Random(1))
    with pytest.warns(CacheWarning, match="symbolic cache file .* is unusable"):
        again = _symcache.symbolic_cached(claim, claim.default_inputs())
    assert again == first and pickle.loads(unseal(path)) == first
    assert _symcache.SYMBOLIC_STATS == {"derived": 2, "reused": 1, "rebuilt": 1}


@pytest.mark.slow
def test_many_random_corruptions(clean: tuple[Path, bytes], tmp_path: Path) -> None:
    """56 random corruptions (2 flipped bits in one file of a random kind), as in the red-team pass that found
    7 segfaults and 3 LLVM aborts: every one detected, every report identical to the clean one."""
    rng = random.Random(56)
    for trial in range(56):
        kind = rng.choice(list(KINDS))
        d = tmp_path / f"t{trial}"
        d.mkdir()
        cache0 = clean[0]
        one = rng.choice(sorted(cache0.glob(KINDS[kind][1])))
        rel = one.relative_to(cache0)
        _damaged_run(clean, d, kind, lambda f, rel=rel: _flip_bits(f, rng) if f.relative_to(d / "cache") == rel
                     else False)
        shutil.rmtree(d)
