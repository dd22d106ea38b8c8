"""Experiment 4 (metric and geodesics from learned couplings): the world's solver, the read-off and the measures
on cases with known answers, the decision flipping under a planted change of the learning rule, the controls
separating (quick here, the default size in tests/slow), determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnqg.numerics import _learned_medium as lm
from nnqg.verify._model import NOT_SUPPORTED, SUPPORTED, NumericContext
from nnqg.verify.learning import spacetime as exp

QUICK = NumericContext(seed=1, quick=True)
C_W = lambda x: 1 + 0.3 * np.sin(2 * np.pi * x)  # noqa: E731


def test_world_solver_reproduces_a_standing_wave_at_fourth_order_in_time() -> None:
    M = 64
    x = np.arange(M) / M
    errs = []
    for tau, T in ((0.01, 31), (0.005, 61)):  # same final time 0.3; RK4 with one substep per tau here
        u = lm.string_evolve(np.sin(2 * np.pi * x), np.zeros(M), np.ones(M), tau, T)[0]
        exact = np.sin(2 * np.pi * x)[None, :] * np.cos(2 * np.pi * tau * np.arange(T))[:, None]
        errs.append(np.abs(u - exact).max())
    assert errs[0] < 1e-6 and 12 < errs[0] / errs[1] < 20


def test_read_off_and_its_refusal() -> None:
    n = 128
    tau = 0.8 / (n * 1.3)
    wp, wm = lm.hand_set_couplings(C_W, n, tau)
    xs = np.linspace(0, 1, 1000, endpoint=False)
    assert np.abs(lm.read_speed(wp, wm, tau)(xs) / C_W(xs) - 1).max() < 1e-4
    wm_bad = wm.copy()
    wm_bad[5] = -0.1
    assert lm.read_speed(wp, wm_bad, tau) is None


def test_measures_on_known_cases() -> None:
    n = 256
    tau = 0.8 / (n * 1.3)
    wp, wm = lm.hand_set_couplings(C_W, n, tau)
    c = lm.read_speed(wp, wm, tau)
    probes = np.round(np.arange(0.35, 0.8001, 0.05), 10)
    assert lm.arrival_speed_distance(wp, wm, c, tau, x0=0.15, width=0.04, probes=probes)["distance"] < 0.01
    g = lm.centroid_distance(wp, wm, c, tau, x0=0.2, width=0.08, duration=0.6)
    assert g["distance"] < 0.03 and g["travelled"] == pytest.approx(0.57, abs=0.02)
    # the same network against a uniform speed of the same optical length: the measure sees the difference
    _, total = lm.optical_coordinate(c)
    flat = lambda xs: np.full(np.shape(xs), 1.0 / total)  # noqa: E731
    assert lm.centroid_distance(wp, wm, flat, tau, x0=0.2, width=0.08, duration=0.6)["distance"] > 0.08
    assert lm.arrival_speed_distance(wp, wm, flat, tau, x0=0.15, width=0.04, probes=probes)["distance"] > 0.2


def test_null_ray_agrees_with_dop853() -> None:
    from scipy.integrate import solve_ivp

    t = np.linspace(0, 1.5, 31)  # more than a revolution of the ring
    ref = solve_ivp(lambda _, x: C_W(x), (0, 1.5), [0.2], method="DOP853", t_eval=t, rtol=1e-12, atol=1e-14).y[0]
    assert np.abs(lm.null_ray(C_W, 0.2, t) - ref).max() < 1e-10


def test_sgd_recovers_the_worlds_speed() -> None:
    rng = np.random.default_rng(0)
    n = 128
    tau = 0.8 / (n * 1.3)
    obs = lm.string_world(rng, n, C_W, n_seq=16, T=48, ell=3.0, tau=tau)
    tr = lm.train_couplings(obs, rng, batch_size=8, n_steps=3000, w0=0.25)
    xs = (np.arange(n) + 0.5) / n
    assert np.abs(lm.read_speed(tr.wp, tr.wm, tau)(xs) / C_W(xs) - 1).max() < 0.05


@pytest.mark.parametrize("which", ["speed", "geodesic"])
def test_quick_profile_controls_separate_and_a_planted_learning_rule_flips_the_decision(which: str) -> None:
    ev = exp.run(QUICK, which)
    assert [c.status for c in ev.controls] == [SUPPORTED, NOT_SUPPORTED]
    assert ev.status == SUPPORTED, ev.reason
    # a learner that adapts only its right-hand couplings: its network is not reciprocal, the read-off c(x)
    # no longer describes its pulses and packets
    planted = exp.run(QUICK, which, {"train_left": False, "sizes_quick": (128,)})
    assert planted.status == NOT_SUPPORTED, planted.reason


def test_same_seed_same_bytes_and_cached_training_changes_nothing() -> None:
    a = json.dumps(exp.run(QUICK, "geodesic").to_json(), sort_keys=True)
    exp._TRAINED.clear()
    b = json.dumps(exp.run(QUICK, "geodesic").to_json(), sort_keys=True)
    assert a == b


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(Exception, match="settings: unknown keys"):
        exp.run(QUICK, "speed", {"size": 3})
    with pytest.raises(Exception, match="which"):
        exp.run(QUICK, "metric")
