r"""LaTeX of SymPy objects in the paper's notation, and the layout of long equations.

**Notation** (:class:`PaperLatexPrinter`, SymPy's printer with two changes): an undefined function of the
coordinates prints as its name, :math:`p(t, q) \mapsto p`; its derivatives print as :math:`\partial_q^{2} p`,
:math:`\partial_t \partial_q F`. Symbols keep SymPy's names, so ``gamma``, ``hbar``, ``Lambda`` print as
:math:`\gamma, \hbar, \Lambda` and ``Gamma^m_ab`` as :math:`\Gamma^{m}_{ab}`. No macro of the paper is used, so
the output pastes into any LaTeX document with amsmath.

**Layout** (:func:`layout`). The width of printed math is estimated in character units (:func:`tex_width`,
about 0.5 em each). A right-hand side is broken at its top-level sum and its terms are packed into lines no
wider than the budget; a single term still wider than a line has its widest sums replaced by named
subexpressions :math:`\mathcal{X}_k`, defined below the equation ("where ..."), recursively, and a product with
no sum left to name is broken between its factors. Every line is then set by ``\nnqgfit``, which shrinks a line
that TeX measures wider than its share of the text width by at most 10 % (the body's ``\small``) and never
further: a line that still does not fit overflows, and the compile check reports it.

>>> import sympy as sp
>>> t, q = sp.symbols("t q", real=True)
>>> p = sp.Function("p")(t, q)
>>> paper_latex(sp.Symbol("gamma") * sp.Derivative(p, q, 2) + sp.Symbol("hbar"))
'\\gamma \\partial_{q}^{2} p + \\hbar'
>>> paper_latex(sp.Symbol("Gamma^m_ab") * sp.Symbol("Lambda"))
'\\Gamma^{m}_{ab} \\Lambda'
>>> print(tex_escape("grad_F |x|^2 & 50%"))
grad\_F \textbar{}x\textbar{}\textasciicircum{}2 \& 50\%
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter

# --------------------------------------------------------------------------------------------------- printing


class Named(sp.Symbol):
    """A symbol that prints as given LaTeX (a named subexpression :math:`\\mathcal{X}_{k}`, a display name)."""

    def __new__(cls, name: str, tex: str) -> "Named":
        obj = super().__new__(cls, name)
        obj._tex = tex
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self._tex), {}

    def _latex(self, printer: Any) -> str:
        return self._tex


class PaperLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the paper's notation for fields and their derivatives (module docstring)."""

    printmethod = "_latex"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        # a name written in LaTeX by a claim (r"\gamma\,\partial_q Q", r"\partial_t p") is printed as written:
        # SymPy's sub/superscript splitting would turn it into \partial_{q Q}
        if "\\" in expr.name:
            return expr.name
        return super()._print_Symbol(expr, style)

    def _print_AppliedUndef(self, expr: AppliedUndef, exp: str | None = None) -> str:
        name = self._deal_with_super_sub(expr.func.__name__)
        if not all(isinstance(a, sp.Symbol) for a in expr.args):
            # f(q + 1) or f(2): the argument matters, keep it
            args = ", ".join(self._print(a) for a in expr.args)
            name = rf"{name}\left({args}\right)"
            return name if exp is None else rf"\left({name}\right)^{{{exp}}}"
        if exp is None:
            return name
        return rf"{name}^{{{exp}}}" if "^" not in name else rf"\left({name}\right)^{{{exp}}}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        ops = []
        for x, n in expr.variable_count:
            sub = self._print(x)
            ops.append(rf"\partial_{{{sub}}}" if n == 1 else rf"\partial_{{{sub}}}^{{{self._print(n)}}}")
        inner = expr.expr
        body = self._print(inner)
        if not isinstance(inner, (AppliedUndef, sp.Symbol)):
            body = rf"\left({body}\right)"
        return " ".join(ops) + " " + body


@dataclass(frozen=True)
class Term:
    r"""A term printed as ``coeff`` followed by fixed LaTeX (a differential: :math:`g_{tt}\,dt^2`)."""

    sign: str
    coeff: Any
    suffix: str

    def tex(self, coeff: Any | None = None) -> str:
        c = self.coeff if coeff is None else coeff
        if c == 1:
            return self.suffix
        body = PaperLatexPrinter().doprint(c)
        if isinstance(c, sp.Add):
            body = rf"\left({body}\right)"
        return rf"{body}\, {self.suffix}"


class Terms(tuple):
    """A sum printed in the given order (a line element by index), as a tuple of :class:`Term`."""

    def as_expr(self) -> sp.Expr:
        return sp.Add(*[(-1 if t.sign == "-" else 1) * t.coeff * Named(f"zz_{t.suffix}", t.suffix) for t in self])


def paper_latex(expr: Any) -> str:
    """LaTeX of a SymPy object in the paper's notation (see :class:`PaperLatexPrinter`); text as ``\\text``."""
    if isinstance(expr, str):
        return rf"\text{{{tex_escape(expr)}}}"
    if isinstance(expr, Terms):
        return " ".join(f"{t.sign} {t.tex()}".strip() if i else ("-" if t.sign == "-" else "") + t.tex()
                        for i, t in enumerate(expr))
    return PaperLatexPrinter().doprint(expr)


def signed_terms(expr: Any) -> list[tuple[str, Any, str]]:
    """The top-level terms of a sum as (sign, term, LaTeX) in the printer's own order (a leading minus is
    moved into the sign after the first term); one term for a non-sum.

    Mirrors SymPy's ``_print_Add`` so the broken equation reads exactly as the unbroken one would.
    """
    pr = PaperLatexPrinter()
    if isinstance(expr, str):  # a step stated in words
        return [("", expr, rf"\text{{{tex_escape(expr)}}}")]
    if isinstance(expr, Terms):
        return [("-" if t.sign == "-" else ("" if i == 0 else "+"), t, t.tex()) for i, t in enumerate(expr)]
    if not isinstance(expr, sp.Add):
        return [("", expr, pr.doprint(expr))]
    out: list[tuple[str, Any, str]] = []
    for i, term in enumerate(pr._as_ordered_terms(expr, order=None)):
        sign = ""
        if i > 0:
            if term.could_extract_minus_sign():
                sign, term = "-", -term
            else:
                sign = "+"
        tex = pr._print(term)
        if pr._needs_add_brackets(term):
            tex = rf"\left({tex}\right)"
        out.append((sign, term, tex))
    return out


def add_terms(expr: Any) -> list[tuple[str, str]]:
    """The top-level terms of a sum as (sign, LaTeX); see :func:`signed_terms`."""
    return [(sign, tex) for sign, _, tex in signed_terms(expr)]


# ----------------------------------------------------------------------------------------------- widths

_CMD = re.compile(r"\\([A-Za-z]+|.)")
_TEXT_CMDS = {"text", "mathrm", "operatorname", "textrm", "texttt", "mathtt"}
_STYLE_CMDS = {"mathcal", "mathbf", "mathit", "mathsf", "boldsymbol", "mathbb", "mathfrak", "bar", "hat",
               "tilde", "vec", "dot", "ddot", "overline"}


def _group(s: str, i: int) -> tuple[str, int]:
    """The brace group starting at ``s[i] == '{'`` and the index after it (a single token when no brace)."""
    if i >= len(s):
        return "", i
    if s[i] != "{":
        m = _CMD.match(s, i)
        if m:
            return m.group(0), m.end()
        return s[i], i + 1
    depth, j = 0, i
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
        j += 1
    return s[i + 1:], len(s)


def tex_width(s: str) -> float:
    r"""Estimated width of math LaTeX in character units (about 0.5 em each): fractions count their wider
    part, scripts 0.7, binary operators with their spacing 1.8, ``\left``/``\right`` delimiters 0.6.

    >>> tex_width(r"\frac{a + b}{c}") == tex_width("a + b") + 0.4
    True
    """
    w, i = 0.0, 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            m = _CMD.match(s, i)
            cmd, i = m.group(1), m.end()
            if cmd in ("frac", "dfrac", "tfrac"):
                a, i = _group(s, i)
                b, i = _group(s, i)
                w += max(tex_width(a), tex_width(b)) + 0.4
            elif cmd in ("left", "right", "bigl", "bigr", "Bigl", "Bigr"):
                m2 = _CMD.match(s, i)
                i = m2.end() if (m2 and s[i] == "\\") else i + 1
                w += 0.6
            elif cmd == "sqrt":
                if i < len(s) and s[i] == "[":
                    i = s.index("]", i) + 1
                a, i = _group(s, i)
                w += tex_width(a) + 1.2
            elif cmd in _TEXT_CMDS:
                a, i = _group(s, i)
                w += len(a)
            elif cmd in _STYLE_CMDS:
                a, i = _group(s, i)
                w += tex_width(a)
            elif cmd in (",", ";", ":", "!", " "):
                w += 0.3
            elif cmd == "quad":
                w += 1.8
            elif cmd == "qquad":
                w += 3.6
            elif cmd in ("cdot", "times", "leq", "geq", "neq", "approx"):
                w += 1.8
            else:
                w += 1.0
        elif ch in "^_":
            a, i = _group(s, i + 1)
            w += 0.7 * tex_width(a)
        elif ch == "{":
            a, i = _group(s, i)
            w += tex_width(a)
        elif ch in "} &":
            i += 1
        elif ch in "+-=<>":
            w += 1.8
            i += 1
        else:
            w += 1.0
            i += 1
    return w


#: width of one display line of the paper in :func:`tex_width` units (6.5 in text width, 10 pt type, the
#: equation number's room taken off); ``\nnqgfit`` shrinks by at most 10 % beyond it
LINE_WIDTH = 80.0


def group_terms(widths: Sequence[float], budget: float, first_budget: float | None = None) -> list[list[int]]:
    """Greedy line packing: indices of consecutive items whose widths fit ``budget`` (the first line
    ``first_budget``); an item wider than a line gets a line of its own."""
    lines: list[list[int]] = [[]]
    width, limit = 0.0, (budget if first_budget is None else first_budget)
    for i, w in enumerate(widths):
        if lines[-1] and width + w > limit:
            lines.append([])
            width, limit = 0.0, budget
        lines[-1].append(i)
        width += w
    return lines


def break_terms(terms: Sequence[tuple[str, str]], budget: float, first_budget: float | None = None) -> list[str]:
    """Pack signed LaTeX terms into lines no wider than ``budget`` (where a term allows it)."""
    widths = [tex_width(f"{sign} {tex}") for sign, tex in terms]
    out = []
    for k, idx in enumerate(group_terms(widths, budget, first_budget)):
        pieces = [f"{terms[i][0]} {terms[i][1]}".strip() if (j == 0 and k == 0) else f"{terms[i][0]} {terms[i][1]}"
                  for j, i in enumerate(idx)]
        out.append(("" if k == 0 else "{}") + " ".join(pieces))
    return out


# ----------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """A displayed equation ``lhs = rhs``: the right-hand side's lines (``lines[0]`` follows ``lhs =``, later
    lines continue it) and the named subexpressions it uses, each with its own lines, in order of first use."""

    lhs: str | None
    lines: tuple[str, ...]
    definitions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def n_lines(self) -> int:
        return len(self.lines) + sum(len(d) for _, d in self.definitions)


def _name(k: int) -> Named:
    return Named(f"nnqg_subexpression_{k}", rf"\mathcal{{X}}_{{{k}}}")


def _candidates(term: sp.Basic) -> list[sp.Basic]:
    """Proper subexpressions of ``term`` that may be named: sums (not inside a derivative or a function of the
    coordinates, which print as names anyway)."""
    out = []
    for node in sp.preorder_traversal(term):
        if node is term:
            continue
        if isinstance(node, sp.Add) and not node.has(Named) and len(node.args) > 1:
            out.append(node)
    return out


def _abstract(term: sp.Basic, budget: float, start: int) -> tuple[sp.Basic, list[tuple[Named, sp.Basic]]]:
    """Replace the widest named-able sums of ``term`` by fresh names until it fits ``budget``; return the new
    term and the (name, subexpression) pairs, numbered from ``start``."""
    defs: list[tuple[Named, sp.Basic]] = []
    k = start
    while tex_width(paper_latex(term)) > budget:
        cands = _candidates(term)
        if not cands:
            break
        widths = {c: tex_width(paper_latex(c)) for c in cands}
        fitting = [c for c in cands if widths[c] <= budget]
        pick = max(fitting or cands, key=lambda c: (widths[c], sp.default_sort_key(c)))
        if widths[pick] < 6:  # nothing worth naming is left
            break
        name = _name(k)
        k += 1
        term = term.xreplace({pick: name})
        defs.append((name, pick))
    return term, defs


def _factor_lines(term: sp.Basic, budget: float) -> list[str] | None:
    """A product too wide for one line, broken between its factors (``\\times`` starts each continuation)."""
    if not isinstance(term, sp.Mul):
        return None
    pr = PaperLatexPrinter()
    coeff, factors = term.as_coeff_mul()
    texs = [pr._print(f) if not pr._needs_mul_brackets(f, first=(i == 0)) else rf"\left({pr._print(f)}\right)"
            for i, f in enumerate(factors)]
    if coeff != 1:
        texs.insert(0, pr._print(coeff) if coeff != -1 else "-")
    widths = [tex_width(t) for t in texs]
    if len(texs) < 2 or max(widths) > budget:
        return None
    return [("" if k == 0 else r"\times ") + " ".join(texs[i] for i in idx)
            for k, idx in enumerate(group_terms(widths, budget))]


def layout(rhs: Any, lhs: str | None = None, *, width: float = LINE_WIDTH, _start: int = 1) -> Layout:
    """Lay out ``lhs = rhs`` (see the module docstring): break at top-level terms, name subexpressions of a term
    still too wide, break a product between factors as the last resort.

    >>> x = sp.Symbol("x")
    >>> lay = layout(sp.Add(*[x**k / (k + 1) for k in range(40)]), "y")
    >>> len(lay.lines) > 1 and all(tex_width(ln) <= LINE_WIDTH - 6 for ln in lay.lines)
    True
    """
    lhs_w = tex_width(lhs) + 2.5 if lhs else 0.0
    budget = max(width - min(lhs_w, 24.0) - 4.0, 24.0)  # continuation lines are indented by \quad
    if isinstance(rhs, str):
        return Layout(lhs, (rf"\text{{{tex_escape(rhs)}}}",))
    terms = signed_terms(rhs)
    defs: list[tuple[Named, sp.Basic]] = []
    pieces: list[tuple[str, str]] = []   # (sign, tex) units to pack
    forced: set[int] = set()             # indices that start a new line (factor-broken products)
    k = _start
    for sign, term, tex in terms:
        if tex_width(f"{sign} {tex}") > budget and isinstance(term, Term):
            new, d = _abstract(term.coeff, budget - 2.0 - tex_width(term.suffix), k)
            k += len(d)
            defs += d
            tex = term.tex(new)
        elif tex_width(f"{sign} {tex}") > budget and not isinstance(term, str):
            new, d = _abstract(term, budget - 2.0, k)
            k += len(d)
            defs += d
            tex = paper_latex(new)
            if PaperLatexPrinter()._needs_add_brackets(new):
                tex = rf"\left({tex}\right)"
            if tex_width(f"{sign} {tex}") > budget and isinstance(new, sp.Basic):
                rows = _factor_lines(new, budget - 2.0)
                if rows:
                    forced.add(len(pieces))
                    pieces.append((sign, rows[0]))
                    for r in rows[1:]:
                        forced.add(len(pieces))
                        pieces.append(("", r))
                    forced.add(len(pieces))
                    continue
        pieces.append((sign, tex))
    lines: list[str] = []
    current: list[str] = []
    cur_w = 0.0
    for i, (sign, tex) in enumerate(pieces):
        piece = f"{sign} {tex}".strip() if not lines and not current else f"{sign} {tex}"
        w = tex_width(piece)
        if current and (i in forced or cur_w + w > budget):
            lines.append(" ".join(current))
            current, cur_w = [], 0.0
        current.append(piece)
        cur_w += w
    if current:
        lines.append(" ".join(current))
    definitions = []
    for name, sub in defs:
        inner = layout(sub, paper_latex(name), width=width, _start=k)
        k += len(inner.definitions)
        definitions.append((paper_latex(name), inner.lines))
        definitions += list(inner.definitions)
    return Layout(lhs, tuple(lines), tuple(definitions))


def _rows(lhs: str | None, lines: Sequence[str], frac: str) -> list[str]:
    head = f"{lhs} &= " if lhs else "&"
    rows = [head + rf"\nnqgfit[{frac}]{{{lines[0]}}}"]
    rows += [rf"&\quad \nnqgfit[{frac}]{{{ln}}}" for ln in lines[1:]]
    return rows


def equation_tex(rhs: Any, lhs: str | None = None, *, label: str | None = None, suffix: str = "",
                 numbered: bool = True) -> str:
    r"""A displayed equation ``lhs = rhs`` laid out by :func:`layout` in an ``align`` environment (page breaks
    allowed between lines; numbered on its last line when ``numbered``), followed by its named subexpressions
    ("where ...", unnumbered). ``suffix`` is appended to the last line (e.g. ``= 0``).

    >>> print(equation_tex(sp.Symbol("x") + 1, "y", label="eq:demo"))
    \begin{align}
    y &= \nnqgfit[0.8]{x + 1}\label{eq:demo}
    \end{align}
    """
    lay = layout(rhs, lhs)
    lines = list(lay.lines)
    lines[-1] = lines[-1] + (f" {suffix}" if suffix else "")
    frac = "0.8" if lhs else "0.92"
    rows = _rows(lhs, lines, frac)
    env = "align" if numbered else "align*"
    tail = (rf"\label{{{label}}}" if label and numbered else "")
    body = [r + r"\notag" for r in rows[:-1]] if numbered else rows[:-1]
    out = f"\\begin{{{env}}}\n" + " \\\\\n".join(body + [rows[-1] + tail]) + f"\n\\end{{{env}}}"
    if lay.definitions:
        drows = []
        for i, (name, dlines) in enumerate(lay.definitions):
            r = _rows(name, dlines, "0.8")
            if i == 0:
                r[0] = r"\text{where}\quad " + r[0]
            drows += r
        out += "\n\\begin{align*}\n" + " \\\\\n".join(drows) + "\n\\end{align*}"
    return out


def equations_tex(pairs: Sequence[tuple[str | None, Any]], *, label: str | None = None) -> str:
    r"""Several equations ``lhs = rhs`` (the components of one step) in one ``align`` environment, numbered once on
    the last line; named subexpressions follow in an unnumbered block."""
    rows: list[str] = []
    defs: list[str] = []
    n_named = 0
    for lhs, rhs in pairs:
        lay = layout(rhs, lhs, _start=n_named + 1)
        n_named += len(lay.definitions)
        rows += _rows(lhs, list(lay.lines), "0.8" if lhs else "0.92")
        for i, (name, dlines) in enumerate(lay.definitions):
            r = _rows(name, dlines, "0.8")
            if not defs and i == 0:
                r[0] = r"\text{where}\quad " + r[0]
            defs += r
    body = [r + r"\notag" for r in rows[:-1]] + [rows[-1] + (rf"\label{{{label}}}" if label else "")]
    out = "\\begin{align}\n" + " \\\\\n".join(body) + "\n\\end{align}"
    if defs:
        out += "\n\\begin{align*}\n" + " \\\\\n".join(defs) + "\n\\end{align*}"
    return out


def components(obj: Any, indices: Sequence[Any] = ()) -> list[tuple[str, Any]]:
    """Split a step's value into printable components: a matrix or array per non-zero entry, labelled by the
    index names ``indices`` (coordinates such as t, r, theta) or, without them, by 1-based positions; a tuple or
    list per item; anything else is one component with an empty label. Labels are LaTeX (``t r``, ``\\theta``)."""
    names = [paper_latex(i) if isinstance(i, sp.Basic) else str(i) for i in indices]

    def lab(*idx: int) -> str:
        if names and all(i < len(names) for i in idx):
            return " ".join(names[i] for i in idx) if any(len(names[i]) > 1 for i in idx) \
                else "".join(names[i] for i in idx)
        return "".join(str(i + 1) for i in idx)

    if isinstance(obj, sp.MatrixBase):
        out = []
        for i in range(obj.rows):
            for j in range(obj.cols):
                if obj[i, j] != 0:
                    if obj.cols > 1 and obj.rows > 1:
                        out.append((lab(i, j), obj[i, j]))
                    else:
                        out.append((lab(i if obj.cols == 1 else j), obj[i, j]))
        return out or [("", sp.S.Zero)]
    if isinstance(obj, sp.NDimArray):
        out = [(lab(*idx), obj[idx]) for idx in itertools.product(*(range(n) for n in obj.shape)) if obj[idx] != 0]
        return out or [("", sp.S.Zero)]
    if isinstance(obj, (tuple, list)):
        return [(str(i + 1), x) for i, x in enumerate(obj)]
    return [("", obj)]


def line_element(g: sp.MatrixBase, coords: Sequence[Any]) -> Terms:
    r""":math:`ds^2 = g_{ab}\,dx^a dx^b` of a symmetric metric, term by term in index order (off-diagonal
    entries counted twice), each coefficient before its differentials.

    >>> t, r = sp.symbols("t r")
    >>> paper_latex(line_element(sp.diag(-(1 - 2 / r), 1 / (1 - 2 / r)), (t, r)))
    '-\\left(1 - \\frac{2}{r}\\right)\\, dt^{2} + \\frac{1}{1 - \\frac{2}{r}}\\, dr^{2}'
    """
    names = [paper_latex(c) for c in coords]
    d = [("d" + n) if len(n) == 1 else rf"d{n}" for n in names]
    out = []
    for i in range(g.rows):
        for j in range(i, g.cols):
            if g[i, j] != 0:
                coeff = (1 if i == j else 2) * g[i, j]
                sign = ""
                if coeff.could_extract_minus_sign():
                    sign, coeff = "-", -coeff
                suffix = f"{d[i]}^{{2}}" if i == j else f"{d[i]}\\, {d[j]}"
                out.append(Term(sign or "+", coeff, suffix))
    return Terms(out)


# ------------------------------------------------------------------------------------------------------ text

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def tex_escape(text: str) -> str:
    """Plain text -> LaTeX text: specials escaped, Greek letters as math, other non-ASCII by Unicode name."""
    out = []
    for ch in str(text):
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(_unicode_tex(ch))
    return "".join(out)


def _unicode_tex(ch: str) -> str:
    name = unicodedata.name(ch, "")
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (\w+)", name)
    if m:
        g = m.group(2).lower()
        return rf"$\{g if m.group(1) == 'SMALL' else g.capitalize()}$"
    simple = {"\u2212": "-", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``",
              "\u201d": "''", "\u00b2": r"\textsuperscript{2}", "\u2202": r"$\partial$", "\u210f": r"$\hbar$",
              "\u2207": r"$\nabla$", "\u00d7": r"$\times$", "\u2264": r"$\leq$", "\u2265": r"$\geq$",
              "\u2248": r"$\approx$", "\u221a": r"$\surd$"}
    return simple.get(ch, r"\texttt{[U+%04X]}" % ord(ch))


def tex_id(claim_id: str) -> str:
    r"""A claim id in typewriter type, breakable after its dots and underscores (long ids in table cells)."""
    return r"\texttt{" + tex_escape(claim_id).replace(".", r".\allowbreak{}").replace(r"\_", r"\_\allowbreak{}") + "}"


def iter_lines(tex: str) -> Iterable[str]:
    """The display lines of generated LaTeX that carry math (the arguments of ``\\nnqgfit``), for checks."""
    for m in re.finditer(r"\\nnqgfit\[[0-9.]+\]\{", tex):
        body, _ = _group(tex, m.end() - 1)
        yield body


__all__ = ["LINE_WIDTH", "Layout", "Named", "PaperLatexPrinter", "Term", "Terms", "add_terms", "break_terms",
           "components", "equation_tex", "equations_tex", "group_terms", "layout", "line_element", "paper_latex",
           "signed_terms", "tex_escape", "tex_id", "tex_width"]
