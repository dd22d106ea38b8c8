"""The three parts of a verdict (derivation, calibration, learning evidence) are judged and reported apart; a NOT
SUPPORTED learning verdict is a result (exit 0, printed), a failed calibration is a program failure (exit 1), a
calibration that did not run is NOT RUN, never PASSED."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import sympy as sp

from nnqg.verify import Claim, NumericContext, NumericResult, SymbolicResult, run_claim
from nnqg.verify import _registry
from nnqg.verify._cli import main
from nnqg.verify._model import INCONCLUSIVE, NOT_RUN, NOT_SUPPORTED, NOT_TESTED, SUPPORTED, LearningEvidence, \
    Measurement, classify, decide_learning


def _claim(cid: str, *, cal=None, learn=None, ok=True) -> Claim:
    return Claim(id=cid, section="-", statement="toy", assumptions=(), default_inputs=dict,
                 derivation=lambda inp: SymbolicResult(checks=(("identity", sp.S.Zero if ok else sp.S.One),)),
                 calibration=cal, learning=learn)


def _learning(distance: float):
    def run(ctx, inputs):
        st, why, controls = decide_learning([Measurement("toy SGD", distance, 0.01)],
                                            Measurement("built to hold", 0.0, 0.01),
                                            Measurement("built to fail", 1.0, 0.01), 0.1, 3.0)
        return LearningEvidence(st, why, system="toy", quantity="toy distance",
                                measured=(Measurement("toy SGD", distance, 0.01),), threshold=0.1, sigmas=3.0,
                                power=0.13, controls=controls)
    return run


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue() + err.getvalue()


def test_rule_and_controls():
    assert classify(0.0, 0.01, 0.1, 3) == SUPPORTED
    assert classify(0.5, 0.01, 0.1, 3) == NOT_SUPPORTED
    assert classify(0.09, 0.01, 0.1, 3) == INCONCLUSIVE
    assert classify(float("nan"), 0.01, 0.1, 3) == INCONCLUSIVE
    # controls that do not separate make the experiment INCONCLUSIVE, whatever the system gives
    st, why, _ = decide_learning([Measurement("sgd", 0.0, 0.01)], Measurement("pos", 0.5, 0.01),
                                 Measurement("neg", 1.0, 0.01), 0.1, 3)
    assert st == INCONCLUSIVE and "do not separate" in why
    st, _, controls = decide_learning([Measurement("sgd", 0.9, 0.01)], Measurement("pos", 0.0, 0.01),
                                      Measurement("neg", 1.0, 0.01), 0.1, 3)
    assert st == NOT_SUPPORTED and [c.status for c in controls] == [SUPPORTED, NOT_SUPPORTED]


@pytest.mark.parametrize("distance, learning, rc", [(0.0, SUPPORTED, 0), (0.9, NOT_SUPPORTED, 0)])
def test_learning_verdict_never_changes_the_exit_code(distance, learning, rc, monkeypatch, tmp_path: Path):
    claim = _claim("toy.learns", learn=_learning(distance))
    monkeypatch.setattr(_registry, "all_claims", lambda: (claim,))
    code, text = _cli(["verify", "--quick", "--json", str(tmp_path / "r.json")])
    rep = json.loads((tmp_path / "r.json").read_text())["claims"][0]
    assert code == rc and rep["learning"]["status"] == learning and learning in text
    assert rep["derivation"]["status"] == "EXACT" and rep["calibration"]["status"] == NOT_RUN
    assert [c["status"] for c in rep["learning"]["controls"]] == [SUPPORTED, NOT_SUPPORTED]
    assert rep["headline"].endswith(f"learning: {learning}")
    code, _ = _cli(["verify", "--quick", "--no-learning", "--json", str(tmp_path / "r2.json")])
    assert json.loads((tmp_path / "r2.json").read_text())["claims"][0]["learning"]["status"] == NOT_TESTED


def test_calibration_that_did_not_run_is_not_passed(monkeypatch, tmp_path: Path):
    claim = _claim("toy.notrun", cal=lambda ctx, inp: NumericResult.not_run("K = 2 is not implemented"))
    v = run_claim(claim, NumericContext(seed=1, quick=True))
    assert v.calibration_status == NOT_RUN and "not run" in v.reason and "no calibration" in v.headline
    monkeypatch.setattr(_registry, "all_claims", lambda: (claim,))
    code, text = _cli(["verify", "--quick", "--json", str(tmp_path / "r.json")])
    cal = json.loads((tmp_path / "r.json").read_text())["claims"][0]["calibration"]
    assert cal == {"status": NOT_RUN, "reason": "K = 2 is not implemented"}
    assert code == 0 and "PASSED" not in text


def test_failed_calibration_and_failed_derivation_exit_1(monkeypatch):
    bad_cal = _claim("toy.badcal", cal=lambda ctx, inp: NumericResult(1.0, 0.1, False, where="too big"))
    bad_sym = _claim("toy.badsym", ok=False)
    inconclusive = _claim("toy.unresolved", cal=lambda ctx, inp: NumericResult(
        1.0, 0.1, False, where="grid unresolved", inconclusive=True))
    for claim, rc, part in ((bad_cal, 1, "calibration"), (bad_sym, 1, "derivation"), (inconclusive, 0, "")):
        monkeypatch.setattr(_registry, "all_claims", lambda c=claim: (c,))
        code, text = _cli(["verify", "--quick"])
        assert code == rc, (claim.id, text)
        if part:
            assert "FAILED" in text
        else:
            assert INCONCLUSIVE in text
