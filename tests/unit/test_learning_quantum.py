"""The quantum-side learning experiments Q1-Q3 (docs/experiments.md): their learning systems against independent
computations, the loop-circulation estimator on processes with a known answer, decisions that flip under planted
changes of the learning system, controls that separate, and byte-identical reports from one seed."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from nnqg.derivations import InvalidArgument
from nnqg.numerics import _control_diffusions as ctl
from nnqg.numerics import _free_energy as fe
from nnqg.numerics import _grand_canonical as gc
from nnqg.numerics._circulation import loop_circulation
from nnqg.numerics._ensemble_measures import continuity_distance, nelson_distances
from nnqg.verify._model import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Measurement, NumericContext, classify
from nnqg.verify.learning import _common, madelung, quantisation
from nnqg.verify.learning._common import Profile

# ------------------------------------------------------------------------------------ the estimator, known answers


@pytest.mark.parametrize("alpha", [1.0, 2.0, 0.5])
def test_loop_circulation_counts_the_winding_of_nelson_states(alpha: float) -> None:
    """p ~ r^(2 alpha) e^(-r^2/2s^2), v = gamma hbar alpha theta/r: alpha quanta on every loop."""
    g, hb = 0.1, 0.2
    ens = ctl.winding_state(np.random.default_rng(3), n_members=3000, n_steps=40, gamma=g, k=0.1 ** 2 / g, hbar=hb,
                            alpha=alpha, substeps=8)
    c = loop_circulation(ens.q, anchors=(15, 25), window=6, gamma=g, hbar=hb, n_boot=12, rng=np.random.default_rng(0))
    assert abs(c.mean_quanta - alpha) < 3 * c.mean_se + 0.05, c
    assert c.quanta.shape == (2, 3) and np.all(np.abs(c.quanta - alpha) < 0.25)
    assert c.hole < 0.8  # a density dip at the centre
    if alpha == 0.5:
        assert c.distance > 0.35  # half a quantum from either integer


def test_loop_circulation_is_zero_without_rotation_and_sees_a_rigid_rotation() -> None:
    """A Gaussian blob at the centre (no hole, hole ratio > 1) has circulation 0; a rigidly rotating one
    (v = omega J q, a curl) has n(r) = omega r^2 / (hbar gamma), growing across the loops."""
    rng = np.random.default_rng(4)
    N, T, g, nu, a = 3000, 40, 1.0, 0.01, 0.05
    hb = 2 * nu / g
    blob = ctl.stationary_langevin(rng, n_members=N, n_steps=T, gamma=g, k=a, nu=nu)
    c0 = loop_circulation(blob.q, anchors=(15, 25), window=6, gamma=g, hbar=hb, n_boot=12, rng=rng)
    assert abs(c0.mean_quanta) < 3 * c0.mean_se + 0.02 and c0.winding == 0 and c0.hole > 1.0
    om = 0.02
    A = np.array([[1 - a, -om], [om, 1 - a]])
    q = np.empty((T + 1, N, 2))
    q[0] = math.sqrt(nu / a) * rng.standard_normal((N, 2))
    for s in range(T):
        q[s + 1] = q[s] @ A.T + math.sqrt(2 * nu) * rng.standard_normal((N, 2))
    c1 = loop_circulation(q, anchors=(15, 25), window=6, gamma=g, hbar=hb, n_boot=12, rng=rng)
    want = om * c1.radii ** 2 / (hb * g)
    assert np.all(np.abs(c1.quanta - want) < 4 * c1.quanta_se + 0.1 * want), (c1.quanta, want)
    assert c1.spread > 3 * c1.spread_se  # the loops disagree: a curl in the annulus


def test_loop_circulation_refuses_bad_input() -> None:
    q = np.zeros((10, 50, 2))
    with pytest.raises(InvalidArgument, match="anchors"):
        loop_circulation(q, anchors=(9,), window=2, gamma=0.1, hbar=0.1, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="hbar"):
        loop_circulation(q, anchors=(5,), window=2, gamma=0.1, hbar=0.0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="members"):
        loop_circulation(q[:, :10], anchors=(5,), window=2, gamma=0.1, hbar=0.1, rng=np.random.default_rng(0))


# ------------------------------------------------------------------------------------ controls, closed forms


def test_control_diffusions_have_their_closed_form_marginals() -> None:
    rng = np.random.default_rng(5)
    N = 20000
    tr = ctl.transported_gaussian(rng, n_members=N, n_steps=30, gamma=0.1, k=0.2, nu=0.002, mu0=(0.9, -0.9), s0=0.3)
    t = 30
    assert np.allclose(tr.q[t].mean(axis=0), np.array([0.9, -0.9]) * math.exp(-0.02 * t), atol=4 * 0.3 / math.sqrt(N))
    assert np.allclose(tr.q[t].var(axis=0), 0.09 * math.exp(-0.04 * t), rtol=0.05)
    assert np.allclose(tr.grad_free_energy(np.ones((1, 2)), 3), -0.2)
    om, hb, g = 0.1, 0.05, 0.1
    co = ctl.coherent_state(rng, n_members=N, n_steps=30, gamma=g, k=om ** 2 / g, hbar=hb, a=(0.5, 0.0),
                            b=(0.0, 0.05))
    s2 = hb * g / 2 / om
    assert np.allclose(co.q[30].mean(axis=0), [0.5 * math.cos(3.0), 0.05 / om * math.sin(3.0)], atol=0.01)
    assert np.allclose(co.q[30].var(axis=0), s2, rtol=0.05)
    fd = np.array([-0.5 * om * math.sin(3.0), 0.05 * math.cos(3.0)])  # d/dt of the centre at t = 30
    assert np.allclose(g * co.grad_free_energy(np.zeros((2, 2)), 30), fd)
    wi = ctl.winding_state(rng, n_members=N, n_steps=10, gamma=g, k=om ** 2 / g, hbar=hb, alpha=1.0, substeps=8)
    r2 = np.sum(wi.q[10] ** 2, axis=1)
    assert r2.mean() == pytest.approx(2 * s2 * 2.0, rel=0.05)  # r^2 / 2 s^2 ~ Gamma(alpha + 1): stationary


# ------------------------------------------------------------------------------------- the free-energy network


@pytest.fixture(scope="module")
def fe_task() -> fe.FreeEnergyTask:
    return fe.make_free_energy_task(np.random.default_rng(6), n_hidden=3, n_data=48, temperature=0.5)


@pytest.mark.parametrize("objective,hidden", [("free_energy", "equilibrium"), ("free_energy", "sampled"),
                                              ("average_loss", "equilibrium")])
def test_free_energy_kernel_matches_the_numpy_enumeration(fe_task, objective: str, hidden: str) -> None:
    m = fe.FreeEnergyModel(fe_task, objective, hidden)
    Q = m.initial_ensemble(np.random.default_rng(1), 9, 0.4)
    a, b = m._moments(Q), m.moments_reference(Q)
    for key in a:
        assert np.allclose(a[key], b[key], rtol=1e-12, atol=1e-12), key


def test_free_energy_gradients_are_the_derivatives_of_f_and_u(fe_task) -> None:
    m = fe.FreeEnergyModel(fe_task)
    Q = m.initial_ensemble(np.random.default_rng(2), 5, 0.4)
    h = 1e-6
    for f, grad in ((m.free_energy, m.grad_free_energy), (m.average_loss, m.grad_average_loss)):
        fd = np.stack([(f(Q + h * e) - f(Q - h * e)) / (2 * h) for e in np.eye(4)], axis=1)
        assert np.allclose(grad(Q), fd, atol=1e-7)


def test_free_energy_tends_to_the_lowest_loss_state_as_t_goes_to_zero(fe_task) -> None:
    """F_x = -T ln sum_h e^{-H/T} -> min_h H as T -> 0 (the deterministic network): enumerate H directly."""
    cold = replace(fe_task, temperature=1e-3)
    m = fe.FreeEnergyModel(cold)
    q = m.initial_ensemble(np.random.default_rng(3), 1, 0.3)
    states = np.array(list(itertools.product((-1.0, 1.0), repeat=3)))
    feats = np.tanh(np.outer(cold.x, cold.w) + cold.b)
    H = 0.5 * np.sum((states[None] - feats[:, None]) ** 2, axis=2) + 0.5 * (
        cold.y[:, None] - states @ q[0, :3] - q[0, 3]) ** 2
    assert m.free_energy(q)[0] == pytest.approx(H.min(axis=1).mean(), abs=5e-3)


def test_sampled_neurons_have_the_same_mean_gradient_and_more_noise(fe_task) -> None:
    eq, sa = fe.FreeEnergyModel(fe_task), fe.FreeEnergyModel(fe_task, hidden="sampled")
    q = eq.initial_ensemble(np.random.default_rng(4), 1, 0.3)
    rng = np.random.default_rng(5)
    n = 40000
    g = sa.step_gradient(np.repeat(q, n, axis=0), rng.integers(0, 48, (n, 1)), rng.random((n, 1)))
    assert np.allclose(g.mean(axis=0), eq.grad_free_energy(q)[0], atol=5 * g.std(axis=0).max() / math.sqrt(n))
    assert np.allclose(np.cov(g.T, bias=True), sa.grad_cov(q)[0], rtol=0.05, atol=0.02)
    assert np.trace(sa.grad_cov(q)[0]) > np.trace(eq.grad_cov(q)[0])


def test_continuity_tells_noisy_sgd_from_noiseless_gradient_descent(fe_task) -> None:
    """A planted change of the learning system flips the continuity measure: gradient descent on F without noise
    (the current velocity is -gamma grad F exactly) satisfies it; SGD with B = 2 (an osmotic current) does not."""
    m = fe.FreeEnergyModel(fe_task)
    prof = dict(gamma=0.1, batch_size=2, anchors=(12, 20), window=3)
    q0 = m.initial_ensemble(np.random.default_rng(7), 600, 0.3)
    sgd = fe.simulate(m, q0, gamma=0.1, batch_size=2, n_steps=30, rng=np.random.default_rng(8))
    gd = np.empty_like(sgd)
    gd[0] = q0
    for s in range(30):
        gd[s + 1] = gd[s] - 0.1 * m.grad_free_energy(gd[s])
    noisy = continuity_distance(m.ensemble(sgd), **prof)
    clean = continuity_distance(m.ensemble(gd), **prof)
    assert noisy.distance - 2 * noisy.se > madelung.TAU, noisy
    assert clean.distance + 2 * clean.se < madelung.TAU, clean


def test_newton_law_of_plain_learning_flips_with_the_ground_state_potential() -> None:
    """Stationary plain learning (Q1's negative control) fails the Newton law with V = U by about
    (1 - gamma k)/(1 + gamma k); with the potential it is the ground state of, V = gamma k U (a planted change of
    V), the rule no longer rejects it (what is left, about 0.05, is the one-step discretisation of the drifts):
    the measure is not stuck at NOT SUPPORTED."""
    g, k, nu = 0.1, 1.0, 0.0025
    ens = ctl.stationary_langevin(np.random.default_rng(10), n_members=6000, n_steps=40, gamma=g, k=k, nu=nu)
    args = dict(gamma=g, batch_size=1, anchors=(15, 25), window=4, n_boot=8)
    bad = nelson_distances(ens, **args, rng=np.random.default_rng(0)).newton
    good = nelson_distances(replace(ens, grad_loss=lambda Q: g * k * k * Q), **args,
                            rng=np.random.default_rng(0)).newton
    assert abs(bad.distance - (1 - g * k) / (1 + g * k)) < 0.05
    assert classify(bad.distance, bad.se, madelung.TAU, madelung.SIGMAS) == NOT_SUPPORTED
    assert classify(good.distance, good.se, madelung.TAU, madelung.SIGMAS) != NOT_SUPPORTED, good
    assert good.distance < bad.distance / 5


# ------------------------------------------------------------------------------------- the grand-canonical learner


def test_grand_canonical_kernel_matches_numpy_and_differentiates_f() -> None:
    task = gc.make_grand_canonical_task(np.random.default_rng(10), n_data=40, mu=0.2)
    states = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    rng = np.random.default_rng(11)
    q = rng.standard_normal((6, 2))
    occ = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0], [0, 1, 0]], float)
    idx = rng.integers(0, 40, (6, 8))
    mask = np.ones((6, 8))
    mask[1, 5:] = 0
    F, g, v = gc._free_energy(task, q, occ, idx, mask, states)
    out = np.empty((8, 2))
    for n in range(6):
        nb = int(mask[n].sum())
        Fn, vn = gc._batch_free_energy(task.x, task.y, q[n, 0], q[n, 1], occ[n], idx[n], nb, states,
                                       task.temperature, task.silent_cost, out)
        assert Fn == pytest.approx(F[n], abs=1e-12) and vn == pytest.approx(v[n], abs=1e-12)
        assert np.allclose(out[:nb].mean(axis=0), g[n], atol=1e-12)
    h = 1e-6
    fd = np.stack([(gc._free_energy(task, q + h * e, occ, idx, mask, states)[0]
                    - gc._free_energy(task, q - h * e, occ, idx, mask, states)[0]) / (2 * h) for e in np.eye(2)], 1)
    assert np.allclose(fd, g, atol=1e-7)


def test_grand_canonical_learner_follows_its_rule() -> None:
    task = gc.make_grand_canonical_task(np.random.default_rng(12), n_data=64, mu=0.2)
    run = gc.simulate(task, n_members=200, n_steps=20, rng=np.random.default_rng(13))
    assert np.all((run.batch >= task.batch_min) & (run.batch <= task.batch_max))
    assert np.all(run.gamma <= task.gamma_max + 1e-15) and np.all(run.gamma > 0)
    flips = np.abs(np.diff(run.occupancy, axis=0)).sum(axis=2)  # one slot toggled per accepted move, else none
    assert np.array_equal(flips, run.accepted.astype(float)) and run.accepted.any()
    fixed = gc.simulate(task, n_members=200, n_steps=20, rng=np.random.default_rng(13), exchange=False, adapt=False,
                        gamma=0.1, batch_size=6)
    assert np.all(fixed.occupancy == 1.0) and np.all(fixed.batch == 6) and np.all(fixed.gamma == 0.1)
    again = gc.simulate(task, n_members=200, n_steps=20, rng=np.random.default_rng(13))
    assert np.array_equal(again.q, run.q)  # same stream, same learners


# ------------------------------------------------------------------------------------- decisions and controls


def test_evidence_rule_and_override() -> None:
    pos, neg = Measurement("pos", 0.01, 0.01), Measurement("neg", 0.6, 0.02)
    ok = _common.evidence(system="s", quantity="q", measured=[_common.measure("a", 0.02, 0.01, 0.1, 2)],
                          positive=pos, negative=neg, tau=0.1, k=2, section="X", details={})
    assert ok.status == SUPPORTED and ok.power == pytest.approx(0.12)
    over = _common.evidence(system="s", quantity="q", measured=[_common.measure("a", 0.02, 0.01, 0.1, 2)],
                            positive=pos, negative=neg, tau=0.1, k=2, section="X", details={},
                            override=(INCONCLUSIVE, "zero winding"))
    assert over.status == INCONCLUSIVE and over.reason.startswith("zero winding")
    swapped = _common.evidence(system="s", quantity="q", measured=[_common.measure("a", 0.02, 0.01, 0.1, 2)],
                               positive=neg, negative=pos, tau=0.1, k=2, section="X", details={},
                               override=(INCONCLUSIVE, "zero winding"))
    assert swapped.status == INCONCLUSIVE and "do not separate" in swapped.reason


@pytest.fixture(scope="module")
def quick_runs() -> tuple[madelung.MadelungRun, quantisation.QuantisationRun]:
    ctx = NumericContext(seed=1, quick=True)
    return madelung.run(ctx), quantisation.run(ctx)


def test_controls_separate_at_the_quick_profile(quick_runs) -> None:
    m, q = quick_runs
    ctx = NumericContext(seed=1, quick=True)
    for ev in (madelung.continuity_evidence(ctx, {}), madelung.hamilton_jacobi_evidence(ctx, {}),
               madelung.schrodinger_evidence(ctx, {}), quantisation.quantisation_evidence(ctx, {})):
        assert [c.status for c in ev.controls] == [SUPPORTED, NOT_SUPPORTED], ev.reason
        assert ev.status in (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
        assert len(ev.measured) >= 1 and all(math.isfinite(x.distance) for x in ev.measured)
        assert ev.preregistration.startswith("docs/experiments.md")
    assert len(m.systems) == 3 and m.comparison is not None


def test_quantisation_decision_flips_with_a_planted_swirl(quick_runs, monkeypatch) -> None:
    """The learning system with a planted irrotational swirl of 1 quantum is SUPPORTED, of half a quantum NOT
    SUPPORTED; the same controls (measured once) decide."""
    _, base = quick_runs
    prof = quantisation.PROFILES[True]
    task = gc.make_grand_canonical_task(_common.stream(1, quantisation.KEY, 1), **quantisation.LEARNER)
    status = {}
    for n in (1.0, 0.5):
        run = gc.simulate(task, n_members=prof.n_members, n_steps=prof.n_steps, swirl=n,
                          rng=_common.stream(1, quantisation.KEY, 2))
        planted = replace(base, learner=quantisation._learner("planted", run, task, prof, np.random.default_rng(0)))
        status[n] = quantisation.decide(planted).status
    assert status == {1.0: SUPPORTED, 0.5: NOT_SUPPORTED}
    # a zero winding the rule would accept is INCONCLUSIVE, and so is the learner's own status in the report
    zero = replace(base.learner, circulation=replace(base.learner.circulation, mean_quanta=0.01, winding=0,
                                                     distance=0.01, se=0.01, hole=0.01))
    ev = quantisation.decide(replace(base, learner=zero))
    assert ev.status == INCONCLUSIVE and ev.measured[0].status == INCONCLUSIVE and "no circulation" in ev.reason


def test_learning_reports_are_byte_identical_for_one_seed(monkeypatch) -> None:
    tiny = Profile(n_members=120, n_steps=24, anchors=(8, 14), window=3, n_boot=3)
    monkeypatch.setitem(madelung.PROFILES, True, tiny)
    monkeypatch.setitem(quantisation.PROFILES, True, tiny)
    out = []
    for _ in range(2):
        madelung._RUNS.clear()
        quantisation._RUNS.clear()
        ctx = NumericContext(seed=7, quick=True)
        evs = [madelung.continuity_evidence(ctx, {}), madelung.hamilton_jacobi_evidence(ctx, {}),
               quantisation.quantisation_evidence(ctx, {})]
        out.append(json.dumps([e.to_json() for e in evs], sort_keys=True).encode())
    madelung._RUNS.clear()
    quantisation._RUNS.clear()
    assert out[0] == out[1]


# ------------------------------------------------------------------------------------- sweep task kinds


def test_sweep_kinds_parse_their_example_specs_and_refuse_bad_keys() -> None:
    from nnqg.verify._sweep_spec import grid_points, load_spec, parse_spec

    for name, points in (("free_energy", 12), ("grand_canonical", 8)):
        assert len(grid_points(load_spec(f"examples/sweeps/{name}.toml"))) == points
    base = {"sweep": {"seed": 1, "claims": ["madelung"]}, "grid": {"gamma": [0.1], "batch_size": [2],
                                                                   "ensemble": [200]}}
    with pytest.raises(InvalidArgument, match="grid.width"):
        parse_spec({**base, "task": {"kind": "free_energy_network"}, "grid": {**base["grid"], "width": [11]}})
    with pytest.raises(InvalidArgument, match="task.hidden"):
        parse_spec({**base, "task": {"kind": "free_energy_network", "objective": "average_loss",
                                     "hidden": "sampled"}, "grid": {**base["grid"], "width": [2]}})
    with pytest.raises(InvalidArgument, match="task.noise"):
        parse_spec({**base, "task": {"kind": "grand_canonical", "noise": -1.0}})
    with pytest.raises(InvalidArgument, match="task.rule"):
        parse_spec({**base, "task": {"kind": "grand_canonical", "rule": "micro"}})


@pytest.mark.parametrize("kind,width", [("free_energy_network", 2), ("grand_canonical", None)])
def test_sweep_kind_point_is_reproducible(kind: str, width) -> None:
    from nnqg.numerics._tasks import Setting, task_kind

    k = task_kind(kind)
    s = Setting(task={**{n: v.default for n, v in k.task_keys.items()}, "n_data": 32}, run={}, gamma=0.1,
                batch_size=2, n_members=20, n_steps=6, init_std=0.1, width=width)
    a, b = (k.simulate(s, np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(a.q, b.q)
    assert np.array_equal(a.grad_cov(a.q[3]), b.grad_cov(b.q[3]))


def test_adiabatic_model_is_the_occupancy_average_of_the_enumerated_free_energies() -> None:
    """Omega, grad Omega and the mixture covariance against a NumPy computation from gc._free_energy over the whole
    data set and every occupancy; the canonical rule is the full network's F and covariance."""
    task = gc.make_grand_canonical_task(np.random.default_rng(14), n_data=30, mu=0.2)
    states = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    Q = np.random.default_rng(15).standard_normal((4, 2))
    idx = np.tile(np.arange(30), (4, 1))
    full = np.ones((4, 30))
    F, g, sec = [], [], []
    for o in states:
        occ = np.tile(o, (4, 1))
        Fo, go, _ = gc._free_energy(task, Q, occ, idx, full, states)
        gx = np.stack([gc._free_energy(task, Q, occ, idx[:, [i]], np.ones((4, 1)), states)[1] for i in range(30)], 1)
        F.append(Fo)
        g.append(go)
        sec.append(np.einsum("pik,pil->pkl", gx, gx) / 30)
    F, g, sec = np.array(F), np.array(g), np.array(sec)
    a = -(F - task.mu * states.sum(axis=1)[:, None]) / task.temperature
    w = np.exp(a - a.max(axis=0))
    w /= w.sum(axis=0)
    om = -task.temperature * (a.max(axis=0) + np.log(np.exp(a - a.max(axis=0)).sum(axis=0)))
    grad = np.einsum("op,opk->pk", w, g)
    cov = np.einsum("op,opkl->pkl", w, sec) - grad[:, :, None] * grad[:, None, :]
    m = gc.AdiabaticModel(task).moments(Q)
    assert np.allclose(m[0], om) and np.allclose(m[1], grad) and np.allclose(m[2], cov)
    c = gc.AdiabaticModel(task, "canonical").moments(Q)
    assert np.allclose(c[1], g[-1]) and np.allclose(c[2], sec[-1] - g[-1][:, :, None] * g[-1][:, None, :])
