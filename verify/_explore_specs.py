"""The registry of what ``nnqg verify --explore`` draws for each claim (claim id -> :class:`ExploreSpec`).

Ranges are the claims' admissible domains as this registry states them: a range narrowed after a finding says so
in a comment (and in the claim's assumptions). A claim without an entry is reported "not explored", with the
reason from :data:`NOT_EXPLORED` (or "no strategy registered").
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from hypothesis import strategies as st

from nnqg.derivations import _metrics as mm
from nnqg.derivations import parse_formula
from nnqg.derivations._metric_file import MetricSpec
from nnqg.strategies import BASES, grid, linear_text, metric_files, potentials, speed_profiles, \
    transformed_solutions, two_dimensional_metrics

from ._explore_inputs import Draw, ExploreSpec, Knob, MetricInput
from ._model import Claim


def _num(name: str, lo: str, hi: str, step: str, meaning: str = "", path: tuple | None = None) -> Knob:
    return Knob(name, path or tuple(int(p) if p.isdigit() else p for p in name.split(".")), lo, hi, step,
                meaning=meaning)


def _int(name: str, lo: int, hi: int, step: int = 1, meaning: str = "") -> Knob:
    return Knob(name, (name,), str(lo), str(hi), str(step), integer=True, meaning=meaning)


def _maybe_potential() -> st.SearchStrategy[str | None]:
    """None (the claim's default states) or a potential from every family: shrinks towards the default."""
    return st.one_of(st.none(), potentials())


# --------------------------------------------------------------------------------------------- quantum claims

_MADELUNG = ExploreSpec(
    note="gamma, c; the free packet's and the coherent state's parameters; or a potential from every family "
         "(a Gaussian user state of drawn width and centre)",
    knobs=(_num("gamma_value", "0.05", "5", "0.05", "learning step size gamma"),
           _num("c_value", "0.05", "5", "0.05", "Fisher coefficient c"),
           _num("free_packet.s0", "0.2", "1", "0.05", "free packet width"),
           _num("free_packet.q0", "-1", "1", "0.25", "free packet centre"),
           _num("free_packet.p0", "-1.25", "1.25", "0.125", "free packet momentum"),
           _num("coherent_state.k", "0.25", "4", "0.25", "oscillator stiffness"),
           _num("coherent_state.q0", "-1.5", "1.5", "0.25", "coherent state amplitude"),
           _num("user_state.s0", "0.25", "1", "0.05", "user-potential state width"),
           _num("user_state.q0", "-1", "1", "0.25", "user-potential state centre")),
    potentials=_maybe_potential, confirm_statistical=True)

_EQUIVALENCE = ExploreSpec(
    note="hbar, m, the packet (centre, width, momentum), the final time; a potential from every family",
    knobs=(_num("hbar_value", "0.25", "2", "0.25", "hbar"), _num("m_value", "0.25", "4", "0.25", "mass"),
           _num("packet_center", "-2", "2", "0.25"), _num("packet_width", "0.25", "1", "0.05"),
           _num("packet_momentum", "-2", "2", "0.25"), _num("t_final", "0.25", "2", "0.25")),
    potentials=_maybe_potential)

_QUANTISATION = ExploreSpec(
    note="hbar, the vortex centre (at least 0.3 from every loop, as the default) and the three windings",
    # narrowed after a finding (test_claims_explored, ci profile): centres in [-0.5, 0.5] drew (-0.5, -0.5), a
    # node on the edge of the loops (-0.5, 0.5, ...) and (-2, -0.5, ...): the circulation through a node is
    # undefined (NONFINITE by design). [-0.2, 0.2] keeps the node at least 0.3 from every loop, the default's margin
    knobs=(_num("hbar_value", "0.25", "2", "0.25"),
           _num("vortex_center.0", "-0.2", "0.2", "0.01", "vortex centre x"),
           _num("vortex_center.1", "-0.2", "0.2", "0.01", "vortex centre y"),
           *[Knob(f"windings.{i}", ("windings", i), "-3", "3", "1", integer=True, meaning=f"winding {i}")
             for i in range(3)]))

_WALLSTROM = ExploreSpec(
    note="the non-integer circulation alpha, omega, hbar, m",
    knobs=(Knob("alpha", ("alpha",), "0.05", "0.95", "0.05", meaning="circulation / (2 pi hbar), non-integer",
                convert=lambda v: sp.Rational(str(v))),
           Knob("omega", ("omega",), "0.25", "4", "0.25", convert=lambda v: sp.Rational(str(v))),
           _num("hbar_value", "0.25", "2", "0.25"), _num("m_value", "0.25", "4", "0.25")))

_FOKKER_PLANCK = ExploreSpec(
    note="batch size, data noise, the initial cloud's spread",
    knobs=(_int("batch_size", 1, 8), _num("data_noise", "0.25", "2", "0.25"), _num("q0_std", "0.1", "0.5", "0.05")),
    confirm_statistical=True)

# --------------------------------------------------------------------------------------------- gravity claims

_X = sp.Symbol("x", real=True)


@st.composite
def _optical(draw: st.DrawFn) -> Draw:
    """A speed profile c(x) for the network and its optical metric -c(x)^2 dt^2 + dx^2 as the claimed one."""
    c = draw(speed_profiles())
    return Draw(params=(("network_speed", c), ("metric.g_tt", f"-({c})**2"),
                        ("courant", draw(grid("0.5", "1", "0.05", "0.9")))))


def _spacetime_spec(note: str) -> ExploreSpec:
    formula = dict(variables=("x",), formulas=speed_profiles)
    return ExploreSpec(
        note=note,
        knobs=(Knob("network_speed", ("network_speed",), meaning="local light speed c(x) of the network", **formula),
               Knob("metric.g_tt", ("metric", 0), meaning="claimed g_tt(x)", **formula),
               Knob("metric.g_xx", ("metric", 1), meaning="claimed g_xx(x)", **formula),
               _num("courant", "0.5", "1", "0.05", "Courant number")))


_LORENTZ_WAVE = ExploreSpec(
    note="the light speed c (of the equation and of the network: one update lasts h/c), the block size, the "
         "simulated time",
    # c alone is the speed *claimed* in the equation: drawn apart from the network's (h per update) it is a
    # planted error, not a point of the domain (found by the first exploration: c = 1.25 failed)
    knobs=(Knob("c", ("c",), "0.25", "4", "0.25", meaning="light speed; sets update_duration = h/c",
                links=lambda c: {("update_duration",): lambda h, c=c: h / c}),
           Knob("block", ("block",), "2", "16", "1", integer=True, choices=(2, 4, 8, 16),
                meaning="neurons per block (divides the network sizes 64..512)"),
           _num("duration", "0.1", "1", "0.1", "simulated time")))

_BOOST = ExploreSpec(
    note="c and the boost velocity v (|v| < c)",
    knobs=(_num("c_value", "1", "4", "0.25"), _num("v_value", "-0.95", "0.95", "0.05")))

_CONSERVATION = ExploreSpec(
    note="the mass, the turning point r0, the angular momentum fraction, the inclination (bound orbits that do "
         "not plunge: r0/M >= 20, L >= 0.85 L_circular(r0))",
    # narrowed after a finding (--explore, seed 1): mass 0.5..2, r0 10..40, L/L_circular 0.6..0.95 drew orbits
    # that plunge into the horizon (angular_fraction = 0.75 at r0 = 20 M: solve_ivp stops, NONFINITE), outside the
    # claim's stated domain (a bound orbit). Every corner of these ranges is a bound orbit that stays outside the
    # potential barrier (tests/unit/test_explore.py)
    knobs=(_num("mass", "0.5", "1", "0.25"), _num("r0", "20", "40", "2.5", "initial radius (absolute; r0/M >= 20)"),
           _num("angular_fraction", "0.85", "0.95", "0.05", "L / L_circular(r0)"),
           _num("inclination", "0", "1.5", "0.1")))

_R = mm.R


@st.composite
def _test_function(draw: st.DrawFn, lead: float) -> str:
    """Smooth non-solution test functions on r in [3, 6]: lead + a/r + b sin(k r) + c cos(k r)."""
    k = draw(grid("1", "3", "1", "1"))
    return linear_text([(lead, ""), (draw(grid("-1", "1", "0.25", "-1")), "r**(-1)"),
                        (draw(grid("-0.25", "0.25", "0.05", "0.1")), f"sin({int(k)}*r)" if k != 1 else "sin(r)"),
                        (draw(grid("-0.25", "0.25", "0.05", "0")), f"cos({int(k)}*r)" if k != 1 else "cos(r)")])


def _radial_callable(text: str):
    e = parse_formula(text, {"r": _R}, what="test function")
    return lambda r: e.xreplace({_R: r})


_FIELD = ExploreSpec(
    note="Lambda and the test functions A(r), B(r) of the discretised action",
    knobs=(_num("Lambda_value", "0", "1", "0.05", "cosmological constant"),
           Knob("test_A", ("test_A",), variables=("r",), formulas=lambda: _test_function(1.0),
                convert=_radial_callable, meaning="A(r) on [3, 6]"),
           Knob("test_B", ("test_B",), variables=("r",), formulas=lambda: _test_function(1.0),
                convert=_radial_callable, meaning="B(r) on [3, 6]")))


def _solution_slot(spec: MetricSpec, default: Any) -> mm.Solution:
    """A metric file in a solution's slot: the slot's equation; the file's Lambda (or the slot's)."""
    return mm.Solution(spec.metric, default.equation, spec.Lambda if spec.Lambda is not None else default.Lambda,
                       spec.stress_energy if spec.stress_energy is not None else default.stress_energy)


_VACUUM = ExploreSpec(
    note="a known solution after one or two random coordinate changes (must stay a solution)",
    metric_inputs=tuple(MetricInput(b, _solution_slot, f"replaces the {b} solution (same equation)")
                        for b in BASES),
    metric_draws=lambda: transformed_solutions().map(lambda c: (c.base, c.text)))


def _only(spec: MetricSpec, default: Any) -> tuple:
    return (spec.metric,)


_BIANCHI = ExploreSpec(
    note="metrics from every family (static spherical f(r), FLRW a(t), stationary axisymmetric, coordinate "
         "changes of solutions)",
    metric_inputs=(MetricInput("metrics", _only, "the metric the identity is checked on"),),
    metric_draws=lambda: metric_files().map(lambda t: ("metrics", t)))

_GEODESIC_EQUATION = ExploreSpec(
    # optical metrics only (about 1 CPU s per draw since the residuals are decided by decide_zero, not simplify):
    # a 1+1 metric with a shift and a conformal factor still costs 3-7 s (2026-11-26), a drawn 4-D metric was
    # 1-8 s before that change (one FLRW draw took 20 minutes): beyond the --explore budget
    note="optical metrics -c(x)^2 dt^2 + dx^2 of a network's light speed c(x)",
    metric_inputs=(MetricInput("metrics", _only, "the metric the geodesic equation is derived for"),),
    metric_draws=lambda: two_dimensional_metrics(general=False).map(lambda t: ("metrics", t)))

_DUALITY = ExploreSpec(
    note="network size, data set size and noise",
    knobs=(_int("network_size", 64, 512, 8), _int("n_data", 64, 1024, 64), _num("data_noise", "0.25", "2", "0.25")),
    confirm_statistical=True)


SPECS: dict[str, ExploreSpec] = {
    "learning.fokker_planck": _FOKKER_PLANCK,
    "madelung.continuity": _MADELUNG,
    "madelung.hamilton_jacobi": _MADELUNG,
    "schrodinger.equivalence": _EQUIVALENCE,
    "schrodinger.quantisation": _QUANTISATION,
    "schrodinger.wallstrom_counterexample": _WALLSTROM,
    "lorentz.wave_equation": _LORENTZ_WAVE,
    "lorentz.boost_invariance": _BOOST,
    "spacetime.emergent_metric": _spacetime_spec("a speed profile c(x) and its optical metric, the Courant number"),
    "geodesic.equation": _GEODESIC_EQUATION,
    "geodesic.wave_packet": _spacetime_spec("a speed profile c(x) and its optical metric, the Courant number"),
    "geodesic.conservation": _CONSERVATION,
    "einstein.field_equations": _FIELD,
    "einstein.vacuum_solutions": _VACUUM,
    "einstein.bianchi": _BIANCHI,
    "duality.report": _DUALITY,
}
#: custom draw strategies (several knobs drawn together)
CUSTOM_DRAWS = {"spacetime.emergent_metric": _optical, "geodesic.wave_packet": _optical}
#: why a claim is not explored
NOT_EXPLORED: dict[str, str] = {}


def spec_for(claim: Claim) -> ExploreSpec | None:
    return SPECS.get(claim.id)


def draws(claim: Claim, spec: ExploreSpec) -> st.SearchStrategy[Draw]:
    """The claim's draw strategy (its custom one, or every knob, the potential and the metric drawn apart)."""
    custom = CUSTOM_DRAWS.get(claim.id)
    return custom() if custom is not None else spec.strategy(claim.default_inputs())


def not_explored_reason(claim: Claim) -> str | None:
    """Why ``claim`` cannot be explored (no spec, or a knob whose input the claim no longer has), else None."""
    spec = spec_for(claim)
    if spec is None:
        return NOT_EXPLORED.get(claim.id, "no explore strategy registered for this claim")
    defaults = claim.default_inputs()
    for k in spec.knobs:
        try:
            v: Any = defaults
            for p in k.path:
                v = v[p]
        except (KeyError, IndexError, TypeError):
            return f"knob {k.name}: the claim has no input {'.'.join(map(str, k.path))} (the registry is out of date)"
    for m in spec.metric_inputs:
        if m.name not in defaults:
            return f"metric input {m.name}: the claim has no such input (the registry is out of date)"
    return None
