"""Ctrl-C (SIGINT) mid-run leaves no half-written report or kernel: `nnqg verify`/`nnqg selftest` interrupted
exit 130 with a one-line message, write no report, leave no temporary file in the cache or the output folder,
and the next run works (and reuses what was completed)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnqg.numerics import _codegen


def _temporaries(*dirs: Path) -> list[Path]:
    return [f for d in dirs if d.exists() for f in d.rglob("*") if re.search(r"\.tmp", f.name)]


def _start(args: list[str], cache: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "NNQG_CACHE_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "nnqg.verify._cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _interrupt_after_first_line(p: subprocess.Popen, extra_delay: float) -> tuple[str, str]:
    """Wait until the run has finished its first item (a line on stdout), then SIGINT it."""
    assert p.stdout is not None
    first = p.stdout.readline()
    time.sleep(extra_delay)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    return first + out, err


@pytest.mark.parametrize("command", ["verify", "selftest"])
def test_sigint_mid_run_leaves_no_partial_report_and_next_run_works(tmp_path: Path, command: str) -> None:
    cache, work = tmp_path / "cache", tmp_path / "work"
    work.mkdir()
    args = [command, "--quick", "--json", "report.json"]
    p = _start(args, cache, work)
    out, err = _interrupt_after_first_line(p, 0.5)
    if p.returncode == 0 or p.returncode == 1:
        pytest.skip("the run finished before the signal arrived; nothing was interrupted")
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert "interrupted" in err and "Traceback" not in err, err[-2000:]
    assert not (work / "report.json").exists()
    assert not _temporaries(cache, work), _temporaries(cache, work)
    assert all(_codegen._text_ok(f.read_text()) for f in (cache / "kernels").glob("*.py"))
    # the next run, on the same cache, works
    claim = "madelung.continuity" if command == "selftest" else "lorentz.boost_invariance"
    p2 = _start([command, "--quick", "--claims", claim, "--json", "report.json"], cache, work)
    out2, err2 = p2.communicate(timeout=900)
    assert p2.returncode in (0, 1) and "Traceback" not in err2, err2[-2000:]
    assert "KernelCacheWarning" not in err2
    json.loads((work / "report.json").read_text())


COMPILER = r"""
import sys, sympy as sp
from nnqg.numerics import KERNEL_STATS, compile_residual
x, a = sp.symbols("x a", real=True)
for j in range(int(sys.argv[1])):
    compile_residual([("r", a * sp.sin(x) ** (j % 7 + 1) + sp.cos(a * x) ** (j + 1))], fields=[x], parameters=[a],
                     name=f"sig{j}")
    print(j, flush=True)
print("stats", KERNEL_STATS, flush=True)
"""


N_KERNELS = 12


def test_sigint_while_compiling_kernels_leaves_only_complete_files(tmp_path: Path) -> None:
    """Interrupt a process that does nothing but generate and compile kernels, at several moments; every file
    left (kernel module, numba index and data) is complete, and a later process reuses them without warning."""
    env = {**os.environ, "NNQG_CACHE_DIR": str(tmp_path)}
    interrupted = 0
    for delay in (0.05, 0.4):
        p = subprocess.Popen([sys.executable, "-c", COMPILER, str(N_KERNELS)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdout is not None
        p.stdout.readline()  # one kernel done: the process is inside the compile loop
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=300)
        interrupted += "KeyboardInterrupt" in err
        assert not _temporaries(tmp_path), _temporaries(tmp_path)
        assert all(_codegen._text_ok(f.read_text()) for f in (tmp_path / "kernels").glob("*.py"))
    assert interrupted >= 1, "no run was interrupted mid-loop"
    p = subprocess.run([sys.executable, "-c", COMPILER, str(N_KERNELS)], env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0 and "KernelCacheWarning" not in p.stderr, p.stderr[-2000:]
    stats = p.stdout.strip().splitlines()[-1]
    done = len(list((tmp_path / "kernels").glob("*.py")))
    assert done == N_KERNELS and "'rebuilt': 0" in stats and "'jit_rebuilt': 0" in stats, stats


def test_deferred_sigint_delivers_after_the_block() -> None:
    """In-process: a SIGINT during the critical section is held, then raised as KeyboardInterrupt after it."""
    seen = []
    with pytest.raises(KeyboardInterrupt):
        with _codegen._deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            seen.append("block finished")
    assert seen == ["block finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
