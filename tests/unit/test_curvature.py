"""Curvature engine, einstein.vacuum_solutions / einstein.bianchi / einstein.field_equations, `nnqg curvature`."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.derivations import _metrics as mm
from nnqg.derivations._curvature import Metric, check, christoffel, compute, einstein_divergence, prepare
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify._cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "metrics"
CTX = NumericContext(seed=1, quick=True)
t, x, y, r, th, ph = sp.symbols("t x y r theta phi", real=True)


# ------------------------------------------------------------------------------------------------ the engine

def test_kerr_is_ricci_flat_and_3Mr_is_not():
    ok = check(mm.kerr().metric, "ricci_flat")
    assert ok.holds and ok.path.startswith("rational (flint") and "c_theta = cos(theta)" in ok.path
    bad = check(mm.kerr(delta_mass_coefficient=3).metric, "ricci_flat")
    assert not bad.holds
    assert [c.label for c in bad.nonzero] == ["R_tt", "R_tphi", "R_rr", "R_thetatheta", "R_phiphi"]
    assert all(c.value not in ("0", "no finite non-zero sample found") for c in bad.nonzero)


def test_3M_in_sds_is_just_another_mass_but_lambda_over_2_is_an_error():
    assert check(*_sol(mm.schwarzschild_de_sitter(mass_coefficient=3)), Lambda=mm.LAMBDA).holds
    res = check(*_sol(mm.schwarzschild_de_sitter(sp.Rational(1, 2))), Lambda=mm.LAMBDA)
    assert not res.holds and len(res.nonzero) == 4


def _sol(s):
    return s.metric, s.equation


def test_odd_sine_takes_the_tan_half_chart_and_agrees_with_the_expression_path():
    # g_phiphi = r^2 sin(theta) (odd power): u = tan(theta/2); compare every Ricci component with plain SymPy
    m = Metric("odd", (t, r, th, ph), sp.diag(-1, 1, r**2, r**2 * sp.sin(th)))
    p1, p2 = prepare(m), prepare(m, force_expression=True)
    assert "u_theta = tan(theta/2)" in p1.path and p2.path.startswith("expression-level")
    from nnqg.derivations._curvature import to_user
    c1, c2 = compute(p1), compute(p2)
    for a in range(4):
        for b in range(4):
            d = to_user(p1, a, b, c1.ricci[a][b]) - c2.ricci[a][b]
            for pt in ({r: 2, th: sp.Rational(7, 10)}, {r: sp.Rational(13, 4), th: 2}):
                assert abs(sp.N(d.subs(pt), 30)) < 1e-25, (a, b)


def test_cross_term_in_theta_uses_tan_half():
    m = Metric("cross", (t, r, th, ph), sp.Matrix([[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, r**2, sp.cos(th) / 10],
                                                  [0, 0, sp.cos(th) / 10, r**2 * sp.sin(th) ** 2]]))
    p = prepare(m)
    assert "u_theta" in p.path


def test_exp_generator_and_fallback_path_are_named():
    flrw = mm.flrw_de_sitter()
    res = check(flrw.metric, "einstein_lambda", Lambda=flrw.Lambda)
    assert res.holds and "exp generators E1 = exp(H*t)" in res.path
    m = Metric("sqrt", (t, x, y), sp.diag(-1, 1, sp.sqrt(1 + x**2)))
    res = check(m, "ricci_flat")
    assert res.path.startswith("expression-level") and "Pow" in res.path
    assert not res.holds and res.nonzero


def test_degenerate_and_nonsymmetric_metrics_are_invalid():
    with pytest.raises(InvalidArgument, match="degenerate"):
        check(Metric("deg", (t, x), sp.Matrix([[1, 1], [1, 1]])), "ricci_flat")
    with pytest.raises(InvalidArgument, match="not symmetric"):
        Metric("ns", (t, x), sp.Matrix([[1, 2], [1, 1]]))
    with pytest.raises(InvalidArgument, match="3 coordinates"):
        Metric("n", (t, x, y), sp.eye(2))


def test_christoffel_api_optical_metric():
    c = sp.Function("c")(x)
    G = christoffel(sp.diag(-c**2, 1), (t, x))
    assert sp.simplify(G[1][0][0] - c * c.diff(x)) == 0
    assert sp.simplify(G[0][0][1] - c.diff(x) / c) == 0
    assert G[1][1][1] == 0 and G[0][0][0] == 0


def test_bianchi_divergence_is_not_zero_for_a_wrong_trace_coefficient():
    prep = prepare(mm.generic_static_spherical())
    good = einstein_divergence(compute(prep))
    bad = einstein_divergence(compute(prep, einstein_trace_coefficient=Fraction(1)))
    assert all(prep.algebra.is_zero(d) for d in good)
    assert not all(prep.algebra.is_zero(d) for d in bad)


# ------------------------------------------------------------------------------------------------ the claims

@pytest.mark.parametrize("cid,names", [
    ("einstein.vacuum_solutions", ("kerr_3Mr_in_Delta", "sds_Lambda_r2_over_2", "rn_stress_sign")),
    ("einstein.bianchi", ("einstein_trace_coefficient_1", "einstein_trace_coefficient_1_4",
                          "wrong_christoffel_r_tt")),
])
def test_claim_passes_and_mutations_fail(cid, names):
    # every mutation of these claims runs in tests/slow/test_curvature_slow.py; here a representative few
    c = get_claim(cid)
    assert run_claim(c, CTX).status == PASSED
    muts = c.mutations()
    for name in names:
        v = run_claim(c, CTX, muts[name])
        assert v.status == FAILED, name


def test_every_vacuum_mutation_breaks_its_own_solution():
    from nnqg.verify.claims.einstein import vacuum_symbolic

    c = get_claim("einstein.vacuum_solutions")
    for name, ov in c.mutations().items():
        assert not vacuum_symbolic(ov).ok, name


def test_field_equations_symbolic_passes_and_fails_on_wrong_lambda_coefficient():
    c = get_claim("einstein.field_equations")
    assert c.derivation(c.default_inputs()).ok
    inp = {**c.default_inputs(), **c.mutations()["action_R_minus_Lambda"]}
    assert not c.derivation(inp).ok


def test_field_equations_numeric_converges_at_order_2_and_fails_on_planted_errors():
    c = get_claim("einstein.field_equations")
    res = c.calibration(CTX, c.default_inputs())
    assert res.ok and abs(res.convergence.observed_order - 2) < 0.2
    for name in ("action_R_minus_Lambda", "einstein_trace_coefficient_1"):
        bad = c.calibration(CTX, {**c.default_inputs(), **c.mutations()[name]})
        assert not bad.ok, name


# ------------------------------------------------------------------------------------------------ the command

@pytest.mark.parametrize("name,check_name,code", [
    ("schwarzschild", "ricci_flat", 0), ("kerr", "ricci_flat", 0), ("kerr_wrong_delta", "ricci_flat", 1),
    ("schwarzschild_de_sitter", "einstein_lambda", 0), ("schwarzschild", "einstein_lambda", 2),
    ("flrw_de_sitter", "einstein_lambda", 0), ("reissner_nordstrom", "einstein", 0),
    ("schwarzschild_de_sitter", "ricci_flat", 1),
])
def test_cli_exit_codes(name, check_name, code, capsys):
    assert main(["curvature", str(EXAMPLES / f"{name}.toml"), "--check", check_name]) == code
    out = capsys.readouterr()
    if code == 1:
        assert "does NOT hold" in out.out and "at " in out.out
    if code == 2:
        assert "Lambda" in out.err


def test_cli_latex_and_bad_file(tmp_path, capsys):
    assert main(["curvature", str(EXAMPLES / "schwarzschild.toml"), "--latex"]) == 0
    assert "\\frac" in capsys.readouterr().out
    f = tmp_path / "bad.toml"
    f.write_text('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nx_x = "__import__(1)"\n')
    assert main(["curvature", str(f)]) == 2
    assert "x_x" in capsys.readouterr().err
