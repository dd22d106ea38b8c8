"""geodesic.equation and geodesic.conservation: pass on the defaults, fail on planted errors."""

from __future__ import annotations

import numpy as np
import sympy as sp

from nnqg.derivations._geodesic import geodesic_equations, length_vs_textbook
from nnqg.derivations._curvature import christoffel
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify.claims.geodesic import optical_metric

CTX = NumericContext(seed=1, quick=True)


def _small(c):
    # the optical metric and the generic static spherical family (Schwarzschild runs in tests/slow)
    return {"metrics": c.default_inputs()["metrics"][:2]}


def test_equation_passes_on_small_metrics_and_fails_on_planted_errors():
    c = get_claim("geodesic.equation")
    assert run_claim(c, CTX, _small(c)).status == PASSED
    for name, ov in c.mutations().items():
        v = run_claim(c, CTX, {**_small(c), **ov, "metrics": c.default_inputs()["metrics"][:1]})
        assert v.status == FAILED, name


def test_length_functional_difference_is_the_planted_error():
    m = optical_metric()
    G = [[list(r) for r in p] for p in christoffel(m)]
    G[1][0][0] = G[1][0][0] * 2
    d = length_vs_textbook(m, G)
    assert d[0] == 0 and d[1] != 0


def test_conservation_passes_and_numeric_check_fails_on_a_wrong_christoffel_symbol():
    c = get_claim("geodesic.conservation")
    v = run_claim(c, CTX)
    assert v.status == PASSED, v.reason
    assert v.calibration.convergence.observed_order > 0.8
    for name, ov in c.mutations().items():
        inp = {**c.default_inputs(), **ov}
        assert not c.derivation(inp).ok, name
        res = c.calibration(CTX, inp)
        assert not res.ok, name


def test_flat_geodesics_are_straight_lines():
    from nnqg.numerics._geodesic import geodesic_kernel, integrate_geodesic

    t, x, y = sp.symbols("t x y", real=True)
    sys = geodesic_equations(sp.diag(-1, 1, 1), (t, x, y))
    assert sys.accelerations == (0, 0, 0)
    k = geodesic_kernel(sys, name="test_flat3")
    sol = integrate_geodesic(k, sys, (0, 0, 0), (1.5, 0.3, -0.2), {}, 4.0, rtol=1e-10, atol=1e-12)
    assert np.allclose(sol.y[1, -1], 1.2) and np.allclose(sol.y[2, -1], -0.8)
