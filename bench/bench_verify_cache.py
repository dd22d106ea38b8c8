"""Benchmark: `nnqg verify` with a cold cache vs a warm cache, side by side in one run.

Cold: a new empty NNQG_CACHE_DIR (everything derived, generated and JIT-compiled). Warm: the same directory
again (derivations unpickled, kernel modules reused, numba's on-disk cache hit). Medians of repeated runs of
whole processes (start-up included, as a user meets it).

    python bench/bench_verify_cache.py [--repeat 3] [--claims GLOB] [--quick] [--out bench/results/cache.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cache: str, claims: str | None, quick: bool) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "nnqg.verify._cli", "verify", "--seed", "1"]
    if claims:
        cmd += ["--claims", claims]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, NNQG_CACHE_DIR=cache, NUMBA_CACHE_DIR=os.path.join(cache, "numba"))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    last = [ln for ln in p.stdout.splitlines() if ln.startswith("cache:")]
    return dt, (last[-1] if last else f"exit {p.returncode}: {p.stderr[-300:]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--claims", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    cold, warm = [], []
    cold_msg = warm_msg = ""
    for _ in range(a.repeat):
        d = tempfile.mkdtemp(prefix="nnqg-cachebench-")
        t, cold_msg = run(d, a.claims, a.quick)
        cold.append(t)
        t, warm_msg = run(d, a.claims, a.quick)
        warm.append(t)
    c, w = statistics.median(cold), statistics.median(warm)
    flags = " ".join(x for x in (f"--claims '{a.claims}'" if a.claims else "", "--quick" if a.quick else "") if x)
    text = "\n".join([
        "## `nnqg verify`: cold cache vs warm cache",
        "",
        f"Command: `python bench/bench_verify_cache.py --repeat {a.repeat} {flags}`".rstrip() + "",
        f"Whole `nnqg verify --seed 1 {flags}` processes, median of {a.repeat}; each cold run in a new empty cache.",
        "",
        "| cache | median wall time [s] | what the run printed |",
        "|---|---:|---|",
        f"| cold | {c:.2f} | {cold_msg} |",
        f"| warm | {w:.2f} | {warm_msg} |",
        "",
        f"Warm/cold ratio: {w / c:.2f} (a {c / w:.1f}x speed-up).",
        "",
    ])
    print(text)
    if a.out:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
