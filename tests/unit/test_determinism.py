"""One seed, one report: two `nnqg verify --seed 1 --json` processes (different PYTHONHASHSEED, separate cold
caches) write byte-identical JSON, and `nnqg paper` writes byte-identical LaTeX from them; a third run on a warm
cache (derivations and kernels reused) writes the same bytes again. Another seed changes the numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnqg.verify import all_claims

#: a cheap subset with both symbolic and numeric checks, run at the quick size (the full suite is `nnqg verify`)
NUMERIC_SUBSET = "lorentz.boost_invariance"


def _nnqg(args: list[str], cache: Path, hashseed: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "NNQG_CACHE_DIR": str(cache), "PYTHONHASHSEED": hashseed, "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "nnqg.verify._cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(procs: list[subprocess.Popen]) -> list[str]:
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode in (0, 1), err[-3000:]  # 1 = some claim FAILED: still a report, still deterministic
        assert "Traceback" not in err, err[-3000:]
        outs.append(out)
    return outs


def _tree(d: Path) -> dict[str, bytes]:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob("*")) if f.is_file()}


def _claims_present(pattern: str) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(c.id, p) for c in all_claims() for p in pattern.split(","))


@pytest.mark.parametrize("extra, claims", [(["--symbolic-only"], None), (["--quick"], NUMERIC_SUBSET)],
                         ids=["all-claims-symbolic", "numeric-quick-subset"])
def test_same_seed_gives_byte_identical_report_and_latex(tmp_path: Path, extra: list[str],
                                                          claims: str | None) -> None:
    if claims is not None and not _claims_present(claims):
        pytest.skip(f"no claim matches {claims}")
    sel = ["--claims", claims] if claims else []
    runs = {}
    procs = []
    for name, seed in (("a", "0"), ("b", "4242")):
        (tmp_path / name).mkdir()
        procs.append(_nnqg(["verify", "--seed", "1", *extra, *sel, "--json", "r.json"], tmp_path / f"cache-{name}",
                           seed, tmp_path / name))
    _wait(procs)
    for name in ("a", "b"):
        runs[name] = (tmp_path / name / "r.json").read_bytes()
    assert runs["a"] == runs["b"]
    assert b'"seed": 1' in runs["a"]

    # the LaTeX from each report, in parallel again
    procs = [_nnqg(["paper", "--report", "r.json", "--out", "tex"], tmp_path / f"cache-{n}", s, tmp_path / n)
             for n, s in (("a", "7"), ("b", "99"))]
    _wait(procs)
    tex_a, tex_b = _tree(tmp_path / "a" / "tex"), _tree(tmp_path / "b" / "tex")
    assert tex_a and any(k.endswith(".tex") for k in tex_a)
    assert tex_a == tex_b, sorted(k for k in tex_a if tex_a.get(k) != tex_b.get(k))

    # warm cache (derivations and kernels reused from run a): the same bytes again
    (tmp_path / "c").mkdir()
    [out] = _wait([_nnqg(["verify", "--seed", "1", *extra, *sel, "--json", "r.json"], tmp_path / "cache-a", "1",
                         tmp_path / "c")])
    assert "0 derived" in out  # nothing re-derived ...
    assert (tmp_path / "c" / "r.json").read_bytes() == runs["a"]  # ... and nothing changed


def test_another_seed_changes_the_numbers(tmp_path: Path) -> None:
    """The report depends on the seed (so byte-identity above is not trivially true of a seed-blind run)."""
    if not _claims_present(NUMERIC_SUBSET):
        pytest.skip(f"no claim matches {NUMERIC_SUBSET}")
    procs = []
    for seed in ("1", "2"):
        (tmp_path / seed).mkdir()
        procs.append(_nnqg(["verify", "--seed", seed, "--quick", "--claims", NUMERIC_SUBSET, "--json", "r.json"],
                           tmp_path / "cache", "0", tmp_path / seed))
    _wait(procs)
    import json

    a = json.loads((tmp_path / "1" / "r.json").read_text())
    b = json.loads((tmp_path / "2" / "r.json").read_text())
    assert a["seed"] == 1 and b["seed"] == 2
    assert [c["max_residual"] for c in a["claims"]] != [c["max_residual"] for c in b["claims"]]
