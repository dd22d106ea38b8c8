"""Experiment 5 (duality on one learning network): the ring model against a direct computation, the free run
against the shift network, per-measure verdicts flipping under planted changes of the learning system, the
controls separating at their registered sizes (on the report's numbers) and the pre-registered rule (a control
that does not separate, planted by swapping the Madelung controls, makes the experiment INCONCLUSIVE),
determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nnqg.numerics import _learned_network as ln
from nnqg.numerics import _task_shift_ring as ring
from nnqg.numerics._network import two_population_shift_weights
from nnqg.numerics._tasks import task_kind
from nnqg.verify._model import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, NumericContext, classify
from nnqg.verify.learning import duality as exp

QUICK = NumericContext(seed=1, quick=True)
#: a small learning system and small Madelung controls (too small to resolve the positive one)
SMALL = {"members_quick": 400, "bootstrap": 4, "madelung_control_members_quick": 400}
#: the registered quick profile (learning system and controls at their registered sizes)
REGISTERED: dict = {}


def test_ring_model_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    task = {"sites": 16, "ell": 2.0, "process_noise": 0.1, "observation_noise": 0.0, "n_seq": 8, "T": 8}
    X, Y = ring.world_data(task, rng)
    model = ring.RingModel(X, Y)
    Q = rng.standard_normal((3, 2))
    for i, q in enumerate(Q):
        a = np.c_[np.roll(X[:, :16], 1, 1), np.roll(X[:, 16:], -1, 1)]
        r = q[0] * a + q[1] * X - Y
        g = np.c_[(r * a).sum(1), (r * X).sum(1)] / 32
        assert np.allclose(model.grad(Q)[i], g.mean(0), atol=1e-13)
        assert np.allclose(model.grad_cov(Q)[i], np.cov(g.T, bias=True), atol=1e-13)
        assert np.isclose(model.loss(Q)[i], (0.5 * (r * r).sum(1) / 32).mean(), atol=1e-13)


def test_free_run_of_q_1_0_is_the_shift_network_and_the_kind_is_registered() -> None:
    y0 = np.random.default_rng(1).standard_normal(32)
    states = ring.ring_free_run(np.array([[1.0, 0.0], [0.9, 0.1]]), y0, 5)
    assert np.allclose(states[:, 0], ln.free_run(two_population_shift_weights(16).toarray(), y0, 5))
    assert task_kind("shift_ring").n_parameters({}, None) == 2


def test_pre_registered_rule_is_inconclusive_when_a_control_does_not_separate() -> None:
    ev = exp.run(QUICK, SMALL)
    per = ev.details["controls per measure"]
    if per["Nelson ground state, Madelung"][2] != SUPPORTED:
        assert ev.status == INCONCLUSIVE and "controls do not separate" in ev.reason
    assert [m.status for m in ev.measured][1] == NOT_SUPPORTED  # plain SGD is far from Madelung
    assert ev.details["gravitational side (neuron states)"]["verdict"] == SUPPORTED


def test_planted_changes_of_the_learning_system_flip_the_measures(monkeypatch) -> None:
    # noisy observations: least squares learns a leaky W(q), whose neuron states decay: the wave side fails
    noisy = exp.run(QUICK, {**SMALL, "observation_noise": 0.5})
    assert noisy.measured[2].status == NOT_SUPPORTED
    # a step far from the diffusion limit: the Fokker-Planck distance grows (its O(gamma) part)
    big = exp.run(QUICK, {**SMALL, "gamma": 0.6})
    assert big.measured[0].status != SUPPORTED
    # with a rule under which every control separates, the learner's verdict follows its measures
    monkeypatch.setattr(exp, "TAU", 0.2)
    monkeypatch.setattr(exp, "SIGMAS", 1.0)
    ev = exp.run(QUICK, SMALL)
    assert [c.status for c in ev.controls] == [SUPPORTED, NOT_SUPPORTED] and ev.status == NOT_SUPPORTED


def test_same_seed_same_bytes() -> None:
    a, b = (json.dumps(exp.run(QUICK, SMALL).to_json(), sort_keys=True) for _ in range(2))
    assert a == b


@pytest.fixture(scope="module")
def registered() -> tuple[dict, dict]:
    """One run of the registered quick profile: its JSON and the Madelung control ensembles it computed (kept for
    the planted runs below)."""
    seen = {}
    real = exp.madelung_controls

    def spy(ctx, s, members):
        seen.update(real(ctx, s, members))
        seen["members"] = members
        return {k: v for k, v in seen.items() if k != "members"}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(exp, "madelung_controls", spy)
        ev = exp.run(QUICK, REGISTERED)
    return ev.to_json(), seen


def test_controls_separate_at_the_registered_size_on_the_quick_runs_json(registered) -> None:
    js, seen = registered
    assert seen["members"] == exp.SETTINGS["madelung_control_members_quick"] == 32000
    assert js["details"]["control sizes"]["Madelung (members)"] == 32000
    # every control, read from the report: its status is the rule applied to its own number, and it separates
    per = js["details"]["controls per measure"]
    for label, (d, se, status) in per.items():
        assert status == classify(d, se, exp.TAU, exp.SIGMAS), label
    assert [per[k][2] for k in ("OU with the model's drift and noise, Fokker-Planck", "Nelson ground state, Madelung",
                                "diag(S, S^T), wave")] == [SUPPORTED] * 3
    assert [per[k][2] for k in ("OU with 4x the model's noise, Fokker-Planck", "stationary Langevin learning, "
                                "Madelung", "random matrix, wave")] == [NOT_SUPPORTED] * 3
    assert [c["status"] for c in js["controls"]] == [SUPPORTED, NOT_SUPPORTED]
    # so the verdict is the learner's: plain SGD is far from Madelung
    assert js["status"] == NOT_SUPPORTED and "controls do not separate" not in js["reason"]
    # the positive control sits at the O(a) value of one-step increments, a(1 - a/4)/(1 + (1 - a/2)^2), not at 0
    a = exp.SETTINGS["nelson_a"]
    pos = js["details"]["control ensembles"]["madelung_positive"]
    assert abs(pos["newton"] - a * (1 - a / 4) / (1 + (1 - a / 2) ** 2)) <= 3 * pos["newton_se"]


def test_the_previous_control_size_was_underpowered() -> None:
    # docs/experiments.md section 5, Changes 2026-11-26: at M = 4000 (seed 1) the positive control is 0.084 +- 0.037
    out = exp.madelung_controls(NumericContext(seed=1), exp.SETTINGS, 4000)["madelung_positive"]
    assert classify(out["madelung"], out["madelung_se"], exp.TAU, exp.SIGMAS) == INCONCLUSIVE
    assert math.isclose(out["madelung"], 0.0838, abs_tol=5e-4)


@pytest.mark.parametrize("plant", ["positive is the negative", "negative is the positive"])
def test_a_planted_control_failure_makes_the_experiment_inconclusive(registered, monkeypatch, plant) -> None:
    _, seen = registered
    pos, neg = seen["madelung_positive"], seen["madelung_negative"]
    swapped = {"madelung_positive": neg if plant == "positive is the negative" else pos,
               "madelung_negative": pos if plant == "negative is the positive" else neg}
    monkeypatch.setattr(exp, "madelung_controls", lambda ctx, s, members: swapped)
    ev = exp.run(QUICK, REGISTERED)
    assert ev.status == INCONCLUSIVE and "controls do not separate" in ev.reason
    failed = "positive" if plant.startswith("positive") else "negative"
    assert f"{failed} control: " in ev.reason and "Madelung" in ev.reason
    assert [m.status for m in ev.measured][1] == NOT_SUPPORTED  # the learner's own measure is unchanged
