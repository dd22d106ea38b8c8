r"""Claims `lorentz.wave_equation` and `lorentz.boost_invariance` (PHYSICS.md section 5).

`lorentz.wave_equation`. The network: 2N neurons on a ring of length 1, two populations (right-movers R,
left-movers L), weight matrix :math:`W = \mathrm{diag}(S, S^T)` (S the cyclic shift, so W is a permutation
matrix), activation :math:`y(t+1) = f(W y(t) + b)` with f the identity and b = 0; one update lasts
:math:`\tau` (an input, default :math:`\tau = h`, i.e. one neuron spacing per update: :math:`c = h/\tau = 1`).
The averaged states are block averages of :math:`u = R + L` over blocks of ``block`` neurons. The wave operator
is derived from the action :math:`-\tfrac12 g^{mn}\partial_m u\,\partial_n u` of the input metric
(SymPy ``euler_equations``), turned into a pointwise residual :math:`u_{tt} - c^2 u_{xx}` by ``jet`` and compiled
by ``compile_residual``; it is evaluated on central-difference jets of the simulated block averages (time step
:math:`\tau`, space step = block width). The network satisfies the *discrete* d'Alembertian exactly (reported);
what shrinks with network size is the distance of the coarse-grained field from the continuum equation, at the
rate of the discretisation, :math:`O(h^2)`: the tolerance and the order come from a convergence study over N.

`lorentz.boost_invariance`. Symbolic and exact, in 1+1 and 3+1: the boost preserves the metric
(:math:`\Lambda^T g\Lambda = g`), :math:`\Box(f\circ\Lambda) = (\Box f)\circ\Lambda` and
:math:`\mathcal L[f\circ\Lambda] = \mathcal L[f]\circ\Lambda` for a generic f. Numerically: a boosted solution
(1+1: two travelling Gaussians; 3+1: the spherical wave :math:`[G(r-ct) - G(r+ct)]/r`) sampled on a grid of
space-time points has a generated-kernel residual that shrinks as :math:`h^2` with the finite-difference step
(space step h, time step 0.6 h/c).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument, Step, is_zero, jet
from nnqg.derivations import _lorentz as _dl
from nnqg.derivations._lorentz import composition_defects, coordinates, galilean_boost, isometry_defect, \
    laplace_beltrami, lorentz_boost, minkowski, scalar_lagrangian, wave_operator, wave_residual
from nnqg.numerics import compile_residual
from nnqg.numerics import _network as _nn
from nnqg.numerics._network import block_average, central_jet, is_permutation, simulate, \
    two_population_shift_weights

from .._convergence import judge
from .._latex import Named
from ..learning import lorentz as _learning
from .._model import Claim, Convergence, NumericContext, NumericResult, SymbolicResult

C = sp.Symbol("c", positive=True)
V = sp.Symbol("v", real=True)

WAVE_ASSUMPTIONS = (
    "activation f = identity, bias b = 0 (linear regime)",
    "weight matrix W = diag(S, S^T), S the cyclic shift (a permutation matrix)",
    "one update lasts tau; emergent speed c = (neuron spacing)/tau",
    "averaged states = block averages of the population sum over `block` neurons",
)
BOOST_ASSUMPTIONS = (
    "flat metric g = diag(-c^2, 1, ..., 1) in coordinates (t, x, ...)",
    "boost along x with |v| < c",
)


# --- lorentz.wave_equation ------------------------------------------------------------------------------------

def wave_inputs() -> dict[str, Any]:
    """Inputs: the metric (callable c -> 2x2 Matrix), the speed c in the equation, the network's weights
    (callable N -> 2N x 2N matrix), the duration of one update (callable h -> tau), the block size, the simulated
    time, the network sizes of the convergence study (quick/full) and an optional activation."""
    return {
        "metric": lambda c: minkowski(c, 1),
        "c": 1.0,
        "weights": two_population_shift_weights,
        "update_duration": lambda h: h,
        "activation": None,
        "block": 4,
        "duration": 0.5,
        "sizes_quick": (64, 128, 256, 512),
        "sizes_full": (64, 128, 256, 512, 1024, 2048, 4096),
    }


def _wave_kernel(metric: sp.Matrix) -> tuple[Any, dict[str, sp.Basic]]:
    t, x = coordinates(1)
    u = sp.Function("u")(t, x)
    res, jmap = jet(wave_residual(metric, (t, x), u), [u])
    extra = res.free_symbols - set(jmap) - {C}
    if extra:
        raise InvalidArgument(f"metric: may depend only on c, got symbols {sorted(map(str, extra))}")
    fields = sorted((s for s in jmap if s in res.free_symbols), key=lambda s: s.name)
    kern = compile_residual([("wave", res)], fields=fields, parameters=[C], name="lorentz_wave_1p1")
    return kern, {s.name: jmap[s] for s in fields}


def _wave_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    t, x = coordinates(1)
    u = sp.Function("u")(t, x)
    g = inputs["metric"](C)
    el = wave_operator(g, (t, x), u)
    lb = laplace_beltrami(g, (t, x), u)
    stated = sp.diff(u, t, 2) - C**2 * sp.diff(u, x, 2)
    d1 = el - lb
    residual = wave_residual(g, (t, x), u)
    d2 = residual - stated
    steps = (Step("Metric of the averaged states (input)", sp.ImmutableMatrix(g), indices=(t, x)),
             Step("Action density of the averaged states u = R + L", scalar_lagrangian(g, (t, x), u),
                  Named("mathcalL", r"\mathcal{L}")),
             Step("Euler-Lagrange expression of sqrt|g| L, divided by sqrt|g| (SymPy euler_equations)", el,
                  Named("Box_gu", r"\Box_g u")),
             Step("Normalised so that the coefficient of d_t^2 u is 1: the stated wave equation", residual,
                  Named("Box_gu/gtt", r"\Box_g u / g^{tt}")))
    return SymbolicResult(steps=steps, checks=(
        ("Euler-Lagrange of the action minus Laplace-Beltrami form", sp.S.Zero if is_zero(d1) else sp.simplify(d1)),
        ("wave residual of the action minus u_tt - c^2 u_xx", sp.S.Zero if is_zero(d2) else sp.simplify(d2)),
    ))


def _initial_populations(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth periodic right- and left-moving profiles (any smooth data would do)."""
    return 0.5 * np.exp(np.sin(2 * np.pi * xs)), 0.5 * np.exp(np.cos(2 * np.pi * xs)) * np.sin(4 * np.pi * xs)


def _jets_grid(U: np.ndarray, tau: float, H: float, names: Mapping[str, sp.Basic]) -> dict[str, np.ndarray]:
    """Central-difference jets of a field U[time, block] (periodic in space), at interior times."""
    out: dict[str, np.ndarray] = {}
    for name, d in names.items():
        counts = dict(d.variable_count) if isinstance(d, sp.Derivative) else {}
        nt, nx = int(counts.get(sp.Symbol("t", real=True), 0)), int(counts.get(sp.Symbol("x", real=True), 0))
        if nx == 0:
            F = U
        elif nx == 1:
            F = (np.roll(U, -1, axis=1) - np.roll(U, 1, axis=1)) / (2 * H)
        elif nx == 2:
            F = (np.roll(U, -1, axis=1) - 2 * U + np.roll(U, 1, axis=1)) / H**2
        else:
            raise InvalidArgument(f"metric: the wave residual needs the jet {name}, beyond second order")
        if nt == 0:
            F = F[1:-1]
        elif nt == 1:
            F = (F[2:] - F[:-2]) / (2 * tau)
        elif nt == 2:
            F = (F[2:] - 2 * F[1:-1] + F[:-2]) / tau**2
        else:
            raise InvalidArgument(f"metric: the wave residual needs the jet {name}, beyond second order")
        out[name] = F.ravel()
    return out


def _wave_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    c = float(inputs["c"])
    if not (np.isfinite(c) and c > 0):
        raise InvalidArgument(f"c: must be a positive number, got {inputs['c']!r}")
    b = inputs["block"]
    sizes = tuple(inputs["sizes_quick"] if ctx.quick else inputs["sizes_full"])
    if len(sizes) < 2 or any(not isinstance(n, int) or n % b or n < 4 * b for n in sizes):
        raise InvalidArgument(f"sizes: need >= 2 network sizes, each a multiple of block={b} and >= {4 * b}, "
                              f"got {sizes}")
    kern, names = _wave_kernel(inputs["metric"](C))
    points, details = [], {}
    for j, n in enumerate(sizes):
        ctx.report(f"shift network N={n}", j / len(sizes))
        h = 1.0 / n
        tau = float(inputs["update_duration"](h))
        if not (np.isfinite(tau) and tau > 0):
            raise InvalidArgument(f"update_duration: must return a positive duration, got {tau!r} for h={h}")
        steps = max(4, int(round(float(inputs["duration"]) / tau)))
        W = inputs["weights"](n)
        if getattr(W, "shape", None) != (2 * n, 2 * n):
            raise InvalidArgument(f"weights: must return a {2 * n}x{2 * n} matrix for N={n}, got "
                                  f"{getattr(W, 'shape', type(W).__name__)}")
        xs = np.arange(n) * h
        R0, L0 = _initial_populations(xs)
        Y = simulate(W, np.r_[R0, L0], steps, activation=inputs["activation"])
        u = Y[:, :n] + Y[:, n:]
        # the exact discrete identity u(t+1) + u(t-1) = u(i+1) + u(i-1) of a Courant-1 shift network (reported)
        discrete = np.abs(u[2:] + u[:-2] - np.roll(u[1:-1], 1, 1) - np.roll(u[1:-1], -1, 1)).max()
        U = block_average(u, b)
        jets = _jets_grid(U, tau, b * h, names)
        r = kern(c=c, **jets)[0]
        scale = np.abs(jets[next(k for k in names if k.endswith("tt"))]).max()
        rel = float(np.abs(r).max() / scale)
        points.append((h, rel))
        details[f"N={n}"] = {"relative_residual": rel, "discrete_dalembertian_defect": float(discrete),
                             "weights_are_permutation": is_permutation(W), "updates": steps}
    conv = Convergence("max|u_tt - c^2 u_xx| / max|u_tt| on block-averaged states vs h = 1/N", 2.0,
                       tuple(points))
    jd = judge(conv)
    details["block"] = b
    details["observed_order"] = conv.observed_order
    return NumericResult(max_residual=jd.max_residual, tolerance=jd.tolerance, ok=jd.ok, convergence=conv,
                         where=jd.reason, details=details)


def _wave_mutations() -> dict[str, dict[str, Any]]:
    return {
        # a leak: 2% of each neuron's state is lost per update (W is no longer a permutation)
        "leaky_weights": {"weights": lambda n: 0.98 * two_population_shift_weights(n)},
        # the equation claims c = 1.2 while the network moves one neuron per update (c = 1)
        "c_mismatch": {"c": 1.2},
        # Euclidean signature: the action gives the Laplace equation u_tt + c^2 u_xx
        "wrong_metric_sign": {"metric": lambda c: sp.diag(c**2, 1)},
        # a saturating activation f = tanh instead of the linear regime: the permutation alone is not enough
        "tanh_activation": {"activation": np.tanh},
    }


# --- lorentz.boost_invariance ---------------------------------------------------------------------------------

def boost_inputs() -> dict[str, Any]:
    """Inputs: metric (callable (c, D) -> Matrix), transformation (callable (v, c, D) -> Matrix acting on
    (t, x, ...)), the dimensions D, numeric c and v, and the finite-difference steps (quick/full)."""
    return {
        "metric": lambda c, D: minkowski(c, D),
        "transform": lambda v, c, D: lorentz_boost(v, c, D),
        "dimensions": (1, 3),
        "c_value": 1.0,
        "v_value": 0.6,
        "steps_quick": (0.1, 0.05, 0.025),
        "steps_full": (0.1, 0.05, 0.025, 0.0125, 0.00625),
    }


def _boost_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    checks: list[tuple[str, sp.Expr]] = []
    steps: tuple[Step, ...] = ()
    for D in inputs["dimensions"]:
        g = inputs["metric"](C, D)
        L = inputs["transform"](V, C, D)
        iso = isometry_defect(L, g)
        checks.append((f"{D}+1: Lambda^T g Lambda - g", sp.S.Zero if iso.is_zero_matrix else iso))
        d_box, d_lag = composition_defects(L, g)
        checks.append((f"{D}+1: box(f o Lambda) - (box f) o Lambda", sp.S.Zero if is_zero(d_box) else d_box))
        checks.append((f"{D}+1: L(f o Lambda) - L(f) o Lambda", sp.S.Zero if is_zero(d_lag) else d_lag))
        coords = coordinates(D)
        phi = sp.Function("phi")(*coords)
        d_el = wave_operator(g, coords, phi) - laplace_beltrami(g, coords, phi)
        checks.append((f"{D}+1: Euler-Lagrange of the action minus Laplace-Beltrami",
                       sp.S.Zero if is_zero(d_el) else d_el))
        if D == 1:  # the derivation as printed, in 1+1 (3+1 repeats it with two more axes)
            steps = (Step("Boost along x (input)", sp.ImmutableMatrix(L), Named("Lambda", r"\Lambda"),
                          indices=coords),
                     Step("The boost preserves the metric", sp.ImmutableMatrix(L.T * g * L).applyfunc(sp.simplify),
                          Named("LambdaTgLambda", r"\Lambda^{T} g \Lambda"), indices=coords),
                     Step("Wave operator of the action (SymPy euler_equations)", wave_residual(g, coords, phi),
                          Named("Boxphi/gtt", r"\Box \phi / g^{tt}")))
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _solution(D: int, c: float) -> Callable[..., np.ndarray]:
    """A solution of u_tt = c^2 lap u in the unboosted frame (closed form, not from the metric input)."""
    w = 0.35
    G = lambda s: np.exp(-s**2 / (2 * w**2))  # noqa: E731
    if D == 1:
        return lambda t, x: G(x - c * t) + 0.5 * G(x + c * t - 0.3)
    if D == 3:
        def sph(t: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
            r = np.sqrt(x**2 + y**2 + z**2)
            return (G(r - c * t) - G(r + c * t)) / r
        return sph
    raise InvalidArgument(f"dimensions: numeric boost check supports D = 1 and 3, got {D}")


def _boost_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    c, v = float(inputs["c_value"]), float(inputs["v_value"])
    if not (c > 0 and abs(v) < c):
        raise InvalidArgument(f"c_value, v_value: need c > 0 and |v| < c, got c={c}, v={v}")
    hs = tuple(inputs["steps_quick"] if ctx.quick else inputs["steps_full"])
    details: dict[str, Any] = {}
    worst: tuple[tuple[bool, float], Any, Convergence] | None = None
    all_ok = True
    for D in inputs["dimensions"]:
        coords = coordinates(D)
        phi = sp.Function("phi")(*coords)
        g = inputs["metric"](C, D)
        res, jmap = jet(wave_residual(g, coords, phi), [phi])
        fields = sorted((s for s in jmap if s in res.free_symbols), key=lambda s: s.name)
        kern = compile_residual([("wave", res)], fields=fields, parameters=[C], name=f"lorentz_wave_{D}p1")
        Lam = np.array(inputs["transform"](V, C, D).subs({V: v, C: c}).evalf(), dtype=float)
        base = _solution(D, c)

        def boosted(*X: np.ndarray, Lam: np.ndarray = Lam, base: Callable[..., np.ndarray] = base) -> np.ndarray:
            Y = [sum(Lam[a, b] * X[b] for b in range(len(X))) for a in range(len(X))]
            return base(*Y)

        if D == 1:
            grids = np.meshgrid(np.linspace(-1, 1, 21), np.linspace(-2, 2, 41), indexing="ij")
        else:  # even point counts keep y = z = 0 (the centre of the spherical wave) off the grid
            grids = np.meshgrid(np.linspace(-0.5, 0.5, 5), *([np.linspace(-1.5, 1.5, 8)] * 3), indexing="ij")
        pts = tuple(gr.ravel() for gr in grids)
        levels = []
        for h in hs:
            jets = {}
            for s in fields:
                d = jmap[s]
                counts = dict(d.variable_count) if isinstance(d, sp.Derivative) else {}
                # time step 0.6 h: a grid aligned with the light cone (c dt = dx) would make the 1+1 stencil
                # exact for travelling waves and hide the convergence behind round-off
                jets[s.name] = central_jet(boosted, pts, tuple(int(counts.get(q, 0)) for q in coords),
                                           (0.6 * h / c,) + (h,) * D)
            r = kern(c=c, **jets)[0]
            scale = np.abs(jets["phi_tt"]).max() if "phi_tt" in jets else 1.0
            levels.append((h, float(np.abs(r).max() / scale)))
        conv = Convergence(f"{D}+1: max|boosted residual| / max|phi_tt| vs FD step h", 2.0, tuple(levels))
        jd = judge(conv)
        details[f"{D}+1"] = {"points": levels, "observed_order": conv.observed_order, "verdict": jd.reason,
                             "transform": Lam.tolist()}
        all_ok = all_ok and jd.ok
        # the headline study: the first failing dimension, else the one closest to its tolerance
        ratio = jd.max_residual / jd.tolerance if jd.tolerance > 0 else np.inf
        key = (not jd.ok, ratio)
        if worst is None or key > worst[0]:
            worst = (key, jd, conv)
    assert worst is not None
    _, jd, conv = worst
    return NumericResult(max_residual=jd.max_residual, tolerance=jd.tolerance, ok=all_ok, convergence=conv,
                         where=jd.reason, details=details)


def _boost_mutations() -> dict[str, dict[str, Any]]:
    return {
        "galilean_boost": {"transform": lambda v, c, D: galilean_boost(v, D)},
        # a boost built with light speed 2c applied to the wave equation with speed c
        "c_mismatch": {"transform": lambda v, c, D: lorentz_boost(v, 2 * c, D)},
        "wrong_metric_sign": {"metric": lambda c, D: sp.diag(c**2, *([1] * D))},
    }


_MODULES = (__file__, _dl.__file__, _nn.__file__)

CLAIMS = [
    Claim(
        id="lorentz.wave_equation", section="5",
        statement="A network whose weight matrix is a shift (permutation) matrix, simulated by its activation "
                  "dynamics, has block-averaged states obeying the wave equation u_tt - c^2 u_xx = 0; the residual "
                  "shrinks with network size (measured order ~2).",
        assumptions=WAVE_ASSUMPTIONS, default_inputs=wave_inputs, derivation=_wave_symbolic,
        calibration=_wave_numeric, mutations=_wave_mutations,
        learning=_learning.evidence,
        modules=_MODULES,
    ),
    Claim(
        id="lorentz.boost_invariance", section="5",
        statement="The wave equation and its action are invariant under Lorentz boosts in 1+1 and 3+1 dimensions "
                  "(exact); a boosted solution is still a solution (residual -> 0 at the finite-difference order).",
        assumptions=BOOST_ASSUMPTIONS, default_inputs=boost_inputs, derivation=_boost_symbolic,
        calibration=_boost_numeric, mutations=_boost_mutations,
        modules=_MODULES,
    ),
]
