r"""Strategies for the quantum side: numbers on exact decimal grids, the learning parameters, potentials and
initial states (implementation of :mod:`nnqg.strategies`).

Every number is drawn on a decimal grid :math:`x = x_0 + k\,\delta` with an integer k, so that it prints
exactly (``0.35``, never ``0.35000000000000003``) and a formula written with it reads back, through
:func:`nnqg.derivations.parse_formula`, as the rational it denotes. Hypothesis shrinks k towards 0, so every
number shrinks towards its *anchor* :math:`x_0` (a simple value: 1, 0 or the textbook default), and a family
drawn with :func:`hypothesis.strategies.one_of` shrinks towards its first, simplest member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import sympy as sp
from hypothesis import strategies as st

from nnqg.derivations import parse_formula

Q = sp.Symbol("q", real=True)


def decimal_text(x: float | Fraction) -> str:
    """The shortest decimal text of ``x`` (its shortest round-trip repr; a trailing ``.0`` dropped).

    >>> decimal_text(0.35), decimal_text(Fraction(-3, 4)), decimal_text(2.0)
    ('0.35', '-0.75', '2')
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    s = repr(x)  # the shortest text that reads back as x; the parser reads it as the exact decimal
    return s[:-2] if s.endswith(".0") else s


def grid(lo: float | str, hi: float | str, step: float | str, anchor: float | str) -> st.SearchStrategy[float]:
    r"""Numbers :math:`a + k\,\delta` in ``[lo, hi]`` (``a`` = ``anchor``, :math:`\delta` = ``step``), computed in
    exact rationals and rounded once, shrinking towards ``anchor``.

    >>> from hypothesis import find
    >>> find(grid("0.05", "5", "0.05", "1"), lambda x: x > 2.3)
    2.35
    """
    lo_f, hi_f, st_f, a = (Fraction(str(v)) for v in (lo, hi, step, anchor))
    if not (lo_f <= a <= hi_f) or st_f <= 0:
        raise ValueError(f"grid: need lo <= anchor <= hi and step > 0, got {lo}, {anchor}, {hi}, {step}")
    kmin = math.ceil((lo_f - a) / st_f)
    kmax = math.floor((hi_f - a) / st_f)
    return st.integers(kmin, kmax).map(lambda k: float(a + k * st_f))


# ---------------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class LearningParameters:
    r"""The learning system's parameters: step size :math:`\gamma`, the Fisher coefficient c of the learning
    action, the noise strength D and the temperature T of the hidden neurons; with the paper's identification
    :math:`m = 1/\gamma`, :math:`\hbar^2 = c/\gamma` (docs/theory.md, section 3)."""

    gamma: float
    c: float
    D: float
    T: float

    @property
    def m(self) -> float:
        return 1.0 / self.gamma

    @property
    def hbar(self) -> float:
        return math.sqrt(self.c / self.gamma)


#: admissible ranges drawn by :func:`learning_parameters` (the theory needs each positive; the bounds keep the
#: calibrations' states resolved on their grids)
RANGES = {"gamma": ("0.05", "5", "0.05", "1"), "c": ("0.05", "5", "0.05", "1"), "D": ("0.01", "2", "0.01", "0.1"),
          "T": ("0.05", "5", "0.05", "1")}


def positive(name: str) -> st.SearchStrategy[float]:
    """One of the learning parameters ``gamma``, ``c``, ``D``, ``T`` over its admissible range (:data:`RANGES`)."""
    return grid(*RANGES[name])


@st.composite
def learning_parameters(draw: st.DrawFn) -> LearningParameters:
    """gamma, c, D and T, each over its range in :data:`RANGES`; m and hbar follow from the identification.

    >>> from hypothesis import find
    >>> p = find(learning_parameters(), lambda p: p.hbar > 2)
    >>> p.hbar > 2, p.m == 1 / p.gamma
    (True, True)
    """
    return LearningParameters(*(draw(positive(k)) for k in ("gamma", "c", "D", "T")))


# ---------------------------------------------------------------------------------------------- potentials

def linear_text(terms: Sequence[tuple[float, str]]) -> str:
    """The sum of ``coefficient*body`` terms written as a person would: zero terms dropped, unit coefficients
    omitted, signs folded (``q**2 - 0.5*q``); an empty body is a constant term; "0" for no terms.

    >>> linear_text([(1, "q**2"), (-0.5, "q"), (0, "q**3"), (-2, "")])
    'q**2 - 0.5*q - 2'
    """
    out = ""
    for c, body in terms:
        if c == 0:
            continue
        mag = decimal_text(abs(c))
        piece = mag if not body else (body if mag == "1" else f"{mag}*{body}")
        sign = "-" if c < 0 else "+"
        out = (f"-{piece}" if sign == "-" else piece) if not out else f"{out} {sign} {piece}"
    return out or "0"


def shifted(var: str, centre: float) -> str:
    """``(var - centre)`` written with the sign folded; the bare variable for centre 0."""
    return var if centre == 0 else f"({linear_text([(1, var), (-centre, '')])})"


@st.composite
def harmonic(draw: st.DrawFn) -> str:
    """:math:`k q^2/2`, k in [0.25, 4]."""
    k = draw(grid("0.25", "4", "0.25", "1"))
    return linear_text([(k, "q**2/2")])


@st.composite
def polynomials(draw: st.DrawFn, max_degree: int = 6) -> str:
    r"""Polynomials bounded below: :math:`\sum_{j\le n} a_j q^j` with an even degree n (4 or 6) and
    :math:`a_n > 0`, plus a harmonic part :math:`a_2 \ge 0`; odd terms tilt the well (V''' != 0)."""
    deg = draw(st.sampled_from([d for d in (4, 6) if d <= max_degree]))
    coef = {2: draw(grid("0", "2", "0.25", "0.5")), 1: draw(grid("-1", "1", "0.25", "0")),
            3: draw(grid("-1", "1", "0.1", "0")), deg: draw(grid("0.05", "1", "0.05", "0.1"))}
    if deg == 6:
        coef[4] = draw(grid("-0.5", "0.5", "0.05", "0"))
    return linear_text([(a, f"q**{j}" if j > 1 else "q") for j, a in sorted(coef.items())])


@st.composite
def poeschl_teller(draw: st.DrawFn) -> str:
    r"""Poeschl-Teller well :math:`-V_0/\cosh^2(a q)` (bounded below by :math:`-V_0`)."""
    v0 = draw(grid("0.25", "4", "0.25", "1"))
    a = draw(grid("0.25", "2", "0.25", "1"))
    return linear_text([(-v0, f"cosh({linear_text([(a, 'q')])})**(-2)")])


@st.composite
def morse(draw: st.DrawFn) -> str:
    r"""Morse potential :math:`D_e(1 - e^{-a(q - q_0)})^2` (bounded below by 0)."""
    de = draw(grid("0.25", "4", "0.25", "1"))
    a = draw(grid("0.25", "1", "0.05", "0.5"))
    q0 = draw(grid("-1", "1", "0.25", "0"))
    return linear_text([(de, f"(1 - exp({linear_text([(-a, shifted('q', q0))])}))**2")])


@st.composite
def double_wells(draw: st.DrawFn) -> str:
    r"""Double well :math:`\lambda (q^2 - a^2)^2 + \epsilon q` (a tilt :math:`\epsilon` makes it asymmetric)."""
    lam = draw(grid("0.05", "1", "0.05", "0.25"))
    a = draw(grid("0.5", "2", "0.25", "1"))
    eps = draw(grid("-0.5", "0.5", "0.1", "0"))
    return linear_text([(lam, f"({linear_text([(1, 'q**2'), (-a * a, '')])})**2"), (eps, "q")])


@st.composite
def gaussian_sums(draw: st.DrawFn) -> str:
    r"""A harmonic confinement plus one to three Gaussian bumps or dips:
    :math:`k q^2/2 + \sum_i A_i e^{-(q - c_i)^2/(2 w_i^2)}` (bounded below by :math:`-\sum |A_i|`)."""
    k = draw(grid("0.25", "2", "0.25", "1"))
    terms = [(k, "q**2/2")]
    for _ in range(draw(st.integers(1, 3))):
        amp = draw(grid("-2", "2", "0.25", "1").filter(lambda x: x != 0))
        c = draw(grid("-2", "2", "0.25", "0"))
        w = draw(grid("0.25", "1.5", "0.25", "0.5"))
        terms.append((amp, f"exp(-{shifted('q', c)}**2/{decimal_text(2 * w * w)})"))
    return linear_text(terms)


#: the potential families by name, simplest first (a family drawn by :func:`potentials` shrinks towards it)
POTENTIAL_FAMILIES = {"harmonic": harmonic, "polynomial": polynomials, "poeschl_teller": poeschl_teller,
                      "morse": morse, "double_well": double_wells, "gaussian_sum": gaussian_sums}


def potentials(families: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """Potentials V(q), bounded below, as formula strings in ``q`` (what a user gives to ``--potential``), from
    the named families (default: all of :data:`POTENTIAL_FAMILIES`). Parse one with :func:`potential_expr`.

    >>> from hypothesis import find
    >>> find(potentials(["polynomial"]), lambda v: "q**3" in v)
    '0.5*q**2 + 0.1*q**3 + 0.1*q**4'
    """
    names = list(POTENTIAL_FAMILIES) if families is None else list(families)
    unknown = [n for n in names if n not in POTENTIAL_FAMILIES]
    if unknown or not names:
        raise ValueError(f"potentials: unknown families {unknown}; known: {list(POTENTIAL_FAMILIES)}")
    return st.one_of(*[POTENTIAL_FAMILIES[n]() for n in names])


def potential_expr(text: str) -> sp.Expr:
    """A potential's formula parsed as a user's ``--potential`` is (the restricted parser, variable ``q``)."""
    return parse_formula(text, {"q": Q}, what="potential")


# ---------------------------------------------------------------------------------------------- initial states


@dataclass(frozen=True)
class GaussianState:
    r"""A Gaussian packet :math:`\psi_0 \propto e^{-(q - q_0)^2/(4 s_0^2) + i p_0 q/\hbar}`: centre ``q0``,
    width ``s0`` (of :math:`|\psi|^2`), momentum ``p0``."""

    s0: float
    q0: float
    p0: float

    def as_dict(self) -> dict[str, float]:
        return {"s0": self.s0, "q0": self.q0, "p0": self.p0}


@st.composite
def gaussian_states(draw: st.DrawFn, max_momentum: float = 1.0) -> GaussianState:
    """Gaussian packets: width in [0.25, 1], centre in [-1, 1], momentum in [-max_momentum, max_momentum]."""
    return GaussianState(s0=draw(grid("0.25", "1", "0.05", "0.5")), q0=draw(grid("-1", "1", "0.25", "0")),
                         p0=draw(grid(-max_momentum, max_momentum, "0.125", "0")))


@dataclass(frozen=True)
class InitialState:
    r"""An initial state :math:`\psi_0(q) = A(q)\,e^{i p_0 q/\hbar}` with a real amplitude A (a formula in q,
    unnormalised) and the number of its nodes (zeros of A): ``kind`` is ``gaussian``, ``excited`` (an
    oscillator eigenfunction :math:`H_n(\xi) e^{-\xi^2/2}`, n nodes) or ``superposition`` (ground plus first
    excited state with real weights: one node, where :math:`c_0 + \sqrt2 c_1 \xi = 0`)."""

    kind: str
    amplitude: str
    momentum: float
    nodes: int


def _hermite_text(n: int, xi: str) -> str:
    """Physicists' Hermite polynomial :math:`H_n` written out in the text ``xi``."""
    coeffs = sp.Poly(sp.hermite(n, sp.Symbol("x")), sp.Symbol("x")).all_coeffs()[::-1]
    terms = [f"{int(c)}*{xi}**{j}" if j > 1 else (f"{int(c)}*{xi}" if j == 1 else f"{int(c)}")
             for j, c in enumerate(coeffs) if c != 0]
    return "(" + " + ".join(terms).replace("+ -", "- ") + ")"


@st.composite
def initial_states(draw: st.DrawFn, kinds: Sequence[str] = ("gaussian", "excited", "superposition")) \
        -> InitialState:
    """Initial states of the named kinds (see :class:`InitialState`), centred in [-1, 1], width in [0.25, 1].

    >>> from hypothesis import find
    >>> s = find(initial_states(), lambda s: s.nodes == 1)
    >>> s.kind, s.amplitude
    ('excited', '(2*(q/0.5))*exp(-(q/0.5)**2/2)')
    """
    kind = draw(st.sampled_from(list(kinds)))
    g = draw(gaussian_states())
    xi = f"({shifted('q', g.q0)}/{decimal_text(g.s0)})"
    envelope = f"exp(-{xi}**2/2)"
    if kind == "gaussian":
        return InitialState(kind, envelope, g.p0, 0)
    if kind == "excited":
        n = draw(st.integers(1, 3))
        return InitialState(kind, f"{_hermite_text(n, xi)}*{envelope}", g.p0, n)
    c1 = draw(grid("-2", "2", "0.25", "1").filter(lambda x: x != 0))
    return InitialState(kind, f"({linear_text([(1, ''), (2 * c1, xi)])})*{envelope}", g.p0, 1)


def state_expr(state: InitialState) -> sp.Expr:
    """The amplitude of an :class:`InitialState` parsed by the restricted parser (variable ``q``)."""
    return parse_formula(state.amplitude, {"q": Q}, what="initial state amplitude")
