r"""A second opinion on the contracted Bianchi identity, sharing no code with the engine's rational path.

For a metric :math:`g_{ab}(x)` the divergence of the Einstein tensor with one index raised is, written with
lower indices only,

.. math::
    V_b = \nabla_a G^a{}_b = g^{ac}\bigl(\partial_c G_{ab} - \Gamma^d{}_{ca} G_{db} - \Gamma^d{}_{cb} G_{ad}\bigr),
    \qquad G_{ab} = R_{ab} - c\,R\,g_{ab},

and the identity says :math:`V_b = 0` for the stated :math:`c = \tfrac12`. :math:`\partial_c G_{ab}` needs the
third derivatives of :math:`g`. This module evaluates :math:`V_b` at random points in ball arithmetic with the
machinery of :mod:`._curvature_referee` (the metric as written, compiled to a tape; random analytic functions for
undetermined ones; the same random points, validity test and precision ladder), extended as follows.

* **Third derivatives by polarisation.** Along a direction :math:`w` the Taylor series of :math:`g_{ab}(x + s w)`
  (length 4) has coefficients :math:`c_1 = w^k\partial_k g`, :math:`c_2 = \tfrac12 H(w, w)`,
  :math:`c_3 = \tfrac16 T(w, w, w)` with :math:`H, T` the symmetric second- and third-derivative forms. Over
  the directions :math:`e_k`, :math:`e_k \pm e_l` (k < l) and :math:`e_k + e_l + e_m` (k < l < m),

  .. math::
      H_{kl} = c_2(e_k + e_l) - c_2(e_k) - c_2(e_l),\quad
      T_{kkl} = c_3(e_k + e_l) - c_3(e_k - e_l) - 2c_3(e_l),\quad
      T_{kll} = c_3(e_k + e_l) + c_3(e_k - e_l) - 2c_3(e_k),

  .. math::
      T_{klm} = c_3(e_k + e_l + e_m) - c_3(e_k + e_l) - c_3(e_k + e_m) - c_3(e_l + e_m)
                + c_3(e_k) + c_3(e_l) + c_3(e_m),

  from expanding :math:`T(w, w, w)` (for :math:`m` active coordinates that is
  :math:`m + m(m-1) + \binom m3 = \binom{m+2}3` directions, as many as :math:`T` has entries: no redundancy).
* **First-order jets.** Every quantity is carried with its gradient, :math:`q + \epsilon^k\partial_k q`
  (:math:`\epsilon^k\epsilon^l = 0`): :math:`g`, :math:`\partial g`, :math:`\partial\partial g` enter as jets
  whose gradients are :math:`\partial g`, :math:`\partial\partial g`, :math:`\partial\partial\partial g`; then
  the textbook formulas (:math:`g^{-1}` with :math:`\partial_e g^{-1} = -g^{-1}\partial_e g\,g^{-1}`,
  :math:`\Gamma_{abc} = \tfrac12(\partial_b g_{ac} + \partial_c g_{ab} - \partial_a g_{bc})`,
  :math:`\Gamma^a{}_{bc} = g^{ad}\Gamma_{dbc}`, :math:`\partial_e\Gamma^a{}_{bc}`,
  :math:`R_{bd} = \partial_a\Gamma^a{}_{bd} - \partial_d\Gamma^a{}_{ab} + \Gamma^a{}_{ae}\Gamma^e{}_{bd}
  - \Gamma^a{}_{de}\Gamma^e{}_{ab}`, :math:`G_{ab}`) are evaluated by the product rule on jets, which gives
  :math:`G_{ab}` and :math:`\partial_c G_{ab}` together (forward-mode differentiation of the formulas, not of
  their simplified form).

Decision rule (stated, not tuned): :math:`S_b` is 1 plus the *majorant* of :math:`V_b`, the same computation run
on :math:`|g|, |\partial g|, \dots, |g^{-1}|` with every subtraction replaced by an addition (and the jet of
:math:`g^{-1}` by :math:`|g^{-1}||\partial_e g||g^{-1}|`), which bounds the sum of the absolute values of all the
terms summed into :math:`V_b`. The 1 is the floor the curvature referee's scale has too: where every term
vanishes exactly at the point (a pp-wave, whose :math:`g^{uu} = 0` ball arithmetic carries as a rounding ball)
the majorant is itself of rounding size, and an absolute :math:`|V_b|` below :math:`10^{-30}` (sampled values are
of order 1) must count as zero. :math:`V_b` is *zero* at a point when its ball lies within
:math:`10^{-30} S_b` of 0, *non-zero* when the ball excludes :math:`[-10^{-30} S_b, 10^{-30} S_b]`; otherwise
the precision is doubled (192, 384, 768 bits) and, if still undecided, the answer is "undecided" (never
"zero"). Rounding contributes about :math:`10^{-55} S_b`, and a non-zero analytic function vanishes to 30
digits at a random point with probability ~0.

Power (``tests/unit/test_bianchi_referee.py``, errors planted by monkeypatching :func:`_covariant_divergence`
and :func:`_hessian_jet`): a wrong sign of the :math:`\Gamma^d{}_{cb}G_{ad}` term, a dropped
:math:`\Gamma^d{}_{ca}G_{db}` term and an asymmetric third derivative are non-zero at every point; a relative
error :math:`\varepsilon` on one of the two Christoffel terms is reported non-zero at all 3 points of seed 5 down
to :math:`\varepsilon = 10^{-26}` on the generic static spherical metric -A(r) dt^2 + B(r) dr^2 + r^2 dOmega^2
(:math:`10^{-27}` dynamic spherical, :math:`10^{-25}` stationary axisymmetric), not below (the term is
:math:`10^{-3}`-:math:`10^{-5}` of :math:`S_b`, the resolution :math:`10^{-30}`). A *symmetric* error in the
derivatives of :math:`g` (a wrong coefficient in a polarisation formula) is the jet of another metric, for which
the identity holds as well: no divergence check can see it, so the polarisation is tested against SymPy
derivatives instead.

>>> import sympy as sp
>>> t, r = sp.symbols("t r", real=True)
>>> A, B = sp.Function("A")(r), sp.Function("B")(r)
>>> ref = BianchiReferee(RefereeProblem((t, r), sp.ImmutableMatrix(sp.diag(-A, B)), ()), seed=1)
>>> [ref.verdicts(p) for p in ref.points(2)]
[('zero', 'zero'), ('zero', 'zero')]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from ._curvature_referee import PRECISIONS, PREC_BITS, Referee, RefereeProblem, SamplePoint

__all__ = ["BianchiReferee", "RefereeProblem"]


class _Jet:
    """:math:`q + \\epsilon^k \\partial_k q` with :math:`\\epsilon^k\\epsilon^l = 0` (value ``v``, gradient
    ``d``, ``arb`` entries)."""

    __slots__ = ("v", "d")

    def __init__(self, v: Any, d: Sequence[Any]) -> None:
        self.v = v
        self.d = list(d)

    def __add__(self, o: _Jet) -> _Jet:
        return type(self)(self.v + o.v, [a + b for a, b in zip(self.d, o.d)])

    def __sub__(self, o: _Jet) -> _Jet:
        return type(self)(self.v - o.v, [a - b for a, b in zip(self.d, o.d)])

    def __mul__(self, o: _Jet) -> _Jet:
        return type(self)(self.v * o.v, [self.v * b + a * o.v for a, b in zip(self.d, o.d)])

    def scale(self, c: Any) -> _Jet:
        return type(self)(self.v * c, [a * c for a in self.d])


class _Majorant(_Jet):
    """A jet of non-negative bounds: subtraction adds (so the result bounds the sum of absolute terms)."""

    __slots__ = ()

    def __sub__(self, o: _Jet) -> _Jet:
        return self + o

    def scale(self, c: Any) -> _Jet:
        return _Jet.scale(self, abs(c))


class BianchiReferee(Referee):
    """:math:`\\nabla_a G^a{}_b` for one :class:`RefereeProblem` (its metric, coordinates and parameters; the
    equation field is not used) at the referee's random points. ``trace_coefficient`` is the :math:`c` of
    :math:`G = R_{ab} - c R g_{ab}` (the stated value 1/2)."""

    def __init__(self, problem: RefereeProblem, seed: int = 0,
                 trace_coefficient: Fraction = Fraction(1, 2)) -> None:
        super().__init__(problem, seed)
        self.trace_coefficient = Fraction(trace_coefficient)
        self._div_decisions: dict[int, tuple[SamplePoint, tuple]] = {}

    # --- jets of g at the point
    def _derivatives(self, p: SamplePoint) -> tuple[list, dict, dict, dict]:
        """:math:`g_{ab}`, :math:`\\partial_k g_{ab}`, :math:`\\partial_k\\partial_l g_{ab}` and
        :math:`\\partial_k\\partial_l\\partial_m g_{ab}` (keys: sorted tuples of active coordinates) at ``p``."""
        import flint

        n, act = self.n, self.active
        consts = self._consts(p)

        def series(*signed: tuple[int, int]) -> list:
            w = [0] * n
            for k, s in signed:
                w[k] = s
            return self._evaluate(p, w, consts, length=4)

        dirs: dict[tuple[tuple[int, int], ...], list] = {}
        for i, k in enumerate(act):
            dirs[((k, 1),)] = series((k, 1))
            for j, l in enumerate(act[i + 1:], start=i + 1):
                dirs[((k, 1), (l, 1))] = series((k, 1), (l, 1))
                dirs[((k, 1), (l, -1))] = series((k, 1), (l, -1))
                for m in act[j + 1:]:
                    dirs[((k, 1), (l, 1), (m, 1))] = series((k, 1), (l, 1), (m, 1))
        zero = flint.arb(0)
        g = [[consts[self.g_idx[min(a, b)][max(a, b)]] for b in range(n)] for a in range(n)]
        d1: dict = {}
        d2: dict = {}
        d3: dict = {}
        for a in range(n):
            for b in range(a, n):
                idx = self.g_idx[a][b]
                if not self.tape.varying[idx]:
                    continue

                def c(key: tuple, order: int) -> Any:
                    v = dirs[key][idx]
                    if isinstance(v, flint.arb):
                        return zero
                    cs = v.coeffs()
                    return cs[order] if order < len(cs) else zero

                for i, k in enumerate(act):
                    ek = ((k, 1),)
                    d1.setdefault((k,), {})[(a, b)] = c(ek, 1)               # c_1 = d_k g
                    d2.setdefault((k, k), {})[(a, b)] = 2 * c(ek, 2)         # c_2 = H_kk / 2
                    d3.setdefault((k, k, k), {})[(a, b)] = 6 * c(ek, 3)      # c_3 = T_kkk / 6
                    for j, l in enumerate(act[i + 1:], start=i + 1):
                        el = ((l, 1),)
                        plus, minus = ((k, 1), (l, 1)), ((k, 1), (l, -1))
                        d2.setdefault((k, l), {})[(a, b)] = c(plus, 2) - c(ek, 2) - c(el, 2)
                        d3.setdefault((k, k, l), {})[(a, b)] = c(plus, 3) - c(minus, 3) - 2 * c(el, 3)
                        d3.setdefault((k, l, l), {})[(a, b)] = c(plus, 3) + c(minus, 3) - 2 * c(ek, 3)
                        for m in act[j + 1:]:
                            em = ((m, 1),)
                            d3.setdefault((k, l, m), {})[(a, b)] = (
                                c(((k, 1), (l, 1), (m, 1)), 3) - c(plus, 3) - c(((k, 1), (m, 1)), 3)
                                - c(((l, 1), (m, 1)), 3) + c(ek, 3) + c(el, 3) + c(em, 3))
        return g, d1, d2, d3

    # --- the divergence
    def divergence(self, p: SamplePoint, prec: int = PREC_BITS) -> tuple[list, list]:
        """:math:`V_b` at ``p`` (``arb`` entries) and the scales :math:`S_b` (majorant + 1) of the module
        docstring."""
        import flint

        with flint.ctx.workprec(prec):
            g, d1, d2, d3 = self._derivatives(p)
            value = self._divergence(g, d1, d2, d3, _Jet, abs_inputs=False)
            bound = self._divergence(g, d1, d2, d3, _Majorant, abs_inputs=True)
            return value, [s + 1 for s in bound]

    def _divergence(self, g, d1, d2, d3, jet: type, abs_inputs: bool) -> list:
        import flint

        n, act = self.n, self.active
        zero = flint.arb(0)
        f = abs if abs_inputs else (lambda x: x)

        def entry(table: dict, key: tuple, a: int, b: int) -> Any:
            return f(table.get(tuple(sorted(key)), {}).get((min(a, b), max(a, b)), zero))

        def grad(table: dict, key: tuple, a: int, b: int) -> list:
            return [entry(table, key + (m,), a, b) if m in act else zero for m in range(n)]

        gJ = [[jet(f(g[a][b]), [entry(d1, (m,), a, b) if m in act else zero for m in range(n)]) for b in range(n)]
              for a in range(n)]
        zeroJ = jet(zero, [zero] * n)
        dgJ = [[[jet(entry(d1, (k,), a, b), grad(d2, (k,), a, b)) for b in range(n)] for a in range(n)]
               if k in act else [[zeroJ] * n for _ in range(n)] for k in range(n)]
        ddgJ = {(k, l): [[_hessian_jet(jet, k, l, entry(d2, (k, l), a, b), grad(d3, (k, l), a, b)) for b in range(n)]
                         for a in range(n)] for k in act for l in act}
        gi_m = flint.arb_mat(g).inv()
        gi = [[gi_m[a, b] for b in range(n)] for a in range(n)]
        if abs_inputs:
            gabs = flint.arb_mat([[abs(x) for x in row] for row in gi])
            dgi = {m: gabs * flint.arb_mat([[abs(d1.get((m,), {}).get((min(a, b), max(a, b)), zero))
                                             for b in range(n)] for a in range(n)]) * gabs for m in act}
            gi = [[abs(x) for x in row] for row in gi]
        else:
            dgi = {m: -(gi_m * flint.arb_mat([[d1.get((m,), {}).get((min(a, b), max(a, b)), zero)
                                               for b in range(n)] for a in range(n)]) * gi_m) for m in act}
        giJ = [[jet(gi[a][b], [dgi[m][a, b] if m in act else zero for m in range(n)]) for b in range(n)]
               for a in range(n)]

        def total(terms: list) -> _Jet:
            out = zeroJ
            for t in terms:
                out = out + t
            return out

        R = range(n)
        half = flint.fmpq(1, 2)
        low = [[[(dgJ[b][a][c] + dgJ[c][a][b] - dgJ[a][b][c]).scale(half) for c in R] for b in R]
               for a in R]
        Gam = [[[total([giJ[a][d] * low[d][b][c] for d in R]) for c in R] for b in R] for a in R]
        dGam: dict[int, list] = {}
        for e in act:
            dgi_e = [[total([(giJ[a][p] * dgJ[e][p][q] * giJ[q][d]) for p in R for q in R]).scale(-1)
                      for d in R] for a in R]
            dlow = [[[(_part(ddgJ, e, b, a, c, zeroJ) + _part(ddgJ, e, c, a, b, zeroJ)
                       - _part(ddgJ, e, a, b, c, zeroJ)).scale(half) for c in R] for b in R] for a in R]
            dGam[e] = [[[total([dgi_e[a][q] * low[q][b][c] + giJ[a][q] * dlow[q][b][c] for q in R])
                         for c in R] for b in R] for a in R]
        ric = [[total([dGam[a][a][b][d] for a in act]) - (total([dGam[d][a][a][b] for a in R]) if d in act
                                                           else zeroJ)
                + total([Gam[a][a][e] * Gam[e][b][d] for a in R for e in R])
                - total([Gam[a][d][e] * Gam[e][a][b] for a in R for e in R]) for d in R] for b in R]
        scalar = total([giJ[b][d] * ric[b][d] for b in R for d in R])
        c = _fmpq(self.trace_coefficient)
        G = [[ric[a][b] - (scalar * gJ[a][b]).scale(c) for b in R] for a in R]
        return _covariant_divergence(gi, Gam, G, jet, n)

    # --- decisions
    def verdicts(self, p: SamplePoint) -> tuple[str, ...]:
        """The decision on every :math:`V_b` at ``p`` ("zero", "nonzero", "undecided"), the precision raised
        while any stays undecided."""
        return tuple(v for v, _ in self.divergence_decisions(p))

    def divergence_decisions(self, p: SamplePoint) -> tuple[tuple[str, Any], ...]:
        """(decision, value) of every :math:`V_b` at ``p`` (kept per point)."""
        hit = self._div_decisions.get(id(p))
        if hit is not None and hit[0] is p:
            return hit[1]
        import flint

        out: tuple = ()
        for prec in PRECISIONS:
            value, bound = self.divergence(p, prec)
            with flint.ctx.workprec(prec):
                out = tuple((self.decide(v, s), v) for v, s in zip(value, bound))
            if all(v != "undecided" for v, _ in out):
                break
        self._div_decisions[id(p)] = (p, out)
        return out


def _hessian_jet(jet: type, k: int, l: int, value: Any, gradient: list) -> _Jet:
    r"""The jet of :math:`\partial_k\partial_l g_{ab}`: its value and gradient
    :math:`\partial_m\partial_k\partial_l g_{ab}` (a seam for planted errors in tests)."""
    return jet(value, gradient)


def _covariant_divergence(gi: list, Gam: list, G: list, jet: type, n: int) -> list:
    r""":math:`V_b = g^{ac}(\partial_c G_{ab} - \Gamma^d{}_{ca} G_{db} - \Gamma^d{}_{cb} G_{ad})` from the values
    of :math:`g^{ac}`, the jets of :math:`\Gamma^d{}_{ca}` and :math:`G_{ab}` (values and gradients)."""
    import flint

    zero = flint.arb(0)
    nothing = [zero] * n
    out = []
    for b in range(n):
        acc = jet(zero, nothing)
        for a in range(n):
            for c in range(n):
                inner = jet(G[a][b].d[c], nothing)
                for d in range(n):
                    inner = inner - jet(Gam[d][c][a].v * G[d][b].v, nothing) - jet(Gam[d][c][b].v * G[a][d].v, nothing)
                acc = acc + jet(gi[a][c], nothing) * inner
        out.append(acc.v)
    return out


def _part(ddgJ: dict, e: int, k: int, a: int, b: int, zeroJ: _Jet) -> _Jet:
    r""":math:`\partial_e\partial_k g_{ab}` as a jet (zero when either coordinate is inactive)."""
    m = ddgJ.get((e, k))
    return m[a][b] if m is not None else zeroJ


def _fmpq(x: Fraction) -> Any:
    import flint

    return flint.fmpq(x.numerator, x.denominator)
