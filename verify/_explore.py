"""``nnqg verify --explore N``: property-based verification runs.

For each selected claim, hypothesis draws up to N inputs from the claim's strategies (:mod:`._explore_specs`)
and runs the claim's derivation and calibration on each, at the quick profile, without the learning experiment.
An input *fails* when a derivation identity is not exactly 0, the calibration fails its stated rule (FAILED or
NONFINITE), a registered counterexample is not reproduced, or the claim refuses or crashes on an input drawn
from its stated domain. An INCONCLUSIVE or NOT RUN calibration is counted, not failed.

**Statistical calibrations** (Monte-Carlo rules with a family-wise false-alarm probability alpha) would raise a
false alarm in about N alpha of N inputs; for the claims whose spec says so, a calibration failure counts only
when it *also* fails with an independent noise stream (seed + 1): a false-alarm rate of about alpha^2 per input.
A failure that does not repeat is reported as "unconfirmed".

**Shrinking.** On the first failure hypothesis shrinks the input to the smallest failing one (numbers towards the
claim's defaults, potentials and metrics towards their simplest family). Each shrink step runs the claim, so
shrinking stops after :data:`SHRINK_BUDGET` evaluations (a count, not a time: the result is reproducible); the
report says when the budget ran out. The minimal input is printed as a command that reproduces it
(``nnqg verify --quick --no-learning --claims X --potential ... --param NAME=VALUE --metric NAME=FILE
--seed S``); metric files are written under ``<cache>/explore/``.

**Reproducibility.** Draws come from hypothesis with an explicit seed (``--seed``), and the claim's numerics use
the same seed: one seed gives the same inputs and a byte-identical report. A seeded hypothesis run keeps no
example database (hypothesis' own rule: replaying earlier failures would make a run depend on the ones before
it), so nothing is written to the working directory; the minimal failing cases found are kept in the nnqg cache,
``<cache>/explore/<claim>-seed<S>.json`` (input, failure, command) with their metric files, and are re-run by
their printed command and kept by regression tests.
"""

from __future__ import annotations

import hashlib
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from nnqg.derivations import NnqgError

from ._explore_inputs import Draw, ExploreSpec, changed_params, draw_overrides, reproduce_command
from ._explore_specs import draws, not_explored_reason, spec_for
from ._model import FAILED, INCONCLUSIVE, NONFINITE, NOT_RUN, REPRODUCED, Claim, NumericContext, \
    calibration_status

#: claim evaluations allowed after the first failure (shrinking); deterministic, unlike a time limit
SHRINK_BUDGET = 48
MAX_EXAMPLES = 10_000
MAX_SEED = 2**63 - 1

ProgressFn = Callable[["ClaimExploration"], None]


@dataclass(frozen=True)
class Outcome:
    """One input's result: ``kind`` is passed, inconclusive, not run, unconfirmed (a calibration failure that
    did not repeat at seed + 1), or a failure: derivation, calibration, counterexample, refused, error."""

    failed: bool
    kind: str
    reason: str = ""


@dataclass
class ClaimExploration:
    """Counts and the minimal failing input of one claim's exploration."""

    claim_id: str
    explored: bool = True
    reason: str = ""
    note: str = ""
    examples: int = 0
    failures: int = 0
    shrink_steps: int = 0
    inconclusive: int = 0
    not_run: int = 0
    unconfirmed: int = 0
    budget_exhausted: bool = False
    minimal: dict[str, Any] | None = None
    inconclusive_inputs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    shrinking: bool = False
    target: int = 0
    _first: Outcome | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        if not self.explored:
            return "NOT EXPLORED"
        return "FAILED" if self.minimal is not None else "PASSED"

    def to_json(self, timings: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.claim_id, "status": self.status}
        if not self.explored:
            d["reason"] = self.reason
            return d
        d.update({"drawn": self.examples, "failed": self.failures, "shrink_steps": self.shrink_steps,
                  "shrink_budget_exhausted": self.budget_exhausted, "inconclusive": self.inconclusive,
                  "not_run": self.not_run, "unconfirmed": self.unconfirmed, "strategy": self.note,
                  "minimal": self.minimal, "inconclusive_inputs": self.inconclusive_inputs})
        if timings:
            d["seconds"] = round(self.seconds, 3)
        return d


def evaluate(claim: Claim, spec: ExploreSpec, draw: Draw, seed: int) -> Outcome:
    """Run ``claim`` on ``draw`` (quick profile, no learning) and classify the result (see :class:`Outcome`)."""
    from ._runner import run_claim

    try:
        overrides = draw_overrides(claim, spec, draw)
    except NnqgError as exc:
        return Outcome(True, "refused", f"the drawn input was refused: {exc}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            v = run_claim(claim, NumericContext(seed=seed, quick=True), overrides, learning=False)
            if v.status in (FAILED, NONFINITE) and v.derivation.ok and spec.confirm_statistical:
                inputs = claim.default_inputs()
                inputs.update(overrides)
                again = calibration_status(claim.calibration(NumericContext(seed=(seed + 1) % (MAX_SEED + 1),
                                                                            quick=True), inputs))
                if again not in (FAILED, NONFINITE):
                    return Outcome(False, "unconfirmed", f"{v.reason}; at seed + 1: {again}")
    except NnqgError as exc:
        return Outcome(True, "refused", f"the claim refused the drawn input: {exc}")
    except Exception as exc:  # a crash on an input from the claim's domain is a finding, reported by name
        return Outcome(True, "error", f"{type(exc).__name__}: {exc}")
    if not v.derivation.ok:
        return Outcome(True, "derivation", v.reason)
    if v.status in (FAILED, NONFINITE):
        return Outcome(True, "counterexample" if claim.counterexample else "calibration", v.reason)
    if claim.counterexample and v.status != REPRODUCED:
        return Outcome(True, "counterexample", v.reason)
    cs = v.calibration_status if claim.calibration is not None else "PASSED"  # a derivation-only claim
    return Outcome(False, {INCONCLUSIVE: "inconclusive", NOT_RUN: "not run"}.get(cs, "passed"), v.reason)


def _cache_root() -> Path:
    from nnqg.numerics import cache_dir

    return cache_dir().parent


def explore_claim(claim: Claim, n: int, seed: int, progress: ProgressFn | None = None,
                  shrink_budget: int = SHRINK_BUDGET) -> ClaimExploration:
    """Draw up to ``n`` inputs for ``claim`` and shrink the first failure (module docstring)."""
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample

    res = ClaimExploration(claim.id, target=n)
    why = not_explored_reason(claim)
    if why is not None:
        res.explored, res.reason, res.seconds = False, why, 1e-9
        if progress is not None:
            progress(res)
        return res
    spec = spec_for(claim)
    assert spec is not None
    res.note = spec.note
    t0 = time.perf_counter()
    memo: dict[str, Outcome] = {}

    def condition(draw: Draw) -> bool:
        key = draw.key()
        if key in memo:  # hypothesis replays the minimal input at the end: never run twice
            return memo[key].failed
        if res.shrinking and res.shrink_steps >= shrink_budget:
            res.budget_exhausted = True
            return False
        out = evaluate(claim, spec, draw, seed)
        memo[key] = out
        if res.shrinking:
            res.shrink_steps += 1
        else:
            res.examples += 1
        res.failures += out.failed
        res.inconclusive += out.kind == "inconclusive"
        if out.kind == "inconclusive" and not res.shrinking:  # why, for every drawn input that said nothing
            res.inconclusive_inputs.append(_record(claim, spec, draw, out, seed))
        res.not_run += out.kind == "not run"
        res.unconfirmed += out.kind == "unconfirmed"
        if out.failed and not res.shrinking:
            res.shrinking, res._first = True, out
        if progress is not None:
            progress(res)
        return out.failed

    cfg = settings(max_examples=n, database=None, deadline=None, phases=(Phase.generate, Phase.shrink),
                   suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    try:
        found = find(draws(claim, spec), condition, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        found = None
    if found is not None:
        res.minimal = _minimal(claim, spec, found, memo[found.key()], seed)
    res.seconds = max(time.perf_counter() - t0, 1e-9)
    res.shrinking = False
    if progress is not None:
        progress(res)
    return res


def _minimal(claim: Claim, spec: ExploreSpec, draw: Draw, out: Outcome, seed: int) -> dict[str, Any]:
    """The minimal failing input as JSON: the input (drawn knobs that differ from the defaults, potential,
    metric files), the failure, and the command that reproduces it; kept in ``<cache>/explore/`` with the
    metric files the command names."""
    from nnqg.numerics._atomic import atomic_write_text

    from ._report import dumps

    rec = _record(claim, spec, draw, out, seed)
    atomic_write_text(_cache_root() / "explore" / f"{claim.id}-seed{seed}.json",
                      dumps({"claim": claim.id, "seed": seed, **rec}))
    return rec


def _record(claim: Claim, spec: ExploreSpec, draw: Draw, out: Outcome, seed: int) -> dict[str, Any]:
    """One input as JSON: the input, its outcome and the command that reproduces it (the metric files it names
    kept in ``<cache>/explore/``)."""
    from nnqg.numerics._atomic import atomic_write_text

    d = _cache_root() / "explore"
    d.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in draw.metrics:
        p = d / f"{claim.id}-{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.toml"
        if not p.exists():
            atomic_write_text(p, text)
        paths[name] = str(p)
    inp: dict[str, Any] = {"params": {k: v for k, v in changed_params(claim, spec, draw)}}
    if draw.potential is not None:
        inp["potential"] = draw.potential
    if draw.metrics:
        inp["metrics"] = {k: v for k, v in draw.metrics}
    return {"input": inp, "failure" if out.failed else "outcome": {"kind": out.kind, "reason": out.reason},
            "command": reproduce_command(claim, spec, draw, seed, paths)}


def explore(claims: Sequence[Claim], n: int, seed: int, progress: ProgressFn | None = None,
            workers: int = 1) -> list[ClaimExploration]:
    """:func:`explore_claim` for every claim; with ``workers`` > 1 in that many processes (registered claims
    only), the most expensive first. Each claim's result depends only on (claim, n, seed), never on the order
    or the process it ran in; results come back in the order of ``claims``."""
    if workers <= 1 or len(claims) <= 1:
        return [explore_claim(c, n, seed, progress) for c in claims]
    import concurrent.futures as cf
    import multiprocessing as mp
    import queue as _queue

    ctx = mp.get_context("spawn")  # numba and threads: fresh interpreters, not forks
    events = ctx.Queue()
    order = sorted(claims, key=lambda c: -(spec_for(c).cost if spec_for(c) else 0.0))
    results: dict[str, ClaimExploration] = {}
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(events,)) as ex:
        futs = {ex.submit(_explore_registered, c.id, n, seed): c.id for c in order}
        pending = set(futs)
        while pending:
            done, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for f in done:
                results[futs[f]] = f.result()
                if progress is not None:
                    progress(results[futs[f]])
            while progress is not None:
                try:
                    progress(events.get_nowait())
                except _queue.Empty:
                    break
    return [results[c.id] for c in claims]


_EVENTS: Any = None


def _worker_init(events: Any) -> None:
    global _EVENTS
    _EVENTS = events
    warnings.simplefilter("ignore", RuntimeWarning)


def _explore_registered(claim_id: str, n: int, seed: int) -> ClaimExploration:
    from ._registry import get_claim

    def send(r: ClaimExploration) -> None:
        if _EVENTS is not None:
            _EVENTS.put(r)
    return explore_claim(get_claim(claim_id), n, seed, send)


def explore_report(results: Sequence[ClaimExploration], *, n: int, seed: int, timings: bool = False) -> dict:
    """The JSON report of an exploration (sorted keys, no timings unless asked: byte-identical per seed)."""
    from ._report import versions

    return {"explore": {"examples_per_claim": n, "seed": seed, "profile": "quick, no learning experiments",
                        "shrink_budget": SHRINK_BUDGET, "claims": [r.to_json(timings) for r in results]},
            "versions": versions()}


def print_explorations(out, results: Sequence[ClaimExploration], *, title: str) -> None:
    """The table (drawn / failed / shrunk per claim) and, per failure, the minimal input and its command."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("claim", no_wrap=True)
    for col in ("drawn", "failed", "shrunk", "inconcl.", "result"):
        t.add_column(col, no_wrap=True, justify="right" if col != "result" else "left")
    colour = {"PASSED": "green", "FAILED": "red", "NOT EXPLORED": "dim"}
    for r in results:
        if not r.explored:
            t.add_row(r.claim_id, "-", "-", "-", "-", f"[dim]not explored[/]")
            continue
        t.add_row(r.claim_id, str(r.examples), str(r.failures), str(r.shrink_steps), str(r.inconclusive),
                  f"[{colour[r.status]}]{r.status}[/]")
    out.print(t)
    for r in results:
        if not r.explored:
            out.print(f"{r.claim_id}: not explored: {r.reason}", markup=False, highlight=False)
        elif r.minimal is not None:
            m = r.minimal
            budget = " (shrink budget exhausted)" if r.budget_exhausted else ""
            out.print(f"[bold red]{r.claim_id}[/]: minimal failing input after {r.shrink_steps} shrink steps"
                      f"{budget}: {m['failure']['kind']}: {m['failure']['reason']}", highlight=False)
            out.print(f"  reproduce: {m['command']}", markup=False, highlight=False, soft_wrap=True)
        if r.explored and r.unconfirmed:
            out.print(f"{r.claim_id}: {r.unconfirmed} calibration failure(s) not repeated at seed + 1 "
                      f"(statistical false alarms, not counted)", markup=False, highlight=False)


def run_explore(args: Any, claims: Sequence[Claim], out: Any) -> int:
    """``nnqg verify --explore N``: explore, print the table, write the JSON; exit 1 when any claim failed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from nnqg.derivations import InvalidArgument

    from ._report import write_report

    clash = [f for f, v in (("--potential", args.potential), ("--param", args.param), ("--metric", args.metric),
                            ("--html", args.html), ("--symbolic-only", args.symbolic_only)) if v]
    if clash:
        raise InvalidArgument(f"--explore draws every input itself and writes a JSON report; it does not take "
                              f"{', '.join(clash)} (those re-run one case: use the command --explore prints)")
    n, seed = args.explore, args.seed
    import os

    workers = max(1, min(args.workers or min(2, os.cpu_count() or 1), len(claims)))
    t0 = time.perf_counter()
    state: dict[str, ClaimExploration] = {}
    printed: set[str] = set()  # a finished claim is reported by its worker and by its future: one line
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal) as prog:
        task = prog.add_task("exploring", total=len(claims) * n)

        def progress(r: ClaimExploration) -> None:
            state[r.claim_id] = r
            busy = [x for x in state.values() if x.seconds == 0.0]  # seconds is set when a claim is done
            shown = "; ".join(f"{x.claim_id}: " + (f"shrinking {x.shrink_steps}/{SHRINK_BUDGET}" if x.shrinking
                                                   else f"drawn {x.examples}/{n}") + f", failures {x.failures}"
                              for x in busy[-workers:])
            done = sum(n if (x.shrinking or x.seconds) else x.examples for x in state.values())
            prog.update(task, completed=done, description=shown or "exploring")
            if not out.is_terminal and r.seconds and r.claim_id not in printed:
                printed.add(r.claim_id)
                line = (f"not explored ({r.reason})" if not r.explored else
                        f"{r.status}: drawn {r.examples}, failed {r.failures}, shrink steps {r.shrink_steps}")
                out.print(f"{r.claim_id}: {line}", markup=False, highlight=False)

        results = explore(claims, n, seed, progress, workers)
    print_explorations(out, results, title=f"nnqg verify --explore {n} (seed {seed}, quick, no learning)")
    out.print(f"{time.perf_counter() - t0:.1f} s")
    if args.json is not None:
        write_report(explore_report(results, n=n, seed=seed, timings=args.timings), args.json)
        out.print(f"report written to {args.json}")
    return 1 if any(r.status == "FAILED" for r in results) else 0
