"""The mutation suite (`nnqg selftest`): planted errors must turn verdicts to FAILED, and the self-test itself
must say so honestly -- a missed, non-finite, crashing or meaningless (baseline already failing) mutant is never
counted as caught."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
import sympy as sp

from nnqg.verify import Claim, Convergence, NumericContext, NumericResult, SymbolicResult, all_claims, judge
from nnqg.verify import _registry
from nnqg.verify._cli import main
from nnqg.verify._selftest import planted_errors, run_selftest

X = sp.Symbol("x", real=True)

# --- a toy claim with a real symbolic and a real numeric check -------------------------------------------------

def _toy_inputs() -> dict[str, Any]:
    # d/dx sin = derivative; c enters the symbolic identity (x+1)^2 = x^2 + 2x + c
    return {"c": 1, "derivative": np.cos, "scale": 1.0, "unused": 0, "explode": False}


def _toy_symbolic(inp: Mapping[str, Any]) -> SymbolicResult:
    return SymbolicResult(checks=(("square", sp.expand((X + 1) ** 2 - X**2 - 2 * X - inp["c"])),))


CALLS = {"numeric": 0}


def _toy_numeric(ctx: NumericContext, inp: Mapping[str, Any]) -> NumericResult:
    """Central differences of sin against the stated derivative: residual O(h^2)."""
    CALLS["numeric"] += 1
    if inp["explode"]:
        raise RuntimeError("the simulator exploded")
    x = ctx.rng(7).uniform(-2, 2, 64)
    pts = []
    for h in (0.1, 0.05, 0.025):
        fd = (np.sin(x + h) - np.sin(x - h)) / (2 * h)
        pts.append((h, float(np.max(np.abs(fd - inp["scale"] * inp["derivative"](x))))))
    j = judge(Convergence("h", 2.0, tuple(pts)))
    return NumericResult(max_residual=j.max_residual, tolerance=j.tolerance, ok=j.ok, convergence=Convergence(
        "h", 2.0, tuple(pts)), where=j.reason)


def _toy(mutations: dict[str, dict[str, Any]], cid: str = "toy.derivative", **inputs: Any) -> Claim:
    # The runner caches an unmutated claim's symbolic result by claim id (and the package's code hash), so toy
    # claims with different default inputs get different ids.
    def defaults() -> dict[str, Any]:
        d = _toy_inputs()
        d.update(inputs)
        return d

    return Claim(id=cid, section="-", statement="toy", assumptions=(), default_inputs=defaults,
                 derivation=_toy_symbolic, calibration=_toy_numeric, mutations=lambda: mutations)


def test_caught_by_symbolic_check_skips_the_numeric_run() -> None:
    CALLS["numeric"] = 0
    rep = run_selftest([_toy({"c_is_2": {"c": 2}})], seed=3, quick=True)
    assert (rep.planted, rep.caught, rep.missed) == (1, 1, ())
    r = rep.results[0]
    assert (r.id, r.status, r.stage) == ("toy.derivative:c_is_2", "FAILED", "symbolic")
    assert CALLS["numeric"] == 1  # the baseline only: the mutant stopped at its failing symbolic check


def test_caught_by_numeric_check() -> None:
    rep = run_selftest([_toy({"wrong_sign": {"derivative": lambda x: -np.cos(x)},
                              "off_by_one_percent": {"scale": 1.01}})], seed=3, quick=True)
    assert rep.ok and rep.caught == 2
    assert {r.stage for r in rep.results} == {"numeric"}
    assert all(r.status == "FAILED" for r in rep.results)


def test_missed_nonfinite_and_crashing_mutants_are_not_caught() -> None:
    rep = run_selftest([_toy({"invisible": {"unused": 1}, "nan": {"scale": math.nan},
                              "crash": {"explode": True}, "caught": {"c": 0}})], seed=3, quick=True)
    by_id = {r.id.split(":")[1]: r for r in rep.results}
    assert rep.planted == 4 and rep.caught == 1 and not rep.ok
    assert set(rep.missed) == {"toy.derivative:invisible", "toy.derivative:nan", "toy.derivative:crash"}
    assert by_id["invisible"].status == "PASSED"
    assert by_id["nan"].status == "NONFINITE"  # a blow-up is not a caught error: the check did not say "wrong"
    assert by_id["crash"].status == "ERROR" and "the simulator exploded" in by_id["crash"].reason
    js = rep.to_json()
    assert js["planted"] == 4 and js["caught"] == 1 and sorted(js["missed"]) == sorted(rep.missed)


def test_baseline_that_does_not_pass_voids_its_mutants() -> None:
    # the unmutated claim is already wrong (c = 5): a FAILED mutant would prove nothing
    rep = run_selftest([_toy({"c_is_2": {"c": 2}}, cid="toy.wrong_baseline", c=5)], seed=3, quick=True)
    assert rep.caught == 0 and rep.missed == ("toy.wrong_baseline:c_is_2",)
    assert rep.baselines[0].status == "FAILED" and rep.results[0].stage == "baseline"


def test_empty_selftest_is_not_ok() -> None:
    rep = run_selftest([_toy({})], seed=1, quick=True)
    assert rep.planted == 0 and not rep.ok and rep.claims_without_mutations == ("toy.derivative",)


def test_ids_are_claim_colon_mutation_and_distinct() -> None:
    muts = planted_errors(all_claims())
    ids = [m.id for m in muts]
    assert len(ids) == len(set(ids))
    for m in muts:
        cid, name = m.id.split(":")
        assert cid == m.claim.id and name and m.overrides, m.id
        assert set(m.overrides) <= set(m.claim.default_inputs()), f"{m.id} overrides inputs the claim lacks"


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse errors
            rc = int(exc.code)
    return rc, out.getvalue(), err.getvalue()


def test_cli_exit_code_and_json_follow_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _toy({"c_is_2": {"c": 2}, "wrong_sign": {"derivative": lambda x: -np.cos(x)}})
    monkeypatch.setattr(_registry, "all_claims", lambda: (good,))
    rc, out, _ = _cli(["selftest", "--quick", "--json", str(tmp_path / "a.json")])
    js = json.loads((tmp_path / "a.json").read_text())
    assert rc == 0 and (js["planted"], js["caught"], js["missed"]) == (2, 2, [])
    assert "planted 2, caught 2, missed 0" in out

    bad = _toy({"c_is_2": {"c": 2}, "invisible": {"unused": 3}})
    monkeypatch.setattr(_registry, "all_claims", lambda: (bad,))
    rc, out, _ = _cli(["selftest", "--quick", "--json", str(tmp_path / "b.json")])
    js = json.loads((tmp_path / "b.json").read_text())
    assert rc == 1 and js["missed"] == ["toy.derivative:invisible"]
    assert "MISSED" in out and "toy.derivative:invisible" in out


@pytest.mark.parametrize("argv", [["selftest", "--seed", "-1"], ["selftest", "--claims", "no.such.claim*"],
                                  ["selftest", "--claims", " , "], ["selftest", "--bogus"]])
def test_cli_usage_errors_exit_2(argv: list[str]) -> None:
    rc, out, err = _cli(argv)
    assert rc == 2 and "Traceback" not in err + out and "error" in err


#: the CI subset of `nnqg selftest`: claims whose quick baseline is cheap; the full suite (every claim, every
#: planted error) is `nnqg selftest` and the slow test below
CI_SUBSET = "lorentz.wave_equation,spacetime.emergent_metric"


def test_quick_subset_of_registered_planted_errors_is_caught() -> None:
    from nnqg.verify import select_claims

    present = [c for c in all_claims() if c.id in CI_SUBSET.split(",") and c.mutations()]
    if not present:
        pytest.skip(f"none of {CI_SUBSET} is registered with planted errors")
    rep = run_selftest(select_claims(",".join(c.id for c in present)), seed=1, quick=True)
    assert rep.planted == sum(len(c.mutations()) for c in present)
    assert all(b.ok for b in rep.baselines), [(b.claim_id, b.status, b.reason) for b in rep.baselines]
    missed = [f"{r.id}: {r.reason}" for r in rep.results if not r.caught]
    assert not missed, "planted errors not caught:\n" + "\n".join(missed)


#: planted errors the quick profile misses at seed 1, with the reason (stated 2026-11-26 after the run that showed
#: it, docs/madelung.md): the Madelung lag rule put the default free packet at lag 0.06 (was 0.2), and an O(lag)
#: estimator error shrinks with the lag (|z| 7.93 -> 3.43 against the bound 4.84). Each must still be caught by the
#: full profile (the next test); any other miss, or this one caught, fails the test below.
QUICK_MISSES_SEED1 = {"madelung.continuity:estimator_forward_time_derivative":
                      "O(lag) estimator plant below the quick profile's power at the free packet's resolving lag"}


@pytest.mark.slow
def test_full_selftest_catches_every_planted_error(tmp_path: Path) -> None:
    """`nnqg selftest --quick` over every registered claim: >= 40 planted, every one caught but the stated quick
    misses (exit 1 because of them)."""
    rc, out, err = _cli(["selftest", "--quick", "--json", str(tmp_path / "s.json")])
    js = json.loads((tmp_path / "s.json").read_text())
    assert sorted(js["missed"]) == sorted(QUICK_MISSES_SEED1), js["missed"]
    assert js["caught"] == js["planted"] - len(QUICK_MISSES_SEED1) and rc == (1 if QUICK_MISSES_SEED1 else 0)
    assert js["planted"] >= 40, f"only {js['planted']} planted errors are registered"


@pytest.mark.slow
def test_quick_misses_are_caught_by_the_full_profile() -> None:
    from nnqg.verify import select_claims

    claims = sorted({m.split(":")[0] for m in QUICK_MISSES_SEED1})
    rep = run_selftest(select_claims(",".join(claims)), seed=1, quick=False)
    assert all(b.ok for b in rep.baselines), [(b.claim_id, b.status, b.reason) for b in rep.baselines]
    caught = {r.id for r in rep.results if r.caught}
    assert set(QUICK_MISSES_SEED1) <= caught, [r for r in rep.results if r.id in QUICK_MISSES_SEED1]
