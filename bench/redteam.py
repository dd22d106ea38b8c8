"""Red-team campaign (issue 15): hostile inputs and faults against real ``nnqg`` processes, counted.

Every case is one ``python -m nnqg.verify._cli ...`` process; its outcome is classified as

* ``traceback``: a Python traceback on stderr, death by a signal (a segfault, an LLVM abort), or an exit code
  other than 0, 1, 2 or 130;
* ``hang``: no exit within the case's time limit, or a resident set above ``--max-rss`` MiB (the harness kills it);
* ``wrong exit``: a fault of the environment, a refused input or a flag collision that did not end in exit 2 (or,
  for an unusable cache folder, in a run with a ``CacheWarning``);
* ``undetected`` (cache cases): a corrupted cache file that the run did not report (no warning), or a report that
  differs from the clean run's.

Categories: hostile formulas (nested powers, deep functions, big and tiny numbers, literal forms, injections),
input files of every type, faults of the environment (a real full tmpfs and a read-only tmpfs when run as root,
unusable cache folders, a read-only home, long names, a closed pipe, colliding outputs), and cache corruption
(random bit flips in kernel modules, numba ``.nbi``/``.nbc`` files and symbolic pickles; an edited constant).

``--against REF`` runs the same campaign, in the same invocation, on the package as of git revision ``REF``
(exported with ``git archive``) for a side-by-side table. Symbolic budgets are set to ``NNQG_SYMBOLIC_SECONDS=20``
for the campaign so a case never needs more than a few minutes; the time limit of a case is 300 s.

    python bench/redteam.py [--jobs 2] [--against main] [--quick] [--out bench/results/redteam.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hostile_files import FILE_KINDS, make_input  # noqa: E402  (shared with tests/property/test_fuzz_input.py)
TIME_LIMIT = 300.0
SYMBOLIC_SECONDS = "20"


@dataclass
class Case:
    category: str
    name: str
    argv: list[str]
    expect: str = "any"  # "any" (0/1/2), "2" (refusal / environment fault), "warn" (exit 0/1 with a CacheWarning)
    env: dict[str, str | None] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # prepares files in the case's own folder
    cache: str = "warm"  # "warm": a private copy of the warm cache; "shared": the shared warm cache;
    # "pristine" (cache corruption): a private copy of the cache exactly as the clean run left it
    corrupt: Callable[[Path], bool] | None = None  # damages the cache copy; False if nothing was damaged
    closed_stdout: bool = False
    timeout: float = TIME_LIMIT


# --- the cases ---------------------------------------------------------------------------------------------------

def formula_cases(rng: random.Random, quick: bool) -> list[Case]:
    texts: list[tuple[str, str]] = []
    issue = ["(((q+1)**64)**64)**64", "((q+1)**64)**64", "sin(" * 39 + "q" + ")" * 39, "sin(" * 12 + "q" + ")" * 12,
             "2**64*q", "10**19*q**2", "q1**2*1e15 + q2**64", "1/q", "log(q)", "exp(-1/q**2)", "sqrt(-Abs(q))",
             "q**2 # comment", "0x10*q**2", "0o17*q**2", "0b101*q", "1_000*q**2", "1e-400*q + q**2"]
    texts += [("issue", t) for t in issue]
    bases = ["q", "(q+1)", "(q1+q2)", "sin(q)", "(q**2+1)", "(q1*q2-1)"]
    for _ in range(8 if quick else 24):
        t = rng.choice(bases)
        for _ in range(rng.randint(1, 4)):
            t = f"({t})**{rng.choice([2, 3, 8, 16, 32, 64, -2, -8])}"
        texts.append(("nested powers", t))
    funcs = ["sin", "cos", "exp", "log", "tanh", "sqrt", "atan", "cosh", "Abs"]
    for _ in range(6 if quick else 20):
        depth = rng.randint(3, 40)
        t = "q"
        for _ in range(depth):
            t = f"{rng.choice(funcs)}({t})"
        texts.append(("deep functions", t))
    for _ in range(5 if quick else 16):
        k = rng.choice(["2**{}*q", "10**{}*q**2", "-3**{}*q + q**2/2", "{}e0*q", "q**2/2 + 7**{}"])
        texts.append(("big numbers", k.format(rng.randint(19, 400) if "e0" not in k else 10 ** rng.randint(16, 40))))
    texts += [("tiny numbers", t) for t in ["1e-301*q", "q + 1e-320", "exp(-1000)*q", "1e-200*1e-200*q",
                                            "q**2*1e-300"]]
    injections = ["__import__('os').system('touch /tmp/nnqg-redteam-pwned')", "eval('1')", "q.__class__",
                  "(lambda: 0)()", "globals()", "sin(q, x=1)", "[q]", "q if q else 1", "open('/etc/passwd')",
                  "getattr(q, '__class__')", "().__class__.__bases__[0].__subclasses__()", "breakpoint()",
                  "f'{q}'", "b'q'", "q; q", "\x1b[2Jq", "q\x01", "ｑ**2", "q**2 /* c */", "q @ q"]
    texts += [("injections", t) for t in (injections[:8] if quick else injections)]
    cases = []
    for cat, t in texts:
        cases.append(Case(f"formula: {cat}", t[:60], ["verify", "--symbolic-only", "--claims",
                                                      "madelung.*,schrodinger.*", "--potential", t]))
    for t in ["2**64*q", "10**19*q**2", "q**2/2 + 1e-300*q", "(q+1)**8/1e6", "exp(-q**2)*1e15"][: 2 if quick else 5]:
        cases.append(Case("formula: numeric path", t, ["verify", "--quick", "--claims", "madelung.*",
                                                       "--potential", t]))
    return cases


def _file_kind(kind: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        make_input(kind, d, os.urandom(200))
    return make


def file_cases(quick: bool) -> list[Case]:
    kinds = FILE_KINDS[:5] if quick else FILE_KINDS
    cases = []
    for kind in kinds:
        for cmd in (["curvature", "{d}/input.toml"], ["sweep", "{d}/input.toml", "--out", "{d}/out"],
                    ["paper", "--report", "{d}/input.toml", "--out", "{d}/out"]):
            cases.append(Case("input files", f"{cmd[0]} <- {kind}", cmd, expect="2", setup=_file_kind(kind),
                              cache="shared", timeout=120))
    return cases


def _mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                                capture_output=True).returncode == 0


def environment_cases(mounts: dict[str, Path | None]) -> list[Case]:
    sym = ["verify", "--symbolic-only", "--claims", "madelung.continuity"]
    quick = ["verify", "--quick", "--claims", "madelung.continuity"]
    cases = []
    full = mounts.get("full")
    if full is not None:
        for name, argv in [("verify --json", sym + ["--json", f"{full}/r.json"]),
                           ("verify --html", sym + ["--html", f"{full}/r.html"]),
                           ("paper --out", ["paper", "--symbolic-only", "--claims", "madelung.continuity", "--out",
                                            f"{full}/tex"]),
                           ("sweep --out", ["sweep", str(ROOT / "examples/sweeps/tiny.toml"), "--workers", "1",
                                            "--out", f"{full}/sw"])]:
            cases.append(Case("environment", f"full disk: {name}", argv, expect="2", cache="shared"))
    ro = mounts.get("ro")
    cache_dirs: list[tuple[str, dict[str, str | None], Callable[[Path], None] | None]] = [
        ("NNQG_CACHE_DIR a regular file", {"NNQG_CACHE_DIR": "{d}/file"}, lambda d: (d / "file").write_text("x")),
        ("NNQG_CACHE_DIR /dev/null", {"NNQG_CACHE_DIR": "/dev/null"}, None),
        ("NNQG_CACHE_DIR a FIFO", {"NNQG_CACHE_DIR": "{d}/fifo"}, lambda d: os.mkfifo(d / "fifo")),
    ]
    if ro is not None:
        cache_dirs += [("NNQG_CACHE_DIR read-only", {"NNQG_CACHE_DIR": str(ro)}, None),
                       ("NNQG_CACHE_DIR under a read-only folder", {"NNQG_CACHE_DIR": f"{ro}/a/b"}, None),
                       ("read-only HOME", {"NNQG_CACHE_DIR": None, "XDG_CACHE_HOME": None, "HOME": str(ro)}, None)]
    for name, env, setup in cache_dirs:
        cases.append(Case("environment", name, quick, expect="warn", env=env, setup=setup, cache="none"))
    long = "n" * 300
    for name, argv in [("--json 300 chars", sym + ["--json", "{d}/" + long + ".json"]),
                       ("--html 300 chars", sym + ["--html", "{d}/" + long + ".html"]),
                       ("--json 250 chars", sym + ["--json", "{d}/" + "n" * 250]),
                       ("paper --out 300 chars", ["paper", "--symbolic-only", "--claims", "madelung.continuity",
                                                  "--out", "{d}/" + long]),
                       ("--json in a folder named 300 chars", sym + ["--json", "{d}/" + long + "/r.json"])]:
        cases.append(Case("environment", name, argv, expect="2", cache="shared"))
    for name, argv in [("curvature | head", ["curvature", str(ROOT / "examples/metrics/kerr.toml")]),
                       ("claims | head", ["claims"]), ("verify | head", sym)]:
        cases.append(Case("environment", name, argv, expect="2", cache="shared", closed_stdout=True))
    for name, second in [("same path", "{d}/r.out"), ("same path via ..", "{d}/sub/../r.out"),
                         ("same path via a symlink", "{d}/link.out")]:
        def setup(d: Path) -> None:
            (d / "sub").mkdir()
            (d / "r.out").write_text("keep")
            (d / "link.out").symlink_to(d / "r.out")
        cases.append(Case("environment", f"--json and --html: {name}", sym + ["--json", "{d}/r.out", "--html", second],
                          expect="2", setup=setup, cache="shared"))
    return cases


KINDS = {"kernel .py": "kernels/*.py", ".nbi": "**/*.nbi", ".nbc": "**/*.nbc", "symbolic pickle": "symbolic/*.pickle"}
CACHE_ARGV = ["verify", "--quick", "--claims", "schrodinger.*", "--seed", "1", "--json", "{d}/r.json"]


def _flip(kind: str, seed: int) -> Callable[[Path], bool]:
    def corrupt(cache: Path) -> bool:
        rng = random.Random(seed)
        files = sorted(f for f in cache.glob(KINDS[kind]) if "kernel_" in f.name or kind == "symbolic pickle")
        if not files:
            return False
        f = rng.choice(files)
        b = bytearray(f.read_bytes())
        for _ in range(2):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        f.write_bytes(bytes(b))
        return True
    return corrupt


def _edit_constant(cache: Path) -> bool:
    one, other = struct.pack("<d", 1.0), struct.pack("<d", 1.000001)
    for f in sorted(cache.glob("**/*madelung_1d*.nbc")):
        b = f.read_bytes()
        if one in b:
            f.write_bytes(b.replace(one, other, 1))
            return True
    return False


def cache_cases(rng: random.Random, quick: bool) -> list[Case]:
    cases = [Case("cache corruption", "1.0 -> 1.000001 in madelung_1d .nbc", CACHE_ARGV, corrupt=_edit_constant,
                  cache="pristine")]
    for i in range(12 if quick else 56):
        kind = rng.choice(sorted(KINDS))
        cases.append(Case("cache corruption", f"2 bits in a {kind} (#{i})", CACHE_ARGV,
                          corrupt=_flip(kind, rng.randrange(2**32)), cache="pristine"))
    return cases


# --- running -----------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    category: str
    name: str
    rc: int | None
    seconds: float
    verdict: str  # ok | traceback | hang | wrong exit | undetected | not applicable
    detail: str = ""


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_case(case: Case, pythonpath: str | None, warm: Path, clean_report: bytes, max_rss: float,
             work: Path) -> Outcome:
    d = Path(tempfile.mkdtemp(dir=work))
    try:
        if case.setup:
            case.setup(d)
        env = {**os.environ, "COLUMNS": "200", "NNQG_SYMBOLIC_SECONDS": SYMBOLIC_SECONDS,
               "PYTHONPATH": pythonpath or ""}
        if case.cache == "pristine":
            shutil.copytree(warm.with_name(warm.name + "-pristine"), d / "cache")
            env["NNQG_CACHE_DIR"] = str(d / "cache")
        elif case.cache == "warm":
            shutil.copytree(warm, d / "cache")
            env["NNQG_CACHE_DIR"] = str(d / "cache")
        elif case.cache == "shared":
            env["NNQG_CACHE_DIR"] = str(warm)
        else:
            env["NNQG_CACHE_DIR"] = str(d / "unused-cache")
        for k, v in case.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v.replace("{d}", str(d))
        if case.corrupt and not case.corrupt(d / "cache"):
            return Outcome(case.category, case.name, None, 0.0, "not applicable", "no such file in the cache")
        argv = [a.replace("{d}", str(d)) for a in case.argv]
        t0 = time.monotonic()
        p = subprocess.Popen([sys.executable, "-m", "nnqg.verify._cli", *argv], env=env, cwd=d,
                             stdout=subprocess.PIPE if case.closed_stdout else subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        if case.closed_stdout:
            p.stdout.close()  # type: ignore[union-attr]
        err_chunks: list[bytes] = []
        import threading

        reader = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()))  # type: ignore[union-attr]
        reader.start()
        hung = ""
        while p.poll() is None:
            if time.monotonic() - t0 > case.timeout:
                hung = f"no exit within {case.timeout:g} s"
            elif _rss_mib(p.pid) > max_rss:
                hung = f"resident memory above {max_rss:g} MiB"
            if hung:
                os.killpg(p.pid, 9)
                p.wait()
                break
            time.sleep(0.2)
        reader.join()
        dt = time.monotonic() - t0
        err = b"".join(err_chunks).decode(errors="replace")
        rc = p.returncode
        last = err.strip().splitlines()[-1][:200] if err.strip() else ""
        if hung:
            return Outcome(case.category, case.name, rc, dt, "hang", hung)
        if rc < 0 or rc not in (0, 1, 2, 130) or "Traceback (most recent call last)" in err:
            return Outcome(case.category, case.name, rc, dt, "traceback", last)
        if case.expect == "2" and rc != 2:
            return Outcome(case.category, case.name, rc, dt, "wrong exit", last)
        if case.expect == "warn" and not (rc in (0, 1) and "CacheWarning" in err):
            return Outcome(case.category, case.name, rc, dt, "wrong exit", last)
        if case.corrupt:
            said = any(w in err for w in ("KernelCacheWarning", "CacheWarning", "unreadable", "corrupt"))
            same = (d / "r.json").exists() and (d / "r.json").read_bytes() == clean_report
            if not said or not same:
                why = ("not reported" if not said else "") + ("; " if not said and not same else "") + \
                      ("report differs from the clean run" if not same else "")
                return Outcome(case.category, case.name, rc, dt, "undetected", why)
        return Outcome(case.category, case.name, rc, dt, "ok", last)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _guarded(case: Case, *args: object) -> Outcome:
    try:
        return run_case(case, *args)  # type: ignore[arg-type]
    except Exception as exc:  # the harness's own failure (e.g. an argument a process cannot be given)
        return Outcome(case.category, case.name, None, 0.0, "not applicable", f"harness: {exc!r}")


def package_at(ref: str, work: Path) -> str:
    """The nnqg package as of git revision ``ref``, laid out for PYTHONPATH (the layout pyproject maps)."""
    src = work / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pkg = work / "pkg"
    shutil.copytree(src / "nnqg", pkg / "nnqg")
    for sub in ("derivations", "numerics", "verify"):
        shutil.copytree(src / sub, pkg / "nnqg" / sub)
    return str(pkg)


def campaign(label: str, pythonpath: str | None, cases: list[Case], jobs: int, max_rss: float,
             work: Path) -> list[Outcome]:
    warm = work / f"warm-{label}"
    env = {**os.environ, "NNQG_CACHE_DIR": str(warm), "PYTHONPATH": pythonpath or ""}
    (work / f"clean-{label}").mkdir()
    argv = [a.replace("{d}", str(work / f"clean-{label}")) for a in CACHE_ARGV]
    for _ in range(2):  # the first run fills the cache; the second, on the warm cache, gives the clean report
        p = subprocess.run([sys.executable, "-m", "nnqg.verify._cli", *argv], env=env, capture_output=True,
                           text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{label}: the clean run failed ({p.returncode}): {p.stderr[-2000:]}")
    clean = (work / f"clean-{label}" / "r.json").read_bytes()
    shutil.copytree(warm, warm.with_name(warm.name + "-pristine"))  # only what the clean run reads
    with ThreadPoolExecutor(jobs) as ex:
        futures = [ex.submit(_guarded, c, pythonpath, warm, clean, max_rss, work) for c in cases]
        out = []
        for i, f in enumerate(futures, 1):
            o = f.result()
            out.append(o)
            if o.verdict != "ok":
                print(f"[{label} {i}/{len(cases)}] {o.verdict:10s} {o.category}: {o.name} ({o.detail})", flush=True)
    return out


def summary(results: dict[str, list[Outcome]]) -> str:
    cats = sorted({o.category for rs in results.values() for o in rs})
    labels = list(results)
    head = "| category | inputs | " + " | ".join(f"{lab}: tracebacks / hangs / wrong exit / undetected"
                                                   for lab in labels) + " |"
    lines = [head, "|" + "---|" * (2 + len(labels))]
    for cat in cats + ["all"]:
        row = []
        n = 0
        for lab in labels:
            rs = [o for o in results[lab] if (cat == "all" or o.category == cat) and o.verdict != "not applicable"]
            n = max(n, len(rs))
            c = Counter(o.verdict for o in rs)
            row.append(f"{c['traceback']} / {c['hang']} / {c['wrong exit']} / {c['undetected']}")
        lines.append(f"| {'**all**' if cat == 'all' else cat} | {n} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--against", default=None, metavar="REF", help="also run the campaign on git revision REF")
    ap.add_argument("--quick", action="store_true", help="a smaller sample of each category")
    ap.add_argument("--max-rss", type=float, default=3072.0, metavar="MiB")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "redteam.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nnqg-redteam-"))
    mounts: dict[str, Path | None] = {"full": None, "ro": None}
    try:
        if _mount(work / "full", "size=16k"):
            mounts["full"] = work / "full"
            with open(work / "full" / "filler", "wb") as fh:
                try:
                    fh.write(b"\0" * 65536)
                except OSError:
                    pass
        if _mount(work / "ro", "ro,size=16k"):
            mounts["ro"] = work / "ro"
        rng = random.Random(args.seed)
        cases = formula_cases(rng, args.quick) + file_cases(args.quick) + environment_cases(mounts) + \
            cache_cases(rng, args.quick)
        t0 = time.monotonic()
        results = {"this tree": campaign("this", None, cases, args.jobs, args.max_rss, work)}
        if args.against:
            (work / "against").mkdir()
            results[args.against] = campaign(args.against, package_at(args.against, work / "against"), cases,
                                             args.jobs, args.max_rss, work)
        table = summary(results)
        print(table)
        print(f"{len(cases)} cases per tree, {time.monotonic() - t0:.0f} s; mounts: "
              f"{ {k: v is not None for k, v in mounts.items()} }")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": " ".join(["python", "bench/redteam.py", *sys.argv[1:]]),
                                        "table": table, "results": {k: [o.__dict__ for o in v]
                                                                    for k, v in results.items()}},
                                       indent=1, sort_keys=True) + "\n")
    finally:
        for m in ("full", "ro"):
            if mounts[m] is not None:
                subprocess.run(["umount", str(mounts[m])], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
