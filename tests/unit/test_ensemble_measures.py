"""The ensemble estimators of numerics._ensemble_measures on processes whose answer is known in closed form, on
planted errors, and their power helpers: a predicted smallest detectable plant must be detected when planted at
twice that size and missed at a quarter of it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from nnqg.derivations import InvalidArgument
from nnqg.numerics._ensemble import Ensemble
from nnqg.numerics._ensemble_measures import _AnchorDesign, _halves, continuity_distance, detectable_shift, \
    fokker_planck_distance, nelson_distances, within_tolerance
from nnqg.numerics._polynomials import exponents


def _ar_ensemble(rng: np.random.Generator, *, N: int, n_steps: int, a: float, nu: float, k: float,
                 omega: float = 0.0, aniso: float = 0.0, model_scale: float = 1.0,
                 start_stationary: bool = True) -> Ensemble:
    """q_{s+1} = q_s + (-a I + omega J) q_s + sqrt(2 D) xi, D = nu diag(1 + aniso, 1 - aniso), K = 2.

    Its model: loss U = k |q|^2/2 and per-example covariance chosen so that gamma^2 Sigma/(2B) = D_model with
    gamma = 1, B = 1 (the measures only see gamma, B through that product)."""
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    Dm = nu * np.diag([1 + aniso, 1 - aniso])
    A = np.eye(2) - a * np.eye(2) + omega * J
    C = solve_discrete_lyapunov(A, 2 * Dm)  # stationary covariance of the AR(1): C = A C A^T + 2 D
    q = np.empty((n_steps + 1, N, 2))
    q[0] = rng.standard_normal((N, 2)) @ np.linalg.cholesky(C).T if start_stationary else 1.0
    L = np.linalg.cholesky(2 * Dm)
    for s in range(n_steps):
        q[s + 1] = q[s] @ A.T + rng.standard_normal((N, 2)) @ L.T
    dmod = model_scale * Dm  # what the measures are told D is (a planted error when model_scale != 1)
    return Ensemble(q=q, grad_loss=lambda Q: k * Q,
                      grad_cov=lambda Q: np.broadcast_to(2 * dmod, (Q.shape[0], 2, 2)).copy(),
                      loss=lambda Q: 0.5 * k * np.sum(Q * Q, axis=1))


def _nelson(ens: Ensemble, seed: int = 0, **kw) -> dict[str, float]:
    """nelson_distances as the flat numbers the sweep stores."""
    args = dict(gamma=1.0, batch_size=1, anchors=(12, 26), degree=2, n_boot=10, rng=np.random.default_rng(seed),
                window=6)
    args.update(kw)
    r = nelson_distances(ens, **args)
    c = r.circulation
    return {"nu": r.nu, "d_spread": r.d_spread, "osmotic_distance": r.osmotic.distance, "osmotic_se": r.osmotic.se,
            "newton_distance": r.newton.distance, "newton_se": r.newton.se,
            "circulation_quanta": c.quanta if c else 0.0, "circulation_se": c.se if c else 0.0, "result": r}


def _ground_state_k(a: float, nu: float) -> float:
    """Nelson's ground state of V = k|q|^2/2 with m = 1/gamma = 1: u = -nu q/s^2, (u.grad)u = nu^2 q/s^4 must
    equal gamma grad V = k q, s^2 the stationary variance (of the AR(1): 2 nu/(1-(1-a)^2))."""
    s2 = 2 * nu / (1 - (1 - a) ** 2)
    return nu ** 2 / s2 ** 2


def test_newton_law_holds_for_a_nelson_ground_state_and_fails_with_a_wrong_potential() -> None:
    """Stationary reversible AR(1) = Nelson's ground state of V = k|q|^2/2 (k from the stationary variance).
    The residual left (about 0.06 at a = 0.1) is the O(a) gap between one-step increments and Nelson's
    continuous-time drifts; the planted potential twice too steep gives rho = k q against terms k q + 2 k q,
    i.e. a distance near 1/3. N = 16000: the bootstrap SE (about 0.02 at N = 4000) must be small enough to
    resolve 0.06 below the tolerance 0.1."""
    a, nu = 0.1, 0.05
    k = _ground_state_k(a, nu)
    ok = _nelson(_ar_ensemble(np.random.default_rng(1), N=16000, n_steps=40, a=a, nu=nu, k=k))
    assert ok["newton_distance"] + 2 * ok["newton_se"] < 0.1, ok
    assert ok["osmotic_distance"] < 0.05, ok
    bad = _nelson(_ar_ensemble(np.random.default_rng(1), N=4000, n_steps=40, a=a, nu=nu, k=2 * k))
    assert abs(bad["newton_distance"] - 1 / 3) < 0.1, bad
    assert bad["newton_distance"] - 2 * bad["newton_se"] > 0.15, bad


def test_newton_distance_of_stationary_langevin_learning_matches_closed_form() -> None:
    """Plain learning dq = -gamma k q + noise with V = U (stationary): Nelson gives (u.grad)u = (gamma k)^2 q,
    so rho = gamma k q (1 - gamma k) against terms gamma k q (1 + gamma k): distance (1-gk)/(1+gk)."""
    gk, nu = 0.3, 0.01
    ens = _ar_ensemble(np.random.default_rng(2), N=4000, n_steps=40, a=gk, nu=nu, k=gk)
    r = _nelson(ens)
    # measured drifts of a stationary reversible AR(1): b = -gk q, b* = +gk q exactly, so u = -gk q
    want = (1 - gk) / (1 + gk)
    assert abs(r["newton_distance"] - want) < 3 * r["newton_se"] + 0.02, (r, want)


def test_osmotic_measure_sees_anisotropic_noise() -> None:
    ens = _ar_ensemble(np.random.default_rng(3), N=4000, n_steps=40, a=0.05, nu=0.01, k=0.05, aniso=0.6)
    r = _nelson(ens)
    assert r["osmotic_distance"] > 0.2 and r["osmotic_distance"] > 5 * r["osmotic_se"], r
    assert r["d_spread"] == pytest.approx(0.6, rel=1e-9)


def test_circulation_in_quanta_matches_a_rotating_ensemble() -> None:
    """Rotation omega J q keeps an isotropic Gaussian stationary; v = omega J q has circulation
    omega 2 pi s^2 around the one-sigma circle, i.e. omega s^2/(2 nu) quanta (2 pi hbar gamma = 4 pi nu)."""
    a, nu = 0.05, 0.01
    zero = _nelson(_ar_ensemble(np.random.default_rng(4), N=4000, n_steps=40, a=a, nu=nu, k=a))
    assert zero["circulation_quanta"] < 3 * zero["circulation_se"] + 0.02, zero
    omega = 0.03
    ens = _ar_ensemble(np.random.default_rng(4), N=4000, n_steps=40, a=a, nu=nu, k=a, omega=omega)
    C = np.cov(ens.q[20].T)
    want = omega * math.sqrt(np.linalg.det(C)) / (2 * nu)
    r = _nelson(ens)
    assert abs(r["circulation_quanta"] - want) < 3 * r["circulation_se"] + 0.05 * want, (r, want)
    assert r["circulation_quanta"] > 5 * r["circulation_se"]


def test_fokker_planck_distance_shrinks_linearly_with_step_and_catches_wrong_noise() -> None:
    """Euler-Maruyama steps of an OU process differ from its Fokker-Planck generator by O(gamma) relative (the
    finite-step term); with noise twice the model's the distance stays O(1)."""
    nu = 0.002
    d = []
    for a in (0.08, 0.04, 0.02):
        ens = _ar_ensemble(np.random.default_rng(5), N=20000, n_steps=64, a=a, nu=nu, k=a,
                           start_stationary=False)
        r = fokker_planck_distance(ens, gamma=1.0, batch_size=1, anchors=(3, 6, 10))
        d.append((r.distance, r.se))
    assert d[-1][0] < d[0][0] / 2.5, d
    order = np.polyfit(np.log([0.08, 0.04, 0.02]), np.log([x for x, _ in d]), 1)[0]
    assert 0.6 < order < 1.5, (order, d)
    # planted error: the model's noise half the true one
    bad = _ar_ensemble(np.random.default_rng(5), N=20000, n_steps=64, a=0.02, nu=nu, k=0.02, model_scale=0.5,
                       start_stationary=False)
    rb = fokker_planck_distance(bad, gamma=1.0, batch_size=1, anchors=(3, 6, 10))
    assert rb.distance > 0.2 and rb.distance > 5 * rb.se, rb


def test_within_tolerance_needs_the_upper_bound_below_tolerance() -> None:
    assert within_tolerance(0.05, 0.01, 0.1, 2.0)
    assert not within_tolerance(0.05, 0.03, 0.1, 2.0)  # too noisy to tell
    assert not within_tolerance(float("nan"), 0.0, 0.1, 2.0)


def test_bootstrap_fit_weights_repeated_members_by_their_multiplicity() -> None:
    """The pooled fit of a resample equals the fit of the explicitly summed window sums of the rows, repeats
    included (a resample that ignored multiplicities would change every bootstrap SE)."""
    ens = _ar_ensemble(np.random.default_rng(9), N=60, n_steps=20, a=0.1, nu=0.01, k=0.1)
    d = _AnchorDesign.make(ens.q, 10, 3, exponents(2, 2), ens)
    rows = np.array([0, 0, 0, 5, 7, 7, 11, 30, 30, 42, 59, 1, 2, 3, 4, 6, 8, 9, 10, 12, 13, 14])
    for backward in (False, True):
        G = d.gram[rows].sum(axis=0)
        R = (d.rhs_bwd if backward else d.rhs_fwd)[rows].sum(axis=0)
        A = np.block([[G[0], G[1]], [G[1], G[2]]])
        C = np.linalg.lstsq(A, np.concatenate([R[0], R[1]]), rcond=None)[0]
        got = d.fit(rows, backward)
        assert np.allclose(np.concatenate(got), C, rtol=1e-9, atol=1e-12)
        once = d.fit(np.unique(rows), backward)
        assert not np.allclose(np.concatenate(once), C, rtol=1e-6)


def test_network_fokker_planck_distance_is_first_order_in_gamma_and_catches_a_wrong_diffusion() -> None:
    """The SGD ensemble of a width-2 tanh network (K = 7, every weight and bias trained) at fixed learning times
    tau = gamma s = 1, 2, 3: the weak-form Fokker-Planck distance is the O(gamma) finite-step part, so it must
    fall at order ~1 as gamma halves (windows of 0.4/gamma steps keep the standard error constant); the same
    ensemble measured against twice the true diffusion stays far from 0."""
    net = pytest.importorskip("nnqg.numerics._network_sgd")
    task = net.make_network_task(np.random.default_rng(5), 2, n_data=64)
    model = net.NetworkModel(task, "all")
    gammas, dist = (0.2, 0.1, 0.05), []
    for g in gammas:
        rng = np.random.default_rng(6)
        q = net.simulate_network_sgd(model, model.initial_ensemble(rng, 4000, 0.1), g, 1, int(round(3.5 / g)), rng)
        anchors = tuple(int(round(k / g)) for k in (1, 2, 3))
        ens = Ensemble(q=q, grad_loss=model.grad, grad_cov=model.grad_cov, loss=model.loss)
        r = fokker_planck_distance(ens, gamma=g, batch_size=1, anchors=anchors, window=int(round(0.4 / g)))
        dist.append((r.distance, r.se))
    order = np.polyfit(np.log(gammas), np.log([d for d, _ in dist]), 1)[0]
    assert 0.6 < order < 1.5 and dist[-1][0] < dist[0][0] / 2, (order, dist)
    assert all(d > 3 * se for d, se in dist[:2]), dist  # resolved, not noise
    bad = Ensemble(q=q, grad_loss=model.grad, grad_cov=lambda Q: 2.0 * model.grad_cov(Q), loss=model.loss)
    rb = fokker_planck_distance(bad, gamma=gammas[-1], batch_size=1, anchors=anchors,
                                window=int(round(0.4 / gammas[-1])))
    assert rb.distance > 0.15 and rb.distance > 3 * dist[-1][0] + 5 * rb.se, (rb, dist)


def test_newton_standard_error_matches_the_spread_over_replicates() -> None:
    """The bootstrap SE of the cross-fitted Newton distance against the truth it estimates: the standard
    deviation of the distance over independent ensembles of the same process (a Nelson ground state, as above).
    With 20 replicates the spread itself is known to about 16%, hence the band; an SE off by 2x fails."""
    a, nu = 0.1, 0.05
    k = _ground_state_k(a, nu)
    d, se = [], []
    for seed in range(20):
        r = _nelson(_ar_ensemble(np.random.default_rng(200 + seed), N=2000, n_steps=40, a=a, nu=nu, k=k), seed=seed)
        d.append(r["newton_distance"])
        se.append(r["newton_se"])
    ratio = float(np.median(se) / np.std(d, ddof=1))
    assert 0.6 < ratio < 1.6, (ratio, d, se)


def test_cross_fit_halves_of_a_resample_share_no_member() -> None:
    idx = np.random.default_rng(0).integers(0, 50, 50)
    a, b = _halves(idx)
    assert not set(a) & set(b) and sorted(np.concatenate([a, b])) == sorted(idx)
    full = np.arange(11)
    assert [h.tolist() for h in _halves(full)] == [full[0::2].tolist(), full[1::2].tolist()]



# ------------------------------------------------------------------------------------------ what each cannot tell

def test_osmotic_relation_holds_for_plain_gradient_descent_while_the_newton_law_does_not() -> None:
    """The weak osmotic relation holds for every constant scalar-noise diffusion (u = D grad ln p whatever the
    drift): on plain gradient descent it is ~0 up to the O(step) part of one-step increments (about a/4 of the
    scale here), so it tests nu, not Madelung; the Newton law with V = U is what separates plain learning from
    Madelung (distance (1 - gk)/(1 + gk) = 0.90 at gk = 0.05). At gk = 0.3 the O(step) part is 0.08."""
    for gk, step_part in ((0.05, 0.03), (0.3, 0.12)):
        r = _nelson(_ar_ensemble(np.random.default_rng(21), N=4000, n_steps=40, a=gk, nu=0.01, k=gk))
        assert r["osmotic_distance"] < 2 * r["osmotic_se"] + step_part, (gk, r)
        assert r["newton_distance"] - 3 * r["newton_se"] > 0.4, (gk, r)


# ------------------------------------------------------------------------------------------------- continuity

def _drifting(seed: int, *, N: int = 4000, n_steps: int = 30, nu: float = 0.01, s0: float = 0.3,
              spread: float = 1.0, scale: float = 1.0) -> Ensemble:
    """q_{s+1} = q_s + c + sqrt(2 nu) xi from N(0, s0^2 I): p_s = N(c s, (s0^2 + 2 nu s) I) exactly, so the current
    velocity is v = c + nu (q - c s)/sigma_s^2 = grad F (gamma = 1). The model's grad F can leave out the spreading
    part (``spread = 0``) or be scaled (``scale``, a planted error)."""
    rng = np.random.default_rng(seed)
    c = np.array([0.02, -0.01])
    q = np.empty((n_steps + 1, N, 2))
    q[0] = s0 * rng.standard_normal((N, 2))
    for s in range(n_steps):
        q[s + 1] = q[s] + c + math.sqrt(2 * nu) * rng.standard_normal((N, 2))

    def grad_f(Q: np.ndarray, s: int) -> np.ndarray:
        return scale * (c + spread * nu * (Q - c * s) / (s0 ** 2 + 2 * nu * s))

    return Ensemble(q=q, grad_loss=lambda Q: 0.0 * Q, loss=lambda Q: np.zeros(len(Q)),
                    grad_cov=lambda Q: np.broadcast_to(2 * nu * np.eye(2), (len(Q), 2, 2)).copy(),
                    grad_free_energy=grad_f)


def _continuity(ens: Ensemble):
    return continuity_distance(ens, gamma=1.0, batch_size=1, anchors=(8, 16, 24), window=3)


def test_continuity_holds_with_the_true_free_energy_and_fails_without_its_spreading_part() -> None:
    ok = _continuity(_drifting(1))
    assert ok.distance + 2 * ok.se < 0.05, ok
    bad = _continuity(_drifting(1, spread=0.0))
    assert bad.distance - 5 * bad.se > 0.3, bad
    with pytest.raises(InvalidArgument, match="grad_free_energy"):
        _continuity(Ensemble(q=np.zeros((40, 10, 1)), grad_loss=lambda Q: Q, loss=lambda Q: Q[:, 0],
                             grad_cov=lambda Q: np.zeros((len(Q), 1, 1))))


# ------------------------------------------------------------------------------------------------------ power

def _detections(make, n: int, thr: float = 0.1) -> int:
    return sum(bool(r.distance - 2 * r.se > thr) for r in (make(i) for i in range(n)))


@pytest.mark.parametrize("sign", [1, -1])
def test_fokker_planck_power_prediction_holds_on_fresh_ensembles(sign: int) -> None:
    """eps* = the smallest model diffusion error D -> (1 + eps) D the measure reports beyond tolerance 0.1 (at
    2 SE) with power 0.8, predicted from one ensemble. Planted at 2 eps* in fresh ensembles it is caught every
    time, at eps*/4 (almost) never. (Calibration over 30 random (base, fresh) pairs at eps* itself: 25/30 and
    26/30 caught for the two signs, i.e. the predicted power 0.8 holds.)"""
    nu, a = 0.002, 0.02

    def fp(seed: int, scale: float):
        ens = _ar_ensemble(np.random.default_rng(seed), N=2000, n_steps=30, a=a, nu=nu, k=a, model_scale=scale,
                           start_stationary=False)
        return fokker_planck_distance(ens, gamma=1.0, batch_size=1, anchors=(8, 16, 24), window=2)

    base = fp(1000, 1.0)
    eps = sign * base.detectable("diffusion", threshold=0.1, sign=sign)
    assert 0.05 < abs(eps) < 1.0, eps
    assert _detections(lambda i: fp(5000 + i, 1 + 2 * eps), 6) == 6
    assert _detections(lambda i: fp(6000 + i, 1 + eps / 4), 6) <= 1
    first = base.sensitivity["diffusion"]
    sg, _ = base.at("diffusion", 1e-6)
    assert np.allclose((sg - base.signed) / 1e-6, first, rtol=1e-4, atol=1e-6)  # at() agrees with the derivative


@pytest.mark.parametrize("sign", [1, -1])
def test_newton_power_prediction_holds_on_fresh_ensembles(sign: int) -> None:
    """The same for a planted potential V -> (1 + eps) V on a Nelson ground state (where V = U holds):
    calibration over 30 pairs at eps* itself caught 28/30 (eps < 0) and 30/30 (eps > 0), conservative."""
    a, nu = 0.1, 0.05
    k = _ground_state_k(a, nu)

    def nel(seed: int, kk: float):
        r = _nelson(_ar_ensemble(np.random.default_rng(seed), N=2000, n_steps=40, a=a, nu=nu, k=kk), seed=seed)
        return r["result"].newton

    base = nel(2000, k)
    eps = sign * base.detectable(threshold=0.1, sign=sign)
    assert 0.05 < abs(eps) < 3.0, eps
    assert _detections(lambda i: nel(6000 + i, k * (1 + 2 * eps)), 4) == 4
    assert _detections(lambda i: nel(7000 + i, k * (1 + eps / 4)), 4) <= 1


def test_continuity_and_osmotic_power_predictions_hold_on_fresh_ensembles() -> None:
    base = _continuity(_drifting(1))
    eps = base.detectable("free_energy", threshold=0.1)
    assert 0.05 < eps < 1.0
    hits = [_detections(lambda i: _continuity(_drifting(100 + i, scale=1 + s * 2 * eps)), 4) for s in (1, -1)]
    assert max(hits) == 4, hits  # the direction detectable() found is caught every time
    assert _detections(lambda i: _continuity(_drifting(200 + i, scale=1 + eps / 4)), 4) <= 1

    def osm(seed: int, scale: float):  # the model's nu off by a factor: the osmotic measure's plant
        ens = _ar_ensemble(np.random.default_rng(seed), N=2000, n_steps=40, a=0.1, nu=0.01, k=0.1, model_scale=scale)
        return _nelson(ens, seed=seed)["result"].osmotic

    ob = osm(3000, 1.0)
    e_up = ob.detectable("nu", threshold=0.1, sign=1)
    assert _detections(lambda i: osm(3100 + i, 1 + 2 * e_up), 4) == 4
    assert _detections(lambda i: osm(3200 + i, 1 + e_up / 4), 4) <= 1


def test_circulation_power_prediction_holds_on_a_planted_rotation() -> None:
    """quanta* (beyond the tolerance 0.1) from an irrotational ensemble; a rotation omega J q of 2 quanta*
    (omega = 2 quanta* 2 nu / s^2) is caught in fresh ensembles, one of quanta*/4 is not."""
    a, nu = 0.05, 0.01
    base = _nelson(_ar_ensemble(np.random.default_rng(4), N=4000, n_steps=40, a=a, nu=nu, k=a))["result"]
    star = base.circulation.detectable(threshold=0.1)
    s2 = 2 * nu / (1 - (1 - a) ** 2)

    def circ(seed: int, quanta: float):
        ens = _ar_ensemble(np.random.default_rng(seed), N=4000, n_steps=40, a=a, nu=nu, k=a,
                           omega=quanta * 2 * nu / s2)
        c = _nelson(ens, seed=seed)["result"].circulation
        return type("R", (), {"distance": c.quanta, "se": c.se})

    assert _detections(lambda i: circ(40 + i, 2 * star), 3) == 3
    assert _detections(lambda i: circ(50 + i, star / 4), 3) <= 1


# ----------------------------------------------------------------------------------------------- bad input

def test_estimators_refuse_bad_input_naming_it() -> None:
    ens = _ar_ensemble(np.random.default_rng(0), N=100, n_steps=20, a=0.1, nu=0.01, k=0.1)
    with pytest.raises(InvalidArgument, match="anchors"):
        fokker_planck_distance(ens, gamma=1.0, batch_size=1, anchors=(19,), window=2)
    with pytest.raises(InvalidArgument, match="gamma"):
        fokker_planck_distance(ens, gamma=-1.0, batch_size=1, anchors=(10,))
    with pytest.raises(InvalidArgument, match="window"):
        nelson_distances(ens, gamma=1.0, batch_size=1, anchors=(10,), window=0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="ens: 10 members"):
        nelson_distances(Ensemble(q=ens.q[:, :10], grad_loss=ens.grad_loss, grad_cov=ens.grad_cov, loss=ens.loss),
                         gamma=1.0, batch_size=1, anchors=(10,), rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="degree"):
        nelson_distances(ens, gamma=1.0, batch_size=1, anchors=(10,), degree=5, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="q: expected"):
        Ensemble(q=np.zeros((5, 3)), grad_loss=ens.grad_loss, grad_cov=ens.grad_cov, loss=ens.loss)
    r = fokker_planck_distance(ens, gamma=1.0, batch_size=1, anchors=(10,), window=2)
    with pytest.raises(InvalidArgument, match="plant"):
        r.detectable("potential")
    with pytest.raises(InvalidArgument, match="power"):
        r.detectable("diffusion", power=1.0)
