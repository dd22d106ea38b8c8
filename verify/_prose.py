r"""The claims' words in LaTeX: statements, assumptions, step titles and check labels.

A claim carries its statement, assumptions, step titles and check labels as plain ASCII (``dp/dt + gamma
div(p grad F) = 0``), the form the terminal prints. The paper and the HTML page need them as text with inline
math. Two layers:

* :func:`prose_tex` converts ASCII prose with inline formulas: words stay text; runs of formula tokens become
  ``$...$`` through :func:`math_tex`, which knows the project's ASCII conventions (``gamma`` -> :math:`\gamma`,
  ``x^2``, ``R_ab``, ``dp/dt`` -> :math:`\partial_t p`, ``d_q`` -> :math:`\partial_q`, ``grad``, ``div``, ``lap``,
  ``sqrt(p)``, ``E[.]``, ``Re``/``Im``, ``+-``, ``->``); identifiers of code (``euler_equations``) become
  typewriter text;
* hand-written LaTeX for the statements (:data:`STATEMENTS`), kept with the ASCII they render: when a claim's
  statement changes, the stale LaTeX is not used (the converter is) until the entry is updated, so the paper
  never prints a statement the claim no longer makes.

Implementation details that the terminal reports (``rational (flint fmpz_mpoly); chart c_theta = cos(theta)``)
are dropped from titles and check labels by :func:`strip_implementation`.

>>> math_tex("dp/dt + gamma div(p grad F) = 0")
'\\partial_t p + \\gamma \\nabla\\cdot(p \\nabla F) = 0'
>>> prose_tex("m = 1/gamma and hbar^2 = c/gamma (named parameters)")
'$m = 1/\\gamma$ and $\\hbar^{2} = c/\\gamma$ (named parameters)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ._latex import tex_escape

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
         "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta",
         "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "hbar", "nabla"}
#: ASCII operator words of the claims and their LaTeX
WORDS = {"grad": r"\nabla", "div": r"\nabla\cdot", "lap": r"\Delta", "box": r"\Box", "sqrt": r"\sqrt",
         "exp": r"\exp", "ln": r"\ln", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
         "atan2": r"\operatorname{atan2}", "arg": r"\arg", "Re": r"\operatorname{Re}", "Im": r"\operatorname{Im}",
         "Cov": r"\operatorname{Cov}", "diag": r"\operatorname{diag}", "int": r"\int", "integral": r"\int",
         "sum_ij": r"\sum_{ij}", "sum": r"\sum", "dOmega": r"d\Omega", "o": r"\circ", "nabla": r"\nabla",
         "infinity": r"\infty", "dagger": r"\dagger", "curl": r"\nabla\times"}
OPS = {"->": r"\to ", "!=": r"\neq ", "<=": r"\le ", ">=": r"\ge ", "+-": r"\pm ", "~": r"\sim ", "*": r"\,",
       "<": "<", ">": ">"}

_TOKEN = re.compile(r"""
    (?P<num>\d+(?:\.\d+)?(?:e-?\d+)?)
  | (?P<deriv>d(?:\^(?P<dn>\d))?(?P<df>[A-Za-z]\w*(?:\^\w)?(?:\([^()]*\))?|\([^()]*\))?/d(?P<dv>[A-Za-z](?:_[a-z])?)(?:\^(?P<dm>\d))?(?![A-Za-z]))
  | (?P<partial>d_(?P<pv>[a-z]{1,2})(?![A-Za-z]))
  | (?P<ident>[A-Za-z][A-Za-z0-9]*(?:'+)?)
  | (?P<script>[_^](?:\{[^{}]*\}|\((?:[^()]|\([^()]*\))*\)|[A-Za-z0-9+\-]+))
  | (?P<op>->|!=|<=|>=|\+-|[-+*/=<>~|,;:!'])
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<space>\s+)
""", re.X)


def _ident(name: str) -> str:
    primes = name[len(name.rstrip("'")):]
    name = name.rstrip("'")
    if name in GREEK:
        return "\\" + name + primes
    if name in WORDS:
        return WORDS[name] + primes
    m = re.fullmatch(r"([A-Za-z])(\d+)", name)
    if m:  # q1, z0: an indexed name
        return f"{m.group(1)}_{{{m.group(2)}}}{primes}"
    if re.fullmatch(r"d[a-zA-Z]", name):  # a differential: dt, dq, dx
        return name + primes
    if re.fullmatch(r"i[A-Z]", name):  # iF: i times F
        return f"i {name[1]}{primes}"
    return name + primes if len(name) == 1 or name.isupper() and len(name) <= 3 else rf"\mathrm{{{name}}}{primes}"


def _script(s: str) -> str:
    body = s[1:]
    if body.startswith("{") or body.startswith("("):
        inner = body[1:-1]
    else:
        inner = body
    if re.fullmatch(r"[A-Za-z0-9]+", inner):  # index letters: R_ab, G^mn
        conv = "\\" + inner if inner in GREEK else WORDS.get(inner, inner)
    else:
        conv = math_tex(inner)
    return f"{s[0]}{{{conv}}}"


def math_tex(s: str) -> str:
    r"""An ASCII formula of the claims as LaTeX math (no dollars); see the module docstring.

    >>> math_tex("G_mn + Lambda g_mn = 8 pi T_mn")
    'G_{mn} + \\Lambda g_{mn} = 8 \\pi T_{mn}'
    >>> math_tex("i hbar dpsi/dt = -(hbar^2/2m) lap psi + V psi")
    'i \\hbar \\partial_t \\psi = -(\\hbar^{2}/2m) \\Delta \\psi + V \\psi'
    >>> math_tex("d^2x^m/ds^2 + Gamma^m_ab dx^a/ds dx^b/ds = 0")
    '\\frac{d^{2}x^{m}}{ds^{2}} + \\Gamma^{m}{}_{ab} \\frac{dx^{a}}{ds} \\frac{dx^{b}}{ds} = 0'
    """
    out: list[str] = []
    pos = 0
    prev_script = ""
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            out.append(tex_escape(s[pos]))
            pos += 1
            continue
        kind, tok = m.lastgroup, m.group(0)
        pos = m.end()
        if kind in ("dn", "df", "dv", "dm", "pv"):
            kind = "deriv"
        if m.group("deriv"):
            out.append(_deriv(m))
        elif m.group("partial"):
            out.append(rf"\partial_{{{m.group('pv')}}}" if len(m.group("pv")) > 1 else rf"\partial_{m.group('pv')}")
        elif kind == "ident":
            nxt = s[pos:pos + 1]
            if tok == "sqrt" and nxt in ("(", " "):
                arg, pos = _sqrt_arg(s, pos)
                out.append(rf"\sqrt{{{math_tex(arg)}}}")
            elif tok == "E" and nxt == "[":
                out.append(r"\mathbb{E}")
            else:
                out.append(_ident(tok))
        elif kind == "script":
            sc = _script(tok)
            # G^a_t: an upper then a lower index on the same symbol keep their horizontal order
            if sc[0] == "_" and prev_script == "^":
                sc = "{}" + sc
            out.append(sc)
        elif kind == "op":
            out.append(OPS.get(tok, tok))
        elif kind == "space":
            out.append(" ")
        else:
            out.append(tok)
        prev_script = tok[0] if kind == "script" else ""
    text = "".join(out)
    text = re.sub(r"(\\[A-Za-z]+) (?=[A-Za-z(\\])", r"\1 ", text)
    return re.sub(r"\s+", " ", text).strip()


def _balanced(s: str, i: int, pair: str) -> tuple[str, int]:
    """The group opened by ``s[i] == pair[0]`` (nested, backslash escapes skipped) and the index after it."""
    depth, j = 0, i
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        depth += {pair[0]: 1, pair[1]: -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1:j], j + 1
        j += 1
    return s[i + 1:], len(s)


def _sqrt_arg(s: str, pos: int) -> tuple[str, int]:
    if s[pos:pos + 1] == "(":
        return _balanced(s, pos, "()")
    m = re.match(r"\s*([A-Za-z]\w*)", s[pos:])
    return (m.group(1), pos + m.end()) if m else ("", pos)


def _deriv(m: re.Match[str]) -> str:
    n, f, v, mm = m.group("dn"), m.group("df"), m.group("dv"), m.group("dm")
    if f is None:  # d/dt
        return rf"\frac{{d}}{{d{v}}}"
    if f.startswith("("):  # d(E)/ds
        return rf"\frac{{d}}{{d{v}}}\left({math_tex(f[1:-1])}\right)"
    if not re.fullmatch(r"[a-z]", v):  # dL/dF_q: a partial derivative by a field
        return rf"\partial {math_tex(f)}/\partial {math_tex(v)}"
    if f in ("x", "s") or re.fullmatch(r"x\^?\w?", f or "") or (v == "s"):
        # a total derivative along a curve: dx^a/ds, d^2x^m/ds^2
        top = (f"d^{{{n}}}" if n else "d") + math_tex(f.replace("^", "^"))
        bottom = f"d{v}" + (f"^{{{mm}}}" if mm else "")
        return rf"\frac{{{top}}}{{{bottom}}}"
    order = f"^{{{n}}}" if n else ""
    return rf"\partial_{v}{order} {math_tex(f)}"


# ------------------------------------------------------------------------------------------------ prose

_MATHY = re.compile(r"[\^_=+*/<>|()\[\]]|\d[A-Za-z]|[A-Za-z]\d|^[-+]?[A-Za-z]'*$")
_PROSE_SHORT = {"a", "A", "I", "an", "as", "at", "be", "by", "in", "is", "it", "of", "on", "or", "to", "up", "we",
                "no", "if", "so", "do", "and", "the", "for", "not", "i.e.", "e.g."}
#: operator words that are math when a formula is next to them
_OP_WORDS = {"grad", "div", "lap", "sqrt", "arg", "Re", "Im", "exp", "ln", "log", "curl", "box", "det", "tr",
             "integral", "int"}
_SIGNS = ("-", "+", "=", "->", "<=", ">=", "!=", "+-", "~", "*", "/", "<", ">", "o")


def _kind(w: str) -> str:
    """'math', 'prose', 'code', 'op' (joins a neighbouring formula) or 'num' (joins a formula before it)."""
    core = w.strip(".,;:")
    bare = core.strip("()[]'")
    if not core:
        return "prose"
    if core in _SIGNS:
        return "op"
    if re.fullmatch(r"`[^`]+`[.,;:)]*|\(?--[a-z][\w-]*\)?", core) or re.fullmatch(r"[a-z]+\.[a-z_]+", bare):
        return "code"  # `block`, --potential, a claim id
    if bare == "a" and core == w.strip(".,;:") and w.startswith("(") and not w.endswith(")"):
        return "maybe"
    if bare.lower() in _PROSE_SHORT or re.fullmatch(r"\d+(st|nd|rd|th)", bare):
        return "maybe" if bare == "a" else "prose"
    if re.fullmatch(r"-?\d+(?:\.\d+)?", bare):
        return "num"
    if bare in GREEK:
        return "math"
    if bare in _OP_WORDS:
        return "op"
    if re.fullmatch(r"[A-Za-z]+(?:-[A-Za-z]+)+", bare):  # Euler-Lagrange, mini-batch, second-order
        return "prose"
    parts = bare.split("_")
    if len(parts) > 1 and all(re.fullmatch(r"[a-z]+", x) for x in parts):
        # euler_equations, network_speed are code; sum_ij, lambda_q, box_g, g_mn, u_tt are math
        code = len(parts[0]) >= 3 and parts[0] not in GREEK and parts[0] not in ("sum", "box") \
            and any(len(x) >= 3 for x in parts[1:])
        return "code" if code else "math"
    if re.fullmatch(r"d[b-df-hj-np-z]|d[A-Z]", bare):  # a differential (dt, dq, dU; not "de")
        return "math"
    if re.fullmatch(r"[A-Za-z]{3,}\d*", bare):  # an ordinary word (or a name such as DOP853)
        return "prose"
    return "math" if (_MATHY.search(core) and re.search(r"[A-Za-z0-9]", core)) else "prose"


def _classify(toks: list[str]) -> list[str]:
    kinds = [_kind(w) for w in toks]
    for i, k in enumerate(kinds):  # "a" is the variable a when a formula goes on after it
        if k == "maybe":
            nxt = kinds[i + 1] if i + 1 < len(kinds) else "prose"
            kinds[i] = "math" if nxt in ("op", "math") else "prose"
    out = list(kinds)
    for i, k in enumerate(kinds):
        if k == "num":
            after = i + 1 < len(kinds) and kinds[i + 1] == "math"
            out[i] = "math" if (i > 0 and out[i - 1] == "math") or after else "prose"
    changed = True
    while changed:  # operators join the formula next to them (either side)
        changed = False
        for i, k in enumerate(kinds):
            if k == "op" and out[i] == "op":
                left = i > 0 and out[i - 1] == "math"
                right = i + 1 < len(out) and out[i + 1] in ("math", "num", "op") and kinds[i + 1] != "prose"
                if left or (right and i + 1 < len(out) and out[i + 1] == "math"):
                    out[i] = "math"
                    changed = True
                    if i + 1 < len(out) and kinds[i + 1] == "num":
                        out[i + 1] = "math"
    return ["prose" if k in ("op", "num") else k for k in out]


def prose_tex(text: str) -> str:
    r"""ASCII prose with inline formulas -> LaTeX text (see the module docstring).

    >>> prose_tex("p > 0 on the support of the ensemble")
    '$p > 0$ on the support of the ensemble'
    >>> prose_tex("Euler-Lagrange, variation in F (SymPy euler_equations)")
    'Euler-Lagrange, variation in $F$ (SymPy \\texttt{euler\\_equations})'
    """
    toks = [w for w in re.split(r"\s+", str(text)) if w]
    kinds = _classify(toks)
    out: list[str] = []
    i = 0
    while i < len(toks):
        if kinds[i] == "code":
            w = toks[i]
            lead = w[:len(w) - len(w.lstrip("("))]
            core = w.strip("(),.;:`")
            trail = w[len(w.rstrip("),.;:`")):].replace("`", "")
            out.append(tex_escape(lead) + r"\texttt{" + tex_escape(core) + "}" + tex_escape(trail))
            i += 1
            continue
        if kinds[i] == "prose":
            out.append(tex_escape(toks[i]))
            i += 1
            continue
        j = i
        while j < len(toks) and kinds[j] == "math":
            j += 1
        lead, core, trail = _split_punct(" ".join(toks[i:j]))
        out.append(tex_escape(lead) + f"${math_tex(core)}$" + tex_escape(trail))
        i = j
    return " ".join(out)


def _split_punct(span: str) -> tuple[str, str, str]:
    """Sentence punctuation around a formula stays outside the math: a trailing , ; : . and unbalanced
    parentheses."""
    trail = ""
    while span and span[-1] in ",;:." and not span.endswith("..."):
        trail = span[-1] + trail
        span = span[:-1]
    lead = ""
    while span.startswith("(") and span.count("(") > span.count(")"):
        lead += "("
        span = span[1:]
    while span.endswith(")") and span.count(")") > span.count("("):
        trail = ")" + trail
        span = span[:-1]
    return lead, span, trail


# ------------------------------------------------------------------------------------ implementation detail

_IMPL = re.compile(r"\s*\((?:rational|exact|float|sympy|flint)[^()]*(?:\([^()]*\)[^()]*)*\)")


def strip_implementation(text: str) -> str:
    """Drop the engine's implementation notes from a title or check label (the arithmetic used, the chart,
    the jet variables): they are the program's business, not the claim's.

    >>> strip_implementation("Kerr: R_ab = 0 (rational (flint fmpz_mpoly); chart c_theta = cos(theta))")
    'Kerr: R_ab = 0'
    """
    return _IMPL.sub("", text).strip()


# ----------------------------------------------------------------------------------------- the statements

#: hand-written LaTeX of each claim's statement, with the ASCII statement it renders (used only while equal)
STATEMENTS: Mapping[str, tuple[str, str]] = {
    'learning.fokker_planck': (
        'An ensemble of networks trained by mini-batch SGD has a parameter density obeying dp/dt = gamma div(p '
        'grad U) + sum_ij d_i d_j (D_ij(q) p), D = gamma^2 Sigma(q)/(2B) measured from the per-example '
        'gradient covariance (Kramers-Moyal limit of the SGD step).',
        'An ensemble of networks trained by mini-batch SGD has a parameter density obeying $\\partial_t p = '
        '\\gamma\\,\\nabla\\!\\cdot(p\\nabla U) + \\sum_{ij}\\partial_i\\partial_j\\big(D_{ij}(q)\\,p\\big)$ '
        'with $D = \\gamma^2\\Sigma(q)/(2B)$ measured from the per-example gradient covariance $\\Sigma$ (the '
        'Kramers--Moyal limit of the SGD step).'),
    'madelung.continuity': (
        'Varying the learning action in the free energy F gives the continuity equation dp/dt + gamma div(p '
        "grad F) = 0, Madelung's continuity equation with m = 1/gamma.",
        'Varying the learning action in the free energy $F$ gives the continuity equation $\\partial_t p + '
        "\\gamma\\,\\nabla\\!\\cdot(p\\nabla F) = 0$, Madelung's continuity equation with $m = 1/\\gamma$."),
    'madelung.hamilton_jacobi': (
        'Varying the learning action in the density p gives the quantum Hamilton-Jacobi equation dF/dt + '
        "(gamma/2)|grad F|^2 + V - (c/2) lap(sqrt p)/sqrt p = 0, i.e. Madelung's with Bohm's quantum "
        'potential, hbar^2 = c/gamma.',
        'Varying the learning action in the density $p$ gives the quantum Hamilton--Jacobi equation '
        '$\\partial_t F + \\frac{\\gamma}{2}|\\nabla F|^2 + V - \\frac{c}{2}\\,\\Delta\\sqrt{p}/\\sqrt{p} = '
        "0$, Madelung's equation with Bohm's quantum potential when $\\hbar^2 = c/\\gamma$."),
    'schrodinger.equivalence': (
        'psi = sqrt(p) exp(iF/hbar) maps the Madelung pair to i hbar dpsi/dt = -(hbar^2/2m) lap psi + V psi '
        'and back: Re(S/psi) = -(quantum Hamilton-Jacobi), Im(S/psi) = hbar/(2p) (continuity); a '
        "Crank-Nicolson solution's |psi|^2 and hbar arg psi satisfy the Madelung pair at order 2.",
        '$\\psi = \\sqrt{p}\\,e^{iF/\\hbar}$ maps the Madelung pair to $i\\hbar\\,\\partial_t\\psi = '
        '-\\frac{\\hbar^2}{2m}\\Delta\\psi + V\\psi$ and back: with $S$ the Schr\\"odinger residual, '
        '$\\operatorname{Re}(S/\\psi)$ is minus the quantum Hamilton--Jacobi equation and '
        '$\\operatorname{Im}(S/\\psi)$ is $\\hbar/(2p)$ times the continuity equation; a Crank--Nicolson '
        "solution's $|\\psi|^2$ and $\\hbar\\arg\\psi$ satisfy the Madelung pair at order 2."),
    'schrodinger.quantisation': (
        'For a state with a vortex, psi ~ (z - z0)^n exp(-|z|^2), the circulation of grad F (F = hbar arg psi) '
        'around any loop enclosing the node is 2 pi hbar n, n an integer (0 for loops that do not enclose it).',
        'For a state with a vortex, $\\psi \\sim (z - z_0)^n e^{-|z|^2}$, the circulation of $\\nabla F$ ($F = '
        '\\hbar\\arg\\psi$) around any loop enclosing the node is $2\\pi\\hbar n$ with $n$ an integer ($0$ for '
        'loops that do not enclose it).'),
    'schrodinger.wallstrom_counterexample': (
        'Wallstrom: p = r^(2|a|) exp(-m w r^2/hbar), F = hbar a theta - E t in V = m w^2 r^2/2 solves both '
        'Madelung equations for non-integer a, yet its circulation 2 pi hbar a is not quantised and no '
        'single-valued psi exists: Madelung alone is weaker than Schrodinger.',
        'Wallstrom: $p = r^{2|a|}e^{-m\\omega r^2/\\hbar}$, $F = \\hbar a\\theta - Et$ in $V = '
        'm\\omega^2r^2/2$ solves both Madelung equations for non-integer $a$, yet its circulation $2\\pi\\hbar '
        "a$ is not quantised and no single-valued $\\psi$ exists: Madelung's equations alone are weaker than "
        'Schr\\"odinger\'s.'),
    'lorentz.wave_equation': (
        'A network whose weight matrix is a shift (permutation) matrix, simulated by its activation dynamics, '
        'has block-averaged states obeying the wave equation u_tt - c^2 u_xx = 0; the residual shrinks with '
        'network size (measured order ~2).',
        'A network whose weight matrix is a shift (permutation) matrix, simulated by its activation dynamics, '
        'has block-averaged states obeying the wave equation $\\partial_t^2 u - c^2\\partial_x^2 u = 0$; the '
        'residual shrinks with network size (measured order about 2).'),
    'lorentz.boost_invariance': (
        'The wave equation and its action are invariant under Lorentz boosts in 1+1 and 3+1 dimensions '
        '(exact); a boosted solution is still a solution (residual -> 0 at the finite-difference order).',
        'The wave equation and its action are invariant under Lorentz boosts in $1+1$ and $3+1$ dimensions '
        '(exactly); a boosted solution is still a solution (the residual tends to $0$ at the order of the '
        'finite differences).'),
    'spacetime.emergent_metric': (
        'A network with position-dependent local couplings c(x) gives the optical metric ds^2 = -c(x)^2 dt^2 + '
        "dx^2: its update tends to the metric's wave equation, and the local propagation speed measured on the "
        'simulated network matches c(x).',
        'A network with position-dependent local couplings $c(x)$ gives the optical metric $ds^2 = -c(x)^2dt^2 '
        "+ dx^2$: its update tends to the metric's wave equation, and the local propagation speed measured on "
        'the simulated network matches $c(x)$.'),
    'geodesic.equation': (
        'The Euler-Lagrange equations of the length functional integral sqrt(-g_mn dx^m/ds dx^n/ds) ds are the '
        'geodesic equation d^2x^m/ds^2 + Gamma^m_ab dx^a/ds dx^b/ds = 0 for an affine parameter, with '
        'Gamma^m_ab = (1/2) g^mn (d_a g_nb + d_b g_na - d_n g_ab).',
        'The Euler--Lagrange equations of the length functional $\\int '
        'ds\\,\\sqrt{-g_{mn}\\,\\frac{dx^m}{ds}\\frac{dx^n}{ds}}$ are the geodesic equation '
        '$\\frac{d^2x^m}{ds^2} + \\Gamma^m{}_{ab}\\frac{dx^a}{ds}\\frac{dx^b}{ds} = 0$ for an affine parameter '
        '$s$, with $\\Gamma^m{}_{ab} = \\frac12 g^{mn}(\\partial_a g_{nb} + \\partial_b g_{na} - \\partial_n '
        'g_{ab})$.'),
    'geodesic.wave_packet': (
        'The centroid of a narrow packet of neuron activity in that network follows the null geodesic of the '
        'emergent metric; the error shrinks as the packet narrows relative to the scale of c(x) while it is '
        'resolved by more neurons (rate reported).',
        'The centroid of a narrow packet of neuron activity in that network follows the null geodesic of the '
        'emergent metric; the error shrinks as the packet narrows relative to the scale of $c(x)$ while more '
        'neurons resolve it (the rate is reported).'),
    'geodesic.conservation': (
        'Schwarzschild geodesics conserve E = f dt/ds, L = r^2 dphi/ds (L_z and L^2 for inclined orbits) and '
        "the norm g_mn u^m u^n; integrated with the generated kernels they do so to the integrator's tolerance.",
        'Schwarzschild geodesics conserve $E = f\\,\\frac{dt}{ds}$, $L = r^2\\frac{d\\phi}{ds}$ ($L_z$ and '
        '$L^2$ for inclined orbits) and the norm $g_{mn}u^mu^n$; integrated with the generated kernels they do '
        "so to the integrator's tolerance."),
    'einstein.field_equations': (
        'Varying S = (1/16 pi G) integral sqrt(-g) (R - 2 Lambda) in the metric gives G_mn + Lambda g_mn (G_mn '
        '= R_mn - R g_mn / 2); a numerical functional derivative of the discretised action agrees at O(h^2).',
        'Varying $S = \\frac{1}{16\\pi G}\\int d^4x\\,\\sqrt{-g}\\,(R - 2\\Lambda)$ in the metric gives '
        '$G_{mn} + \\Lambda g_{mn}$, with $G_{mn} = R_{mn} - \\frac12 R\\,g_{mn}$; a numerical functional '
        'derivative of the discretised action agrees at $O(h^2)$.'),
    'einstein.vacuum_solutions': (
        'Known solutions have exactly zero residual: Minkowski, Schwarzschild, Kerr (R_mn = 0); de Sitter, '
        'Schwarzschild-de Sitter (f = 1 - 2M/r - Lambda r^2/3), FLRW with H^2 = Lambda/3, Kerr-de Sitter (G_mn '
        '+ Lambda g_mn = 0); Reissner-Nordstrom with its Maxwell stress tensor (G_mn = 8 pi T_mn).',
        'Known solutions have exactly zero residual: Minkowski, Schwarzschild and Kerr ($R_{mn} = 0$); de '
        'Sitter, Schwarzschild--de Sitter ($f = 1 - 2M/r - \\Lambda r^2/3$), FLRW with $H^2 = \\Lambda/3$ and '
        'Kerr--de Sitter ($G_{mn} + \\Lambda g_{mn} = 0$); Reissner--Nordstr\\"om with its Maxwell stress '
        'tensor ($G_{mn} = 8\\pi T_{mn}$).'),
    'einstein.bianchi': (
        'The contracted Bianchi identity nabla_m G^mn = 0 holds identically.',
        'The contracted Bianchi identity $\\nabla_m G^{mn} = 0$ holds identically.'),
    'duality.report': (
        'One network, two descriptions: its trainable read-out obeys the Fokker-Planck (learning) description '
        'and its neuron states the wave equation of an emergent Minkowski space-time; both checked on the same '
        'network and reported side by side.',
        'One network, two descriptions: its trainable read-out obeys the Fokker--Planck (learning) description '
        'and its neuron states the wave equation of an emergent Minkowski space-time; both are checked on the '
        'same network and reported side by side.'),
}


def statement_tex(claim_id: str, statement: str) -> str:
    """The claim's statement in LaTeX: the hand-written form while it renders the current ASCII statement,
    otherwise the converter's."""
    entry = STATEMENTS.get(claim_id)
    if entry is not None and entry[0] == statement:
        return entry[1]
    return prose_tex(statement)




# ------------------------------------------------------------------------------------------- check families

_PREFIX = re.compile(r"^(?:(?:quantum|gravitational) side(?: \([^)]*\))?: )?(?P<inst>(?:[A-Za-z]+=-?\d+(?:, )?)+"
                     r"(?: (?:forward|backward))?|\d\+\d)\s*:\s*")


@dataclass(frozen=True)
class Family:
    """Checks that state the same identity for different instances (K = 1, 2; each metric; each component):
    ``text`` is the identity (ASCII, from the first member), ``instances`` what varies, ``n`` how many there are
    and ``failing`` the labels of members that did not reduce to 0."""

    text: str
    instances: tuple[str, ...]
    n: int
    failing: tuple[str, ...] = ()
    fact: bool = False

    @property
    def ok(self) -> bool:
        return not self.failing


def _split_label(label: str) -> tuple[str, str]:
    """(instance, identity) of a check label: ``"K=1: text"`` -> ("K=1", "text"); ``"Schwarzschild: text"`` ->
    ("Schwarzschild", "text"); a trailing ``, component t`` or ``(t even)`` is part of the instance."""
    label = strip_implementation(label)
    side = ""
    m = re.match(r"^((?:quantum|gravitational) side)(?: \(([^)]*)\))?: ", label)
    if m:
        side = m.group(1)
        label = label[m.end():]
    inst, text = "", label
    m = _PREFIX.match(label)
    if m:
        inst, text = m.group("inst"), label[m.end():]
    elif ": " in label and len(label.split(": ", 1)[0]) <= 48 and "=" not in label.split(": ", 1)[0]:
        inst, text = label.split(": ", 1)
    m = re.search(r"(?:, component (\w+)|\s\((\w+(?: even| odd)?)\))$", text)
    if m and (m.group(1) or re.fullmatch(r"\w( even| odd)?", m.group(2) or "")):
        inst = ", ".join(x for x in (inst, m.group(1) or m.group(2)) if x)
        text = text[:m.start()]
    if side:
        text = f"{side}: {text}"
    return inst, text


def _family_key(text: str) -> str:
    return re.sub(r"(?<=[_^])\w+|\b\d+\b", "#", text)


def check_families(checks: Sequence[tuple[str, Any]], facts: Sequence[tuple[str, bool]] = ()) -> list[Family]:
    """Group a claim's checks (label, remainder) and facts (label, shown) into families, in order of first
    appearance.

    >>> fams = check_families([("K=1: EL minus stated", 0), ("K=2: EL minus stated", 0), ("K=1: other", 1)])
    >>> [(f.text, f.instances, f.n, f.ok) for f in fams]
    [('EL minus stated', ('K=1', 'K=2'), 2, True), ('other', ('K=1',), 1, False)]
    """
    groups: dict[tuple[bool, str], list[tuple[str, str, bool]]] = {}
    for is_fact, items in ((False, checks), (True, facts)):
        for label, value in items:
            inst, text = _split_label(label)
            ok = bool(value) if is_fact else (value == 0)
            groups.setdefault((is_fact, _family_key(text)), []).append((inst, text if not groups.get(
                (is_fact, _family_key(text))) else groups[(is_fact, _family_key(text))][0][1], ok, label))
    out = []
    for (is_fact, _), members in groups.items():
        insts = tuple(dict.fromkeys(m[0] for m in members if m[0]))
        text = members[0][1]
        labels = [strip_implementation(m[3]) for m in members]
        if len(members) > max(len(insts), 1):  # an index varies inside each instance: show it as i, j (or b)
            text = _generic_indices(text, [_split_label(lab)[1] for lab in labels])
        out.append(Family(text, insts, len(members), tuple(m[3] for m in members if not m[2]), is_fact))
    return out


def _generic_indices(text: str, variants: Sequence[str]) -> str:
    """Subscripts and superscripts that differ between the members of a family become generic indices."""
    pat = re.compile(r"(?<=[_^])\w+")
    spans = [list(pat.finditer(v)) for v in variants]
    if any(len(s) != len(spans[0]) for s in spans):
        return text
    out, last = [], 0
    for k, m in enumerate(spans[0]):
        values = {s[k].group(0) for s in spans}
        out.append(text[last:m.start()])
        if len(values) > 1:
            v = m.group(0)
            out.append("ij"[:len(v)] if v.isdigit() and len(v) <= 2 else "b")
        else:
            out.append(m.group(0))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def instances_tex(instances: Sequence[str], limit: int = 4) -> str:
    """The instances of a family in words: all of them when few, else their number."""
    if not instances:
        return ""
    if len(instances) > limit:
        return f"{len(instances)} cases"
    return "; ".join(prose_tex(i) for i in instances)


# ------------------------------------------------------------------------------------------------ notation

#: the paper's notation table: (symbol in LaTeX, meaning, where it enters)
NOTATION: tuple[tuple[str, str, str], ...] = (
    (r"$q = (q_1, \dots, q_K)$", "trainable variables (biases and weights)", r"\S 2--4"),
    (r"$t$", "time, in SGD steps", r"\S 2--4"),
    (r"$p(t, q)$", "density of an ensemble of networks", r"\S 2--4"),
    (r"$F(t, q)$", "free energy of the hidden neurons (the phase)", r"\S 3--4"),
    (r"$U(q)$, $V(q)$", "averaged loss; potential of the Madelung and Schr\\\"odinger equations", r"\S 2--4"),
    (r"$\gamma$, $B$", "SGD step size; mini-batch size", r"\S 2"),
    (r"$\Sigma(q)$, $D = \gamma^2\Sigma/(2B)$", "per-example gradient covariance; SGD diffusion", r"\S 2"),
    (r"$c$", "coefficient of the Fisher-information term of the action (\\S 3); speed of the emergent light cone "
             "(\\S 5--6)", r"\S 3, 5, 6"),
    (r"$m = 1/\gamma$, $\hbar^2 = c/\gamma$", "the Madelung identification (a convention, named parameters)",
     r"\S 3--4"),
    (r"$\nu = \hbar\gamma/2$", "Nelson's diffusion constant; $u = \\nu\\nabla\\ln p$, $v = \\gamma\\nabla F$",
     r"\S 4"),
    (r"$\psi = \sqrt{p}\,e^{iF/\hbar}$", "the Madelung wave function", r"\S 4"),
    (r"$\partial_q$, $\partial_q^2$, $\nabla$, $\Delta$", "partial derivatives; gradient and Laplacian in $q$",
     "all"),
    (r"$x^a$, $g_{ab}$, $g^{ab}$", "coordinates; metric of signature $(-,+,\\dots,+)$ and its inverse",
     r"\S 5--8"),
    (r"$\Gamma^a{}_{bc}$, $R_{ab}$, $R$", "Christoffel symbols; Ricci tensor and scalar", r"\S 7--8"),
    (r"$G_{ab} = R_{ab} - \frac12 R g_{ab}$, $\Lambda$", "Einstein tensor; cosmological constant", r"\S 8"),
    (r"$u^a = dx^a/ds$", "four-velocity along a curve with affine parameter $s$", r"\S 7"),
    (r"$\mathcal{X}_k$", "a named subexpression of a long equation, defined below it", "all"),
)




# ----------------------------------------------------------------------------------------------- HTML text

_HTML_CMDS = {"gamma": "γ", "hbar": "ħ", "nu": "ν", "mu": "μ", "lambda": "λ", "Lambda": "Λ", "psi": "ψ", "phi": "φ",
              "theta": "θ", "alpha": "α", "beta": "β", "omega": "ω", "sigma": "σ", "Sigma": "Σ", "tau": "τ",
              "rho": "ρ", "pi": "π", "Gamma": "Γ", "Delta": "Δ", "delta": "δ", "epsilon": "ε", "eta": "η", "xi": "ξ",
              "chi": "χ", "kappa": "κ", "zeta": "ζ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "Theta": "Θ", "Pi": "Π",
              "nabla": "∇", "partial": "∂", "cdot": "·", "pm": "±", "to": "→", "le": "≤", "ge": "≥", "neq": "≠",
              "sim": "∼", "infty": "∞", "Box": "□", "circ": "∘", "times": "×", "dagger": "†", "int": "∫",
              "sum": "∑", "exp": "exp", "ln": "ln", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan",
              "arg": "arg", "dots": "…", "ldots": "…", "quad": " ", ",": " ", "!": "", ";": " ", " ": " ",
              "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "", "Schr": "Schr"}


def math_html(tex: str) -> str:
    """LaTeX math of :func:`math_tex` (and of the hand-written statements) as HTML text: Greek and operators as
    Unicode, scripts as ``<sub>``/``<sup>``, fractions as ``a/b``, roots as √."""
    import html as _html

    out: list[str] = []
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            cmd = m.group(1)
            i += m.end()
            if cmd in ("frac", "tfrac", "dfrac"):
                a, i = _brace(tex, i)
                b, i = _brace(tex, i)
                out.append(f"({_wrap(math_html(a))}/{_wrap(math_html(b))})")
            elif cmd == "sqrt":
                a, i = _brace(tex, i)
                out.append(f"√{_wrap(math_html(a))}")
            elif cmd in ("mathrm", "operatorname", "text", "mathcal", "mathbb", "textrm"):
                a, i = _brace(tex, i)
                out.append("𝔼" if (cmd == "mathbb" and a == "E") else _html.escape(a))
            elif cmd in ("{", "}"):
                out.append(cmd)
            else:
                out.append(_HTML_CMDS.get(cmd, _html.escape(cmd)))
        elif ch in "_^":
            a, i = _brace(tex, i + 1)
            tag = "sub" if ch == "_" else "sup"
            out.append(f"<{tag}>{math_html(a)}</{tag}>")
        elif ch in "{}":
            i += 1
        else:
            out.append(_html.escape(ch))
            i += 1
    return "".join(out)


def _brace(s: str, i: int) -> tuple[str, int]:
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        return _balanced(s, i, "{}")
    m = re.match(r"\\[A-Za-z]+|.", s[i:])
    return (m.group(0), i + m.end()) if m else ("", i)


def _wrap(h: str) -> str:
    return h if re.fullmatch(r"[\w.∂∇√ħγ]+|<su[bp]>.*</su[bp]>", h) or len(h) <= 1 else f"({h})"


_TEXT_UNESCAPE = [(r"\textbar{}", "|"), (r"\textgreater{}", ">"), (r"\textless{}", "<"),
                  (r"\textasciicircum{}", "^"), (r"\textasciitilde{}", "~"), (r"\textbackslash{}", "\\"),
                  (r"\_", "_"), (r"\&", "&"), (r"\%", "%"), (r"\$", "$"), (r"\#", "#"), (r"\{", "{"), (r"\}", "}"),
                  ("--", "–"), ("``", "“"), ("''", "”"), (r'\"o', "ö")]


def tex_text_html(tex: str) -> str:
    """LaTeX text with inline ``$...$`` math (the output of :func:`prose_tex`, or a hand-written statement) as
    HTML: math through :func:`math_html` in ``<span class="m">``, ``\\texttt`` as ``<code>``."""
    import html as _html

    out = []
    for k, part in enumerate(re.split(r"(?<!\\)\$", tex)):
        if k % 2:
            out.append(f'<span class="m">{math_html(part)}</span>')
            continue
        part = re.sub(r"\\texttt\{((?:[^{}]|\{\})*)\}", lambda m: "\x00" + m.group(1) + "\x01", part)
        for a, b in _TEXT_UNESCAPE:
            part = part.replace(a, b)
        part = re.sub(r"\\(?:emph|textit|textbf)\{([^{}]*)\}", r"\1", part)
        part = _html.escape(part).replace("\x00", "<code>").replace("\x01", "</code>")
        out.append(part)
    return "".join(out)


def prose_html(text: str) -> str:
    """ASCII prose with inline formulas (a claim's words) as HTML with inline math."""
    return tex_text_html(prose_tex(text))


__all__ = ["Family", "NOTATION", "STATEMENTS", "check_families", "instances_tex", "math_html", "math_tex",
           "prose_html", "prose_tex", "statement_tex", "strip_implementation", "tex_text_html"]
