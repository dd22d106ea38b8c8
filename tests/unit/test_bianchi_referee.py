"""The second opinion on the contracted Bianchi identity (nnqg.derivations._bianchi_referee): "zero" on true
identities, "nonzero" on errors planted in its own formulas (monkeypatched, never switches in product code), third
derivatives equal to SymPy's, and the engine bugs that its disagreement with the engine catches."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import flint
import pytest
import sympy as sp

from nnqg.derivations import _bianchi_referee as br
from nnqg.derivations import _curvature
from nnqg.derivations import _metrics as mm
from nnqg.derivations._curvature import InconsistentVerdict, Metric, bianchi_check
from nnqg.derivations._curvature_referee import RefereeProblem
from nnqg.derivations._metric_file import load_metric
from nnqg.verify import FAILED, NumericContext, get_claim, run_claim
from nnqg.verify.claims.einstein import _wrong_gamma

ROOT = Path(__file__).resolve().parents[2]
t, x, y = sp.symbols("t x y", real=True)
SEED = 5
STATED_DIVERGENCE = br._covariant_divergence


def _ref(m: Metric, **kw) -> br.BianchiReferee:
    return br.BianchiReferee(RefereeProblem(tuple(m.coords), sp.ImmutableMatrix(m.g), tuple(m.parameters)),
                             seed=SEED, **kw)


def _three_d() -> Metric:
    """A 2+1 metric with a shift and arbitrary functions of all three coordinates (every mixed third partial
    of g is non-zero, so the e_k + e_l + e_m polarisation is used)."""
    f, u, h = (sp.Function(n)(t, x) for n in "fuh")
    k = sp.Function("k")(x, y)
    g = sp.Matrix([[-f, u, 0], [u, h, 0], [0, 0, k * x**2 + t * y]])
    return Metric("2+1 with shift f, u, h (t, x), k (x, y)", (t, x, y), g)


GENERIC = {
    "static_spherical": mm.generic_static_spherical,
    "dynamic_spherical": mm.generic_dynamic_spherical,
    "stationary_axisymmetric": mm.generic_stationary_axisymmetric,
    "three_d_shift": _three_d,
    "kerr": lambda: mm.kerr().metric,
}


def test_bianchi_referee_imports_nothing_of_the_engine():
    tree = ast.parse((ROOT / "derivations" / "_bianchi_referee.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "fractions", "typing", "_curvature_referee", "flint"}, imported


@pytest.mark.parametrize("name", sorted(GENERIC))
def test_a_true_identity_is_zero_at_every_point(name):
    ref = _ref(GENERIC[name]())
    pts = ref.points(3)
    assert len(pts) == 3
    for p in pts:
        assert ref.verdicts(p) == ("zero",) * ref.n, p.describe()


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "metrics").glob("*.toml")), ids=lambda q: q.stem)
def test_every_catalogue_metric_engine_and_second_opinion_agree_on_zero(path):
    # includes the pp-wave, where every term vanishes at the point (the floor 1 in S_b, module docstring)
    res = bianchi_check(load_metric(path).metric)
    assert all(c == 0 for c in res.components)


def test_a_wrong_trace_coefficient_is_nonzero_and_agrees_with_the_engine():
    # nabla^a (R_ab - R g_ab) = -(1/2) d_b R: non-zero; bianchi_check compares each engine witness to 25 digits
    ref = _ref(mm.generic_static_spherical(), trace_coefficient=Fraction(1))
    assert all(ref.verdicts(p)[1] == "nonzero" for p in ref.points(3))
    res = bianchi_check(mm.generic_static_spherical(), trace_coefficient=Fraction(1))
    assert res.components[1] != 0 and res.components[0] == 0


# ------------------------------------------------------------------------ planted errors in the referee itself

def _planted_divergence(which: str, delta):
    """The stated divergence with the Gamma^d_{c which} term multiplied by 1 + delta (the majorant gets |delta|
    times the term's own majorant added)."""
    def planted(gi, Gam, G, jet, n):
        out = STATED_DIVERGENCE(gi, Gam, G, jet, n)
        majorant = jet is br._Majorant
        res = []
        for b in range(n):
            e = flint.arb(0)
            for a in range(n):
                for c in range(n):
                    for d in range(n):
                        e += gi[a][c] * (Gam[d][c][a].v * G[d][b].v if which == "ca" else Gam[d][c][b].v * G[a][d].v)
            res.append(out[b] + (abs(delta) * e if majorant else -delta * e))
        return res
    return planted


def _nonzero_at_every_point(ref: br.BianchiReferee) -> bool:
    return all("nonzero" in ref.verdicts(p) for p in ref.points(3))


@pytest.mark.parametrize("which,delta", [("cb", -2), ("ca", -1), ("cb", -1)],
                         ids=["wrong_sign_Gamma_cb", "dropped_Gamma_ca", "dropped_Gamma_cb"])
@pytest.mark.parametrize("name", ["static_spherical", "three_d_shift"])
def test_planted_error_in_the_divergence_formula_is_nonzero(monkeypatch, name, which, delta):
    monkeypatch.setattr(br, "_covariant_divergence", _planted_divergence(which, flint.arb(delta)))
    assert _nonzero_at_every_point(_ref(GENERIC[name]()))


@pytest.mark.parametrize("name,smallest", [("static_spherical", 26), ("dynamic_spherical", 27),
                                           ("stationary_axisymmetric", 25)])
def test_power_smallest_relative_error_on_one_term(monkeypatch, name, smallest):
    # the stated power (module docstring): 10^-smallest is detected at all 3 points; 10^-35, below the resolution
    # 10^-30 S_b, is "zero" everywhere
    m = GENERIC[name]()
    for which in ("ca", "cb"):
        monkeypatch.setattr(br, "_covariant_divergence",
                            _planted_divergence(which, flint.arb(10) ** -smallest))
        assert _nonzero_at_every_point(_ref(m)), (which, smallest)
        monkeypatch.setattr(br, "_covariant_divergence", _planted_divergence(which, flint.arb(10) ** -35))
        ref = _ref(m)
        assert all(ref.verdicts(p) == ("zero",) * 4 for p in ref.points(3)), which


@pytest.mark.parametrize("factor", [2, 1 + Fraction(1, 10**20)])
def test_planted_asymmetric_third_derivative_is_nonzero(monkeypatch, factor):
    # d_l (d_k d_k g) scaled where it enters the jet of d_k d_k g only: no metric has that 3-jet
    def planted(jet, k, l, value, gradient):
        q = flint.fmpq(factor.numerator, factor.denominator) if isinstance(factor, Fraction) else factor
        return jet(value, [v * q if (k == l and m != k) else v for m, v in enumerate(gradient)])

    monkeypatch.setattr(br, "_hessian_jet", planted)
    assert _nonzero_at_every_point(_ref(mm.generic_static_spherical()))


def test_third_derivatives_by_polarisation_equal_sympy():
    # every d_k g, d_k d_l g, d_k d_l d_m g of an explicit metric in three active coordinates against SymPy's diff
    g = sp.Matrix([[-sp.exp(x * y) * (1 + t**2), sp.sin(t * x * y), 0],
                   [sp.sin(t * x * y), 1 + x**3 * y / (2 + t), sp.log(2 + t * y)],
                   [0, sp.log(2 + t * y), sp.cosh(x) * y**2 + t**3 * x]])
    ref = _ref(Metric("explicit 3-jet", (t, x, y), g))
    p = ref.points(1)[0]
    with flint.ctx.workprec(192):
        gv, d1, d2, d3 = ref._derivatives(p)
    coords = (t, x, y)
    checked = 0
    for a in range(3):
        for b in range(a, 3):
            for key, table in [((k,), d1) for k in range(3)] + [((k, l), d2) for k in range(3) for l in range(k, 3)] \
                    + [((k, l, m), d3) for k in range(3) for l in range(k, 3) for m in range(l, 3)]:
                want = ref.value(sp.diff(g[a, b], *[coords[i] for i in key]), p)
                got = table.get(key, {}).get((a, b), flint.arb(0))
                assert abs(got - want) < flint.arb(10) ** -40 * (1 + abs(want)), (a, b, key)
                checked += 1
    assert checked == 6 * (3 + 6 + 10)


# ---------------------------------------------------------------- engine errors caught by the disagreement

def test_planted_engine_christoffel_error_is_caught():
    with pytest.raises(InconsistentVerdict, match="second opinion finds"):
        bianchi_check(mm.generic_static_spherical(), christoffel_hook=_wrong_gamma)


def test_planted_engine_zero_divergence_is_caught(monkeypatch):
    # the engine says "holds" while its Einstein tensor (trace coefficient 1) has a non-zero divergence
    real = _curvature.einstein_divergence
    monkeypatch.setattr(_curvature, "einstein_divergence", lambda cv: tuple(cv.prepared.algebra.zero for _ in real(cv)))
    with pytest.raises(InconsistentVerdict, match="engine says nabla_a G\\^a_r = 0"):
        bianchi_check(mm.generic_static_spherical(), trace_coefficient=Fraction(1))


def test_planted_wrong_printed_component_is_caught(monkeypatch):
    real = _curvature.covector_to_user
    monkeypatch.setattr(_curvature, "covector_to_user", lambda *a: 2 * real(*a))
    with pytest.raises(InconsistentVerdict, match="engine's nabla_a G\\^a_r"):
        bianchi_check(mm.generic_static_spherical(), trace_coefficient=Fraction(1))


def test_undecided_never_counts_as_agreement(monkeypatch):
    monkeypatch.setattr(br.BianchiReferee, "divergence_decisions",
                        lambda self, p: (("undecided", flint.arb(0)),) * self.n)
    with pytest.raises(InconsistentVerdict, match="undecided"):
        bianchi_check(mm.generic_static_spherical())


def test_the_claim_fails_on_the_engine_plant_through_the_disagreement():
    c = get_claim("einstein.bianchi")
    v = run_claim(c, NumericContext(seed=1, quick=True), c.mutations()["wrong_christoffel_r_tt"], calibration=False,
                  learning=False)
    assert v.status == FAILED
    failing = [name for name, e in v.derivation.checks if e != 0]
    assert failing and all("internal inconsistency" in f for f in failing)
