"""The second opinion on curvature verdicts: its own correctness, its independence from the engine, and the
planted engine bugs it catches (monkeypatched internals, never switches in product code)."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from nnqg.derivations import _curv_prepare
from nnqg.derivations import _metrics as mm
from nnqg.derivations._curvature import InconsistentVerdict, Metric, check
from nnqg.derivations._curvature_referee import Referee, RefereeProblem, _coeff
from nnqg.derivations._metric_file import load_metric

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "metrics"
t, x, y, z, r, th, ph = sp.symbols("t x y z r theta phi", real=True)


def _ref(m: Metric, equation: str = "ricci_flat", **kw) -> Referee:
    return Referee(RefereeProblem(m.coords, sp.ImmutableMatrix(m.g), m.parameters, equation, **kw), seed=3)


# ------------------------------------------------------------------------------------------------ the referee


def test_referee_imports_nothing_of_the_engine():
    tree = ast.parse((ROOT / "derivations" / "_curvature_referee.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any("curv" in m or m.startswith(".") for m in imported), imported


@pytest.mark.parametrize("expr", [
    x**3 * sp.exp(y) / (1 + z**2), sp.sin(x * y) + sp.cosh(z) * sp.atan(x), sp.sqrt(1 + x**2 * y),
    sp.besselj(1, x + y) * sp.LambertW(z), sp.log(2 + x) ** 2 * sp.tanh(y * z), (1 + x) ** sp.Rational(2, 5),
])
def test_referee_derivatives_equal_sympy_diff(expr):
    """The Taylor-series derivatives at a point equal SymPy's symbolic derivatives evaluated there."""
    m = Metric("probe", (t, x, y, z), sp.diag(-1, 1 + expr**2, 1, 1))
    ref = _ref(m)
    p = ref.points(1)[0]
    vals = {s: sp.Rational(v.numerator, v.denominator) for s, v in p.values}
    consts, dirs = ref._directional(p)
    idx = ref.g_idx[1][1]
    g11 = m.g[1, 1]
    for k, v in enumerate((t, x, y, z)):
        if k not in ref.active:
            continue
        d1 = float(sp.N(sp.diff(g11, v).subs(vals), 30))
        d2 = float(sp.N(sp.diff(g11, v, 2).subs(vals), 30))
        assert abs(float(_coeff(dirs[(k, k)][idx], 1).mid()) - d1) < 1e-12 * (1 + abs(d1))
        assert abs(2 * float(_coeff(dirs[(k, k)][idx], 2).mid()) - d2) < 1e-12 * (1 + abs(d2))
        for l, w in enumerate((t, x, y, z)):
            if l > k and l in ref.active:   # H_kl = c_2(e_k + e_l) - c_2(e_k) - c_2(e_l)
                hkl = _coeff(dirs[(k, l)][idx], 2) - _coeff(dirs[(k, k)][idx], 2) - _coeff(dirs[(l, l)][idx], 2)
                d11 = float(sp.N(sp.diff(g11, v, w).subs(vals), 30))
                assert abs(float(hkl.mid()) - d11) < 1e-12 * (1 + abs(d11))


def test_referee_finds_known_components():
    # -dt^2 + dx^2 + x dy^2 + dz^2: R_xx = 1/(4 x^2), R_yy = 1/(4 x)
    m = Metric("x", (t, x, y, z), sp.diag(-1, 1, x, 1))
    ref = _ref(m)
    p = ref.points(1)[0]
    X = dict(p.values)[x]
    res, scale = ref.residual(p)
    assert ref.decide(res[1][1], scale) == "nonzero"
    assert abs(float(res[1][1].mid()) - 1 / (4 * float(X) ** 2)) < 1e-12
    assert abs(float(res[2][2].mid()) - 1 / (4 * float(X))) < 1e-12
    assert ref.decide(res[0][0], scale) == "zero" and ref.decide(res[1][2], scale) == "zero"


def test_referee_random_functions_and_derivative_data_are_deterministic():
    a = sp.Function("a")(t)
    m = Metric("flrw", (t, x, y, z), sp.diag(-1, a**2, a**2, a**2))
    p1 = _ref(m).points(2)
    p2 = _ref(m).points(2)
    assert [q.describe() for q in p1] == [q.describe() for q in p2]
    assert "a''=" in p1[0].describe()
    data = p1[0].function_map()[a]
    assert Fraction(1, 2) <= data[(0,)] <= 2 and len(data) == 7     # value and 6 derivatives


def test_referee_skips_points_where_the_metric_is_not_real():
    m = Metric("sqrt", (t, x), sp.diag(-1, sp.sqrt(x - 2)))
    pts = _ref(m).points(3)
    assert pts and all(dict(p.values)[x] > 2 for p in pts)


def test_a_metric_complex_at_every_sample_point_is_refused():
    m = Metric("complex", (t, x), sp.diag(-1, sp.sqrt(-1 - x**2)))
    with pytest.raises(Exception, match="real"):
        check(m, "ricci_flat")


# ------------------------------------------------------------------------------------ planted engine bugs


def test_planted_generator_without_derivative_rule_is_caught(monkeypatch):
    """exp generators lose their rule (the bug of exp(log x) simplifying away): the engine says Ricci-flat for
    -dt^2 + dx^2 + exp(x) dy^2 + dz^2; the second opinion finds R_xx != 0 and no verdict is given."""
    m = Metric("exp", (t, x, y, z), sp.diag(-1, 1, sp.exp(x), 1))
    assert not check(m, "ricci_flat").holds
    real = _curv_prepare._add_generator_rules

    def no_exp_rule(F, gn, *args):
        if gn.kind != "exp":
            real(F, gn, *args)
    monkeypatch.setattr(_curv_prepare, "_add_generator_rules", no_exp_rule)
    assert check(m, "ricci_flat", second_opinion=False).holds       # the planted bug: a false "holds"
    with pytest.raises(InconsistentVerdict, match=r"R_xx|R_yy"):
        check(m, "ricci_flat")


def test_planted_power_generator_without_rule_is_caught_on_a_catalogue_metric(monkeypatch):
    spec = load_metric(EXAMPLES / "janis_newman_winicour.toml")
    real = _curv_prepare._add_generator_rules
    monkeypatch.setattr(_curv_prepare, "_add_generator_rules",
                        lambda F, gn, *a: None if gn.kind == "pow" else real(F, gn, *a))
    with pytest.raises(InconsistentVerdict):
        check(spec.metric, "ricci_flat")


def test_planted_sign_in_the_cos_chart_back_transformation_is_caught(monkeypatch):
    """|sin theta| for dc/dtheta = -sin theta (the printed-sign bug of Ernst's R_rtheta)."""
    spec = load_metric(EXAMPLES / "ernst.toml")
    res = check(spec.metric, "ricci_flat")
    comp = {c.label: c for c in res.nonzero}["R_rtheta"]
    B, M = spec.metric.parameters
    r_, th_ = spec.metric.coords[1], spec.metric.coords[2]
    v = sp.N(comp.expression.subs({B: sp.Rational(93, 34), r_: sp.Rational(9, 7), th_: sp.Rational(61, 20)}), 15)
    assert abs(v - sp.Float("-5.75642045289")) < 1e-9                    # the value, right sign
    real = _curv_prepare.Chart.new_per_old
    monkeypatch.setattr(_curv_prepare.Chart, "new_per_old",
                        lambda self: sp.sin(self.coord) if self.kind == "cos" else real(self))
    planted = {c.label: c for c in check(spec.metric, "ricci_flat", second_opinion=False).nonzero}["R_rtheta"]
    assert abs(sp.N(planted.expression.subs({B: sp.Rational(93, 34), r_: sp.Rational(9, 7),
                                             th_: sp.Rational(61, 20)}), 15) - v) > 11   # +5.756: the bug bites
    with pytest.raises(InconsistentVerdict, match="R_rtheta"):
        check(spec.metric, "ricci_flat")


def test_planted_tan_half_jacobian_is_caught(monkeypatch):
    """dtheta = du/(1 + u^2) for 2 du/(1 + u^2) in the u = tan(theta/2) chart (odd powers of sin theta)."""
    m = mm.schwarzschild_twisted().metric
    res = check(m, "ricci_flat")
    assert res.holds and "u_theta = tan(theta/2)" in res.path
    monkeypatch.setattr(_curv_prepare.Chart, "jacobian", lambda self: 1 / (1 + self.new**2))
    assert not check(m, "ricci_flat", second_opinion=False).holds        # the bug bites: a false "does not hold"
    with pytest.raises(InconsistentVerdict):
        check(m, "ricci_flat")


def test_planted_wrong_witness_value_is_caught(monkeypatch):
    """A printed component that is not the computed one (here: doubled) is caught by its witness."""
    from nnqg.derivations import _curvature

    real = _curvature.to_user
    monkeypatch.setattr(_curvature, "to_user", lambda *a, **k: 2 * real(*a, **k))
    with pytest.raises(InconsistentVerdict, match="R_tt"):
        check(mm.kerr(3).metric, "ricci_flat")


def test_planted_zero_component_is_caught(monkeypatch):
    """The engine drops a non-zero component (declares it 0): the second opinion's full residual at its first
    point disagrees."""
    from nnqg.derivations import _curvature

    real = _curvature.residual_tensor

    def drop(cv, equation, **kw):
        kind, res = real(cv, equation, **kw)
        rows = [list(row) for row in res]
        rows[1][1] = cv.prepared.algebra.zero
        return kind, tuple(tuple(row) for row in rows)
    monkeypatch.setattr(_curvature, "residual_tensor", drop)
    with pytest.raises(InconsistentVerdict, match="R_rr"):
        check(mm.kerr(3).metric, "ricci_flat")
