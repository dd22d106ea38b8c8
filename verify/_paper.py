r"""LaTeX for the paper, generated from the claims' SymPy objects and the JSON report.

Nothing is typed twice: each derivation step is the :class:`~nnqg.derivations.Step` the symbolic check produced,
printed by :func:`paper_latex` (SymPy's LaTeX printer with the paper's conventions), and every number (status,
residual, tolerance, observed order, seed, versions) is read from the report that ``nnqg verify`` writes.

Conventions of :class:`PaperLatexPrinter` (the paper's notation):

* an undefined function of the coordinates prints as its name, :math:`p(t, q) \mapsto p`;
* a derivative of such a function prints as :math:`\partial_q^{2} p`, :math:`\partial_t \partial_q F`;
* symbols keep SymPy's names, so ``gamma``, ``hbar``, ``Lambda`` print as :math:`\gamma, \hbar, \Lambda` and
  ``Gamma^m_ab`` as :math:`\Gamma^{m}_{ab}`.

Long right-hand sides are broken at their top-level sums (:func:`equation_tex`): a width estimate in character
units packs terms into lines of a ``split`` environment, and each line is set by ``\nnqgfit``, which measures it
in TeX and scales it down only if it is still wider than its share of the line, so no equation can overflow the
margin whatever the estimate says.

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

import json
import math
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter

from nnqg.derivations import InvalidArgument, Step
from nnqg.derivations._files import read_user_text
from nnqg.numerics._atomic import atomic_write_bytes

from ._figures import as_float, convergence_figure
from ._model import FAILED, NONFINITE, REPRODUCED, Claim, SymbolicResult, Verdict
from ._registry import all_claims, claim_source_hash

# --------------------------------------------------------------------------------------------------- printing


class PaperLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the paper's notation for fields and their derivatives (module docstring)."""

    printmethod = "_latex"

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


def paper_latex(expr: Any) -> str:
    """LaTeX of a SymPy object in the paper's notation (see :class:`PaperLatexPrinter`); text as ``\\text``."""
    if isinstance(expr, str):
        return rf"\text{{{tex_escape(expr)}}}"
    return PaperLatexPrinter().doprint(expr)


def signed_terms(expr: sp.Expr) -> list[tuple[str, sp.Expr, str]]:
    """The top-level terms of a sum as (sign, term, LaTeX) in the printer's own order (a leading minus is
    moved into the sign after the first term); one term for a non-sum.

    Mirrors SymPy's ``_print_Add`` so the broken equation reads exactly as the unbroken one would.
    """
    pr = PaperLatexPrinter()
    if isinstance(expr, str):  # a step stated in words
        return [("", expr, rf"\text{{{tex_escape(expr)}}}")]
    if not isinstance(expr, sp.Add):
        return [("", expr, pr.doprint(expr))]
    out: list[tuple[str, sp.Expr, str]] = []
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


def add_terms(expr: sp.Expr) -> list[tuple[str, str]]:
    """The top-level terms of a sum as (sign, LaTeX); see :func:`signed_terms`."""
    return [(sign, tex) for sign, _, tex in signed_terms(expr)]


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
    r"""Estimated width of math LaTeX in character units (about 0.55 em each): fractions count their wider
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
        elif ch in "} ":
            i += 1
        elif ch in "+-=<>":
            w += 1.8
            i += 1
        else:
            w += 1.0
            i += 1
    return w


#: width budget of one broken line, in :func:`tex_width` units; \nnqgfit gives each line 0.62 \linewidth
LINE_BUDGET = 46.0


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


def break_terms(terms: Sequence[tuple[str, str]], budget: float = LINE_BUDGET,
                first_budget: float | None = None) -> list[str]:
    """Pack signed LaTeX terms into lines no wider than ``budget`` (where a term allows it)."""
    widths = [tex_width(f"{sign} {tex}") for sign, tex in terms]
    out = []
    for k, idx in enumerate(group_terms(widths, budget, first_budget)):
        pieces = [f"{terms[i][0]} {terms[i][1]}".strip() if (j == 0 and k == 0) else f"{terms[i][0]} {terms[i][1]}"
                  for j, i in enumerate(idx)]
        out.append(("" if k == 0 else "{}") + " ".join(pieces))
    return out


def equation_tex(rhs: sp.Basic, lhs: str | None = None, *, label: str | None = None, suffix: str = "") -> str:
    r"""A numbered equation ``lhs = rhs`` (``rhs`` LaTeX-printed, broken into lines; ``suffix`` appended to the
    last line, e.g. ``= 0``) in ``equation``/``split``; every line goes through ``\nnqgfit``.

    >>> print(equation_tex(sp.Symbol("x") + 1, "y", label="eq:demo"))
    \begin{equation}\label{eq:demo}
    \begin{split}
    \nnqgfit[0.25]{y} &= \nnqgfit{x + 1}
    \end{split}
    \end{equation}
    """
    lhs_w = tex_width(lhs) + 2.0 if lhs else 0.0
    lines = break_terms(add_terms(rhs), first_budget=max(LINE_BUDGET - max(lhs_w - 12.0, 0.0), 20.0))
    lines[-1] = lines[-1] + (f" {suffix}" if suffix else "")
    head = rf"\nnqgfit[0.25]{{{lhs}}} &= " if lhs else "& "
    body = [head + rf"\nnqgfit{{{lines[0]}}}"] + [rf"&\quad \nnqgfit{{{ln}}}" for ln in lines[1:]]
    lab = rf"\label{{{label}}}" if label else ""
    return "\\begin{equation}" + lab + "\n\\begin{split}\n" + " \\\\\n".join(body) + "\n\\end{split}\n\\end{equation}"


def components(obj: Any) -> list[tuple[str, Any]]:
    """Split a step's value into printable components: a matrix or array per non-zero entry (index label),
    a tuple or list per item, an ``Eq`` as itself; anything else is one component with an empty label."""
    if isinstance(obj, sp.MatrixBase):
        out = []
        for i in range(obj.rows):
            for j in range(obj.cols):
                if obj[i, j] != 0:
                    idx = f"{i}{j}" if obj.cols > 1 and obj.rows > 1 else f"{i if obj.cols == 1 else j}"
                    out.append((idx, obj[i, j]))
        return out or [("", sp.S.Zero)]
    if isinstance(obj, sp.NDimArray):
        out = [("".join(str(k) for k in idx), obj[idx]) for idx in _ndindex(obj.shape) if obj[idx] != 0]
        return out or [("", sp.S.Zero)]
    if isinstance(obj, (tuple, list)):
        return [(str(i), x) for i, x in enumerate(obj)]
    return [("", obj)]


def _ndindex(shape: tuple[int, ...]) -> Iterable[tuple[int, ...]]:
    import itertools

    return itertools.product(*(range(n) for n in shape))


def step_equations(step: Step, label_prefix: str) -> list[str]:
    """The equations of one derivation step (one per component of a matrix or tuple)."""
    out = []
    lhs = None if step.lhs is None else paper_latex(step.lhs)
    rhs = step.rhs
    if isinstance(rhs, sp.Equality):
        lhs, rhs = paper_latex(rhs.lhs), rhs.rhs
    for k, (idx, comp) in enumerate(components(rhs)):
        if idx:
            base = lhs if lhs is not None else r"\left[\,\cdot\,\right]"
            comp_lhs = rf"\left[{base}\right]_{{{idx}}}" if lhs is not None and not _is_atomic_tex(lhs) \
                else f"{{{base}}}_{{{idx}}}"
        else:
            comp_lhs = lhs
        out.append(equation_tex(comp, comp_lhs, label=f"{label_prefix}{'' if not idx else ':' + idx}"
                                if k == 0 or idx else None))
    return out


def _is_atomic_tex(s: str) -> bool:
    return re.fullmatch(r"\\?[A-Za-z]+(\{[A-Za-z]\})?", s) is not None


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


def tex_number(x: Any) -> str:
    r"""A report number as math: 3 significant digits, powers of ten as :math:`\times 10^{k}`.

    >>> tex_number(1.234e-05), tex_number("nan"), tex_number(None), tex_number(0.5)
    ('$1.23\\times 10^{-5}$', 'NaN', '--', '$0.5$')
    """
    if x is None:
        return "--"
    v = as_float(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return r"$\infty$" if v > 0 else r"$-\infty$"
    s = f"{v:.3g}"
    if "e" in s:
        mant, ex = s.split("e")
        return rf"${mant}\times 10^{{{int(ex)}}}$"
    return f"${s}$"


def file_stem(claim_id: str) -> str:
    """Figure file names use '-' for the dots of a claim id (graphicx and file systems dislike extra dots)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", claim_id)


# --------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ClaimRecord:
    """What the paper and the HTML page print for one claim: the claim, its symbolic result (with the
    derivation steps) and its entry of the JSON report (status, numbers). ``stale`` marks a report entry made
    from a different version of the claim's source than the one whose derivation is printed."""

    claim: Claim
    derivation: SymbolicResult
    entry: Mapping[str, Any]
    stale: bool = False

    @property
    def status(self) -> str:
        return str(self.entry.get("status", "?"))

    @property
    def cal(self) -> Mapping[str, Any]:
        """The report's calibration part (status, residual, tolerance, convergence, power, ...)."""
        return self.entry.get("calibration") or {}

    @property
    def learn(self) -> Mapping[str, Any]:
        """The report's learning-evidence part (status, measured distances, controls, ...)."""
        return self.entry.get("learning") or {}


@dataclass(frozen=True)
class RunInfo:
    """The run's seed, size profile and versions, from the report."""

    seed: Any
    quick: bool
    calibration: bool
    versions: Mapping[str, str] = field(default_factory=dict)


def run_info(report: Mapping[str, Any]) -> RunInfo:
    claims = report.get("claims", [])
    numeric = any((c.get("calibration") or {}).get("status", "NOT RUN") != "NOT RUN" for c in claims)
    return RunInfo(seed=report.get("seed"), quick=bool(report.get("quick", False)), calibration=numeric,
                   versions=dict(report.get("versions", {})))


def records_from_verdicts(verdicts: Sequence[Verdict], report: Mapping[str, Any]) -> list[ClaimRecord]:
    """Pair each verdict with its report entry (the report is the single source of the numbers)."""
    entries = {e["id"]: e for e in report.get("claims", [])}
    out = []
    for v in verdicts:
        entry = entries.get(v.claim.id)
        if entry is None:
            raise InvalidArgument(f"the report has no entry for claim {v.claim.id!r}; build it from the same "
                                  f"verdicts (nnqg.verify.build_report)")
        out.append(ClaimRecord(v.claim, v.derivation, entry, stale=entry.get("source_hash") != v.source_hash))
    return out


def load_report(path: Path) -> dict[str, Any]:
    """Read and check a JSON report written by ``nnqg verify --json``; errors name the file and the fix."""
    path = Path(path)
    text = read_user_text(path, "--report", hint=f"; write one with `nnqg verify --json {path}`")
    try:
        rep = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"--report {str(path)!r}: not a JSON report ({exc})") from None
    if not isinstance(rep, dict) or not isinstance(rep.get("claims"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("status"), str)
            for c in rep["claims"]):
        raise InvalidArgument(f"--report {str(path)!r}: expected the JSON of `nnqg verify --json` "
                              f"(an object with a 'claims' list of entries with 'id' and 'status')")
    return rep


def records_from_report(report: Mapping[str, Any],
                        claims: Sequence[Claim] | None = None) -> tuple[list[ClaimRecord], list[str]]:
    """Records for the report's claims, derivations recomputed from the registered claims (the report holds
    numbers, not SymPy objects). Returns the records and the ids in the report that are not registered."""
    registered = {c.id: c for c in (all_claims() if claims is None else claims)}
    out, unknown = [], []
    for entry in report.get("claims", []):
        c = registered.get(entry["id"])
        if c is None:
            unknown.append(entry["id"])
            continue
        sym = c.derivation(c.default_inputs())
        out.append(ClaimRecord(c, sym, entry, stale=entry.get("source_hash") != claim_source_hash(c)))
    return out, unknown


# ----------------------------------------------------------------------------------------------- tex writers

#: PHYSICS.md sections by half of the duality
PART_OF_SECTION = {2: "quantum", 3: "quantum", 4: "quantum", 5: "gravity", 6: "gravity", 7: "gravity",
                   8: "gravity", 9: "duality"}
PARTS = ("quantum", "gravity", "duality", "other")


def part_of(claim: Claim) -> str:
    m = re.match(r"\s*(\d+)", claim.section)
    return PART_OF_SECTION.get(int(m.group(1)), "other") if m else "other"


HEADER = "% Generated by `nnqg paper` from the claims' SymPy objects and the JSON report. Do not edit.\n"

MACROS = r"""% Generated by `nnqg paper`. Do not edit.
% \nnqgfit[frac]{math}: set display math at its natural width, scaled down to frac\linewidth only if wider.
\makeatletter
\newsavebox\nnqg@box
\providecommand{\nnqgfit}{}
\renewcommand{\nnqgfit}[2][0.62]{\sbox\nnqg@box{$\displaystyle #2$}%
  \ifdim\wd\nnqg@box>#1\linewidth\resizebox{#1\linewidth}{!}{\usebox\nnqg@box}\else\usebox\nnqg@box\fi}
\makeatother
\providecommand{\nnqgstatus}[1]{\textsf{\textbf{#1}}}
\providecommand{\FloatBarrier}{}% without placeins, figures float freely
"""


def claim_tex(rec: ClaimRecord) -> str:
    """The LaTeX subsection of one claim: statement, assumptions, derivation, verdicts, figure."""
    c, e = rec.claim, rec.entry
    lab = f"claim:{c.id}"
    out = [HEADER,
           rf"\subsection{{\texorpdfstring{{{tex_id(c.id)}}}{{{tex_escape(c.id)}}}}}\label{{{lab}}}",
           rf"\nnqgstatus{{{tex_escape(rec.status)}}}\quad (PHYSICS.md section {tex_escape(c.section)}"
           + ("; registered counterexample" if c.counterexample else "") + ")\\par",
           "", rf"\paragraph{{Claim.}} {tex_escape(c.statement)}", ""]
    if c.assumptions:
        out += [r"\paragraph{Assumptions.}", r"\begin{itemize}"]
        out += [rf"  \item {tex_escape(a)}" for a in c.assumptions] + [r"\end{itemize}", ""]
    if rec.derivation.steps:
        out += [r"\paragraph{Derivation.}", ""]
        for i, s in enumerate(rec.derivation.steps, 1):
            out.append(rf"\noindent Step {i}: {tex_escape(s.title)}"
                       + (f" ({tex_escape(s.note)})" if s.note else "") + ".")
            out += step_equations(s, f"eq:{c.id}:{i}")
            out.append("")
    out += [r"\paragraph{Symbolic verdict.}", "exact" if rec.derivation.ok else "not exact",
            "(every check must reduce to the literal 0 under SymPy).", r"\begin{itemize}"]
    for labl, expr in rec.derivation.checks:
        if expr == 0:
            out.append(rf"  \item {tex_escape(labl)}: reduces to exactly $0$.")
        else:
            out.append(rf"  \item {tex_escape(labl)}: does \emph{{not}} reduce to $0$; the remainder is")
            out.append(equation_tex(expr, None))
    for labl, v in rec.derivation.facts:
        shown = "shown" if v else r"\emph{not} shown"
        out.append(rf"  \item {tex_escape(labl)}: {shown}.")
    if not rec.derivation.checks and not rec.derivation.facts:
        out.append(r"  \item (no symbolic check registered)")
    out += [r"\end{itemize}", ""]
    out += _numeric_tex(rec)
    out += [rf"\paragraph{{Verdict.}} \nnqgstatus{{{tex_escape(rec.status)}}}: {tex_escape(e.get('reason', ''))}.",
            rf"Source hash \texttt{{{tex_escape(str(e.get('source_hash', ''))[:16])}}}.", ""]
    if rec.stale:
        out += [r"\emph{Note: the report entry was produced from a different version of this claim's source "
                r"than the derivation printed above; rerun \texttt{nnqg verify}.}", ""]
    out.append(r"\FloatBarrier")  # this claim's figure stays before the next claim (placeins)
    return "\n".join(out) + "\n"


def _numeric_tex(rec: ClaimRecord) -> list[str]:
    c, e = rec.claim, rec.cal
    out = [r"\paragraph{Calibration (constructed solutions).}"]
    if e.get("status", "NOT RUN") == "NOT RUN" or e.get("max_residual") is None:
        return out + [rf"Not run: {tex_escape(e.get('reason', c.calibration_note))}.", ""] + _learning_tex(rec)
    if e.get("system"):
        out.append(rf"System: {tex_escape(e['system'])}.")
    sentence = (rf"\nnqgstatus{{{tex_escape(e.get('status', '?'))}}}. Maximum residual "
                rf"{tex_number(e.get('max_residual'))}, tolerance {tex_number(e.get('tolerance'))}")
    conv = e.get("convergence")
    if conv:
        sentence += (rf"; observed order {tex_number(conv.get('observed_order'))} "
                     rf"(expected {tex_number(conv.get('expected_order'))}) over "
                     rf"{len(conv.get('points', []))} refinements of {tex_escape(conv.get('quantity', 'h'))}")
    out.append(sentence + ".")
    if e.get("rule"):
        out.append(rf"Rule: {tex_escape(e['rule'])}.")
    for k, v in sorted((e.get("power") or {}).items()):
        out.append(rf"Power: {tex_escape(k)} detected from {tex_number(v)}.")
    if e.get("where"):
        out.append(rf"Where: {tex_escape(e['where'])}.")
    out.append("")
    if conv and conv.get("points"):
        fig = f"fig-{file_stem(c.id)}.pdf"
        out += [r"\begin{figure}[!htbp]\centering",
                rf"\includegraphics[width=0.62\linewidth]{{\nnqgGenerated/{fig}}}",
                rf"\caption{{{tex_id(c.id)}: residual against refinement ({tex_escape(conv.get('quantity', 'h'))}), "
                rf"log-log; dashed: the expected slope {tex_number(conv.get('expected_order'))} through the "
                rf"finest point; triangle: the tolerance.}}\label{{fig:{c.id}}}",
                r"\end{figure}", ""]
    return out + _learning_tex(rec)


def _learning_tex(rec: ClaimRecord) -> list[str]:
    e = rec.learn
    out = [r"\paragraph{Learning evidence.}",
           rf"\nnqgstatus{{{tex_escape(e.get('status', 'NOT TESTED'))}}}: {tex_escape(e.get('reason', ''))}."]
    if e.get("status", "NOT TESTED") != "NOT TESTED":
        out.append(rf"System: {tex_escape(e.get('system', ''))}. Measured: {tex_escape(e.get('quantity', ''))}; "
                   rf"threshold {tex_number(e.get('threshold'))} at {tex_number(e.get('sigmas'))} standard errors; "
                   rf"smallest distance detected {tex_number(e.get('power'))}.")
        for m in e.get("controls", []):
            out.append(rf"{tex_escape(m.get('label', ''))}: {tex_number(m.get('distance'))} $\pm$ "
                       rf"{tex_number(m.get('se'))}, {tex_escape(m.get('status', ''))}.")
    return out + [""]


def verdict_table_tex(records: Sequence[ClaimRecord]) -> str:
    """A longtable of every claim: the three parts (derivation, calibration, learning evidence), section."""
    rows = []
    for r in records:
        rows.append(rf"{tex_id(r.claim.id)} & {tex_escape((r.entry.get('derivation') or {}).get('status', '?'))} & "
                    rf"\nnqgstatus{{{tex_escape(r.cal.get('status', 'NOT RUN'))}}} & "
                    rf"\nnqgstatus{{{tex_escape(r.learn.get('status', 'NOT TESTED'))}}} & "
                    rf"\ref{{claim:{r.claim.id}}} \\")
    if not rows:
        rows.append(r"\multicolumn{5}{l}{(no claims in this report)} \\")
    return HEADER + "\n".join([
        r"{\small",
        r"\begin{longtable}{@{}p{0.36\linewidth}llll@{}}",
        r"\caption{Every claim in three parts: the derivation (exact identities), the calibration (numerics on "
        r"constructed solutions) and the learning evidence (the equation measured on a system that learns).}"
        r"\label{tab:verdicts}\\",
        r"\toprule claim & derivation & calibration & learning & \S \\ \midrule \endfirsthead",
        r"\toprule claim & derivation & calibration & learning & \S \\ \midrule \endhead",
        r"\bottomrule \endfoot",
        *rows,
        r"\end{longtable}}", ""])


def run_tex(info: RunInfo) -> str:
    """The run's seed, profile and versions, as a sentence and macros (``\\nnqgSeed``)."""
    vers = ", ".join(f"{tex_escape(k)} {tex_escape(v)}" for k, v in sorted(info.versions.items()))
    prof = "quick" if info.quick else "full"
    return HEADER + "\n".join([
        rf"\providecommand{{\nnqgSeed}}{{{tex_escape(str(info.seed))}}}",
        rf"All numbers come from one run of \texttt{{nnqg verify}} with seed {tex_escape(str(info.seed))}, "
        rf"the {prof} size profile" + ("" if info.calibration else r", symbolic checks only (no numeric check was run)")
        + rf", and {vers}.", ""])


def outcomes_tex(records: Sequence[ClaimRecord], unknown: Sequence[str] = ()) -> str:
    """What failed, what was reproduced as a counterexample, and what was not checked numerically."""
    failed = [r for r in records if r.status in (FAILED, NONFINITE)]
    repro = [r for r in records if r.status == REPRODUCED]
    no_num = [r for r in records if r.cal.get("status", "NOT RUN") == "NOT RUN"]
    out = [HEADER]

    def listing(rs: Sequence[ClaimRecord]) -> list[str]:
        return [r"\begin{itemize}"] + [
            rf"  \item {tex_id(r.claim.id)} (\S\ref{{claim:{r.claim.id}}}), {tex_escape(r.status)}: "
            rf"{tex_escape(r.entry.get('reason', ''))}." for r in rs] + [r"\end{itemize}"]

    out.append(r"\paragraph{Failed.}")
    out += listing(failed) if failed else ["No claim failed in this run."]
    out.append(r"\paragraph{Reproduced counterexamples.}")
    out += listing(repro) if repro else ["No counterexample was registered or reproduced in this run."]
    out.append(r"\paragraph{Not checked numerically.}")
    out += (["The verdicts of these claims rest on their symbolic checks alone:"] + listing(no_num)) if no_num \
        else ["Every claim was also checked numerically."]
    stale = [r for r in records if r.stale]
    if stale:
        out.append(r"\paragraph{Stale report entries.} Produced from a different version of the claim's source: "
                   + ", ".join(tex_id(r.claim.id) for r in stale) + ".")
    if unknown:
        out.append(r"\paragraph{Unknown claims.} The report names claims that are no longer registered: "
                   + ", ".join(tex_id(u) for u in unknown) + ".")
    return "\n".join(out) + "\n"


def part_tex(part: str, records: Sequence[ClaimRecord]) -> str:
    """The ``\\input`` lines of one part (quantum, gravity, ...), so main.tex never names a missing file."""
    rs = [r for r in records if part_of(r.claim) == part]
    if not rs:
        return HEADER + r"No claim of this part is registered yet.%" + "\n"
    return HEADER + "".join(rf"\input{{\nnqgGenerated/{r.claim.id}.tex}}" + "\n" for r in rs)


def write_paper(records: Sequence[ClaimRecord], report: Mapping[str, Any], out: Path,
                unknown: Sequence[str] = ()) -> list[Path]:
    """Write every generated file of the paper into ``out``; return their paths (sorted).

    Files: ``<claim-id>.tex`` per claim, ``fig-<claim>.pdf`` per convergence study, ``claims-<part>.tex`` for
    part in quantum, gravity, duality, other (always written), ``verdicts.tex``, ``run.tex``, ``outcomes.tex``,
    ``macros.tex``. The same records and report give byte-identical files.
    """
    out = Path(out)
    files: dict[str, bytes] = {"macros.tex": MACROS.encode()}
    for r in records:
        files[f"{r.claim.id}.tex"] = claim_tex(r).encode()
        conv = r.cal.get("convergence")
        if conv and conv.get("points"):
            files[f"fig-{file_stem(r.claim.id)}.pdf"] = convergence_figure(
                conv, fmt="pdf", tolerance=as_float(r.cal.get("tolerance")), salt=r.claim.id)
    for part in PARTS:
        files[f"claims-{part}.tex"] = part_tex(part, records).encode()
    files["verdicts.tex"] = verdict_table_tex(records).encode()
    files["run.tex"] = run_tex(run_info(report)).encode()
    files["outcomes.tex"] = outcomes_tex(records, unknown).encode()
    written = []
    for name, data in sorted(files.items()):
        p = out / name
        if not (p.exists() and p.read_bytes() == data):  # unchanged files keep their mtime (latexmk, make)
            atomic_write_bytes(p, data)
        written.append(p)
    return written


# ------------------------------------------------------------------------------------------------ PDF build

TEX_PACKAGES_DEBIAN = ("latexmk", "texlive-latex-extra", "texlive-latex-recommended", "texlive-fonts-recommended")


@dataclass(frozen=True)
class BuildResult:
    """Outcome of a latexmk run: exit code, the PDF, the log, and the log's errors/warnings by kind."""

    returncode: int
    pdf: Path
    log: Path
    errors: tuple[str, ...]
    undefined: tuple[str, ...]
    overfull: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.errors and not self.undefined


def missing_tex_tools() -> list[str]:
    """Which of latexmk and pdflatex are not on PATH."""
    return [t for t in ("latexmk", "pdflatex") if shutil.which(t) is None]


def check_log(text: str) -> tuple[list[str], list[str], list[str]]:
    """(errors, undefined references/citations, overfull boxes) found in a LaTeX log."""
    errors, undefined, overfull = [], [], []
    for line in text.splitlines():
        if line.startswith("! ") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
            errors.append(line.strip())
        elif re.search(r"(Reference|Citation) `[^']*' on page \d+ undefined", line) \
                or "There were undefined references" in line:
            undefined.append(line.strip())
        elif line.startswith("Overfull \\hbox") or line.startswith("Overfull \\vbox"):
            overfull.append(line.strip())
    return errors, undefined, overfull


_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")


def build_pdf(generated: Path, main_tex: Path, build_dir: Path | None = None, *,
              timeout: float = 600.0) -> BuildResult:
    """Compile ``main_tex`` with latexmk (pdflatex), reading the generated files from ``generated``.

    ``\\nnqgGenerated`` is set to the absolute path of ``generated`` before main.tex is read, so the generated
    directory can live anywhere. The build is reproducible (SOURCE_DATE_EPOCH=0).
    """
    missing = missing_tex_tools()
    if missing:
        raise InvalidArgument(
            f"--pdf needs {' and '.join(missing)} (a TeX distribution with latexmk); on Debian or Ubuntu: "
            f"`apt-get install {' '.join(TEX_PACKAGES_DEBIAN)}`; the .tex files were written all the same")
    generated = Path(generated).resolve()
    main_tex = Path(main_tex).resolve()
    if not main_tex.is_file():
        raise InvalidArgument(f"--main {str(main_tex)!r}: no such file (the paper's main.tex)")
    build_dir = (generated / "build") if build_dir is None else Path(build_dir).resolve()
    for what, p in (("--out", generated), ("the build directory", build_dir)):
        if not _SAFE_PATH.fullmatch(str(p)):
            raise InvalidArgument(f"{what} {str(p)!r}: TeX cannot read paths with spaces or special "
                                  f"characters; use letters, digits and _ . / + -")
    build_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, max_print_line="100000", SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-outdir={build_dir}", f"-usepretex=\\def\\nnqgGenerated{{{generated}}}", main_tex.name]
    proc = subprocess.run(cmd, cwd=main_tex.parent, env=env, capture_output=True, text=True, errors="replace", timeout=timeout,
                          stdin=subprocess.DEVNULL)
    log = build_dir / (main_tex.stem + ".log")
    text = log.read_text(errors="replace") if log.exists() else proc.stdout + proc.stderr
    errors, undefined, overfull = check_log(text)
    if proc.returncode != 0 and not errors:
        errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-10:]
    return BuildResult(proc.returncode, build_dir / (main_tex.stem + ".pdf"), log, tuple(errors),
                       tuple(undefined), tuple(overfull))


def default_main_tex() -> Path:
    """paper/main.tex under the working directory, else the one beside the installed source tree."""
    here = Path("paper") / "main.tex"
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[1] / "paper" / "main.tex"


# -------------------------------------------------------------------------------------------- Jupyter (LaTeX)


def _aligned(lines: Sequence[str]) -> str:
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


def _text(s: str) -> str:
    return r"\text{" + re.sub(r"([{}\\$&%#_^~])", r"\\\1", s).replace("\\\\", r"\backslash ") + "}"


def symbolic_latex(claim: Claim, sym: SymbolicResult, status: str | None = None) -> str:
    """Jupyter LaTeX (MathJax) of a claim's derivation and checks, one aligned block."""
    lines = [_text(f"{claim.id}" + (f": {status}" if status else "")), _text(claim.statement)]
    for i, s in enumerate(sym.steps, 1):
        lines.append(_text(f"Step {i}. {s.title}"))
        for idx, comp in components(s.rhs):
            lhs = "" if s.lhs is None else paper_latex(s.lhs) + (f"_{{{idx}}}" if idx else "")
            lines.append(f"{lhs} &= {paper_latex(comp)}" if lhs else f"& {paper_latex(comp)}")
    for lab, e in sym.checks:
        lines.append(_text(f"check {lab}: ") + ("0 \\ (exact)" if e == 0 else paper_latex(e) + r" \neq 0"))
    return _aligned(lines)


def claim_repr_latex(claim: Claim) -> str:
    """``Claim._repr_latex_``: the derivation with the claim's default inputs."""
    return symbolic_latex(claim, claim.derivation(claim.default_inputs()))


def verdict_repr_latex(verdict: Verdict) -> str:
    """``Verdict._repr_latex_``: status, derivation, checks and the numeric residual."""
    s = symbolic_latex(verdict.claim, verdict.derivation, verdict.status)
    n = verdict.calibration
    if n is not None:
        extra = _text(f"max residual {n.max_residual:.3g}, tolerance {n.tolerance:.3g}" + (
            f", observed order {n.convergence.observed_order:.3g} (expected {n.convergence.expected_order:g})"
            if n.convergence else ""))
        s = s.replace("\n\\end{aligned}$$", " \\\\\n" + extra + "\n\\end{aligned}$$")
    return s


__all__ = ["BuildResult", "ClaimRecord", "PaperLatexPrinter", "RunInfo", "build_pdf", "check_log", "claim_repr_latex",
           "claim_tex", "equation_tex", "load_report", "paper_latex", "records_from_report", "records_from_verdicts",
           "tex_escape", "verdict_repr_latex", "write_paper"]
