r"""The paper's generated LaTeX: one section per claim, the learning experiments, the verdicts, the abstract.

Nothing is typed twice: each derivation step is the :class:`~nnqg.derivations.Step` the symbolic check produced,
printed by :func:`~nnqg.verify._latex.paper_latex` in the paper's notation and laid out by
:func:`~nnqg.verify._latex.equation_tex` (long right-hand sides broken at their terms, with named
subexpressions; never shrunk below the body's ``\small``); the claims' words come through
:mod:`nnqg.verify._prose`; every number and status (derivation, calibration, learning evidence, seed, versions)
is read from the JSON report that ``nnqg verify`` writes. The abstract's counts are the report's.

A claim's section holds: its statement and assumptions (LaTeX math), its derivation (each step an equation with
its justification; a derivation already printed for an earlier claim is referred to, not repeated; a step too
long for the text goes to the appendix with a reference), its checks summarised one line per family of
identities (the full list in the appendix), its calibration with the convergence figure, its learning evidence
and its verdict. The section "Learning experiments" shows every experiment the report holds: verdict, measured
distances with standard errors, controls, threshold, power and a figure.

>>> tex_number(1.234e-05), tex_number("nan"), tex_number(None), tex_number(0.5)
('$1.23\\times 10^{-5}$', 'NaN', '--', '$0.5$')
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import sympy as sp

from nnqg.derivations import InvalidArgument, Step
from nnqg.derivations._files import read_user_text
from nnqg.numerics._atomic import atomic_write_bytes

from ._figures import as_float, convergence_figure, learning_figure
from ._latex import LINE_WIDTH, PaperLatexPrinter, add_terms, break_terms, components, equation_tex, \
    equations_tex, group_terms, layout, line_element, paper_latex, signed_terms, tex_escape, tex_id, tex_width
from ._model import FAILED, NONFINITE, NOT_SUPPORTED, NOT_TESTED, REPRODUCED, SUPPORTED, Claim, SymbolicResult, \
    Verdict
from ._paper_build import BuildResult, build_pdf, check_log, default_main_tex
from ._prose import NOTATION, check_families, instances_tex, prose_tex, statement_tex, strip_implementation
from ._registry import all_claims, claim_source_hash

#: a step whose layout needs more lines than this is printed in the appendix, with a reference in the text
MAX_INLINE_LINES = 8


def tex_number(x: Any) -> str:
    r"""A report number as math: 3 significant digits, powers of ten as :math:`\times 10^{k}`."""
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

    @property
    def headline(self) -> str:
        return str(self.entry.get("headline", ""))


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


def load_report(path: Path, what: str = "--report") -> dict[str, Any]:
    """Read and check a JSON report written by ``nnqg verify --json``; errors name the file and the fix."""
    path = Path(path)
    text = read_user_text(path, what, hint=f"; write one with `nnqg verify --json {path}`")
    try:
        rep = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{what} {str(path)!r}: not a JSON report ({exc})") from None
    if not isinstance(rep, dict) or not isinstance(rep.get("claims"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("status"), str)
            for c in rep["claims"]):
        raise InvalidArgument(f"{what} {str(path)!r}: expected the JSON of `nnqg verify --json` "
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


# ------------------------------------------------------------------------------------------------- the parts

#: docs/theory.md sections by half of the duality
PART_OF_SECTION = {2: "quantum", 3: "quantum", 4: "quantum", 5: "gravity", 6: "gravity", 7: "gravity",
                   8: "gravity", 9: "duality"}
PARTS = ("quantum", "gravity", "duality", "other")
PART_TITLES = {"quantum": "The quantum half: trainable variables",
               "gravity": "The gravitational half: non-trainable variables",
               "duality": "The duality", "other": "Other claims"}
PART_INTROS = {
    "quantum": r"An ensemble of learning networks obeys a Fokker--Planck equation; at a fixed number of neurons "
               r"the principle of stationary entropy production makes the density $p$ and the free energy $F$ of "
               r"the hidden neurons obey Madelung's equations with $m = 1/\gamma$ and $\hbar^2 = c/\gamma$, and "
               r"Schr\"odinger's equation when the free energy's circulation is quantised "
               r"\citep{vanchurin2022quantumgravity,vanchurin2020world,katsnelson2021quantumness}.",
    "gravity": r"Averaged states of the neurons obey a wave equation with Lorentz symmetry; interacting "
               r"subsystems give an emergent metric, localised states move on its geodesics, and the entropy "
               r"production of the whole network reduces to the Einstein--Hilbert action with a cosmological "
               r"constant \citep{vanchurin2022quantumgravity,vanchurin2020world}.",
    "duality": r"The same learning system carries both descriptions \citep{vanchurin2022quantumgravity}.",
    "other": "Claims registered outside the sections of the theory.",
}


def part_of(claim: Claim) -> str:
    m = re.match(r"\s*(\d+)", claim.section)
    return PART_OF_SECTION.get(int(m.group(1)), "other") if m else "other"


HEADER = "% Generated by `nnqg paper` from the claims' SymPy objects and the JSON report. Do not edit.\n"

MACROS = r"""% Generated by `nnqg paper`. Do not edit.
% \nnqgfit[frac]{math}: display math at its natural width; a line wider than frac\linewidth is shrunk to fit, but
% never below 0.9 of its size (the body's \small): a line that still does not fit overflows and the build says so.
\makeatletter
\newsavebox\nnqg@box
\newdimen\nnqg@w
\providecommand{\nnqgfit}{}
\renewcommand{\nnqgfit}[2][0.8]{\sbox\nnqg@box{$\displaystyle #2$}%
  \ifdim\wd\nnqg@box>#1\linewidth
    \nnqg@w=#1\linewidth
    \ifdim\nnqg@w<0.9\wd\nnqg@box \nnqg@w=0.9\wd\nnqg@box \fi
    \resizebox{\nnqg@w}{!}{\usebox\nnqg@box}%
  \else\usebox\nnqg@box\fi}
\makeatother
\providecommand{\nnqgstatus}[1]{\textsf{\textbf{#1}}}
\providecommand{\FloatBarrier}{}% without placeins, figures float freely
\providecommand{\citep}[1]{\cite{#1}}
"""


# ------------------------------------------------------------------------------------------------ derivations


def _words(step: Step) -> str:
    """The words of a step stated in words (a symbol named ``\\mathrm{exact\\ identities}`` reads "exact
    identities")."""
    w = step.rhs if isinstance(step.rhs, str) else step.rhs.name
    w = re.sub(r"\\(?:mathrm|text)\{(.*)\}", r"\1", w)
    return w.replace("\\ ", " ").replace("\\", "")


def _is_words(step: Step) -> bool:
    """A step whose value is words (a string, or a symbol named by a phrase): printed as a sentence, never as a
    numbered equation."""
    rhs = step.rhs
    if isinstance(rhs, str):
        return True
    return isinstance(rhs, sp.Symbol) and (" " in rhs.name or rhs.name.startswith("\\text")) and step.lhs is None


def _component_lhs(lhs: str | None, idx: str) -> str:
    base = lhs if lhs is not None else "M"
    if re.fullmatch(r"\\?[A-Za-z]+(\{[A-Za-z]\})?", base):
        return f"{base}_{{{idx}}}"
    return rf"\left({base}\right)_{{{idx}}}"


def step_equations(step: Step, label: str) -> list[tuple[str, Any]]:
    """(lhs LaTeX, rhs) pairs of one step, in order: a metric with index names as its line element, another
    matrix or array per non-zero component (labelled by the index names), a scalar as itself."""
    lhs = None if step.lhs is None else paper_latex(step.lhs)
    rhs = step.rhs
    if isinstance(rhs, sp.Equality):
        lhs, rhs = paper_latex(rhs.lhs), rhs.rhs
    if isinstance(rhs, sp.MatrixBase) and rhs.is_square and step.indices and lhs is None and rhs.is_symmetric():
        return [("ds^{2}", line_element(rhs, step.indices))]
    comps = components(rhs, step.indices)
    if len(comps) == 1 and comps[0][0] == "":
        return [(lhs, comps[0][1])]
    if isinstance(rhs, sp.MatrixBase) and rhs.is_square and rhs.rows > 1 and rhs.is_symmetric():
        keep = {(i, j) for i in range(rhs.rows) for j in range(i, rhs.cols) if rhs[i, j] != 0}
        order = [(i, j) for i in range(rhs.rows) for j in range(rhs.cols) if rhs[i, j] != 0]
        comps = [c for c, ij in zip(comps, order) if ij in keep]  # a symmetric matrix: the upper triangle
    return [(_component_lhs(lhs, idx), comp) for idx, comp in comps]


def _step_signature(steps: Sequence[Step]) -> str:
    h = hashlib.sha256()
    for s in steps:
        h.update(s.title.encode())
        h.update(str(s.rhs).encode())
        h.update(str(s.lhs).encode())
    return h.hexdigest()


@dataclass
class PaperState:
    """What is shared across the claims of one paper: derivations already printed (by signature) and the
    equations sent to the appendix."""

    printed: dict[str, str] = field(default_factory=dict)
    long_equations: list[str] = field(default_factory=list)


def derivation_tex(rec: ClaimRecord, state: PaperState) -> list[str]:
    """The derivation of one claim: each step its justification and its equation(s)."""
    c, sym = rec.claim, rec.derivation
    if not sym.steps:
        return [r"\paragraph{Derivation.} The claim is checked by the identities below; it has no derivation steps "
                r"of its own.", ""]
    sig = _step_signature(sym.steps)
    if sig in state.printed:
        first = state.printed[sig]
        return [rf"\paragraph{{Derivation.}} The same as for {tex_id(first)} "
                rf"(\S\ref{{claim:{first}}}), applied here to this claim's system; not repeated.", ""]
    state.printed[sig] = c.id
    out = [r"\paragraph{Derivation.}", ""]
    for i, s in enumerate(sym.steps, 1):
        title = prose_tex(strip_implementation(s.title)) + (f" ({prose_tex(s.note)})" if s.note else "")
        label = f"eq:{c.id}:{i}"
        if _is_words(s):
            out += [rf"\noindent\textit{{Step {i}.}} {title}: {prose_tex(_words(s))}.", ""]
            continue
        eqs = step_equations(s, label)
        n_lines = sum(layout(r, l).n_lines for l, r in eqs)
        if n_lines > MAX_INLINE_LINES:
            app = f"app:{c.id}:{i}"
            out += [rf"\noindent\textit{{Step {i}.}} {title}. The expression needs {n_lines} lines; it is "
                    rf"printed in full in Appendix~\ref{{app:long}}, eq.~\eqref{{{app}}}.", ""]
            state.long_equations.append(
                rf"\paragraph{{{tex_id(c.id)}, step {i}.}} {title}." + "\n"
                + "\n" + equations_tex(eqs, label=app))
            continue
        out.append(rf"\noindent\textit{{Step {i}.}} {title}.")
        out.append(equations_tex(eqs, label=label))
        out.append("")
    return out


def checks_tex(rec: ClaimRecord) -> list[str]:
    """The derivation's verdict: one line per family of identities, the full list in the appendix."""
    sym = rec.derivation
    fams = check_families(sym.checks, sym.facts)
    n_id, n_f = len(sym.checks), len(sym.facts)
    head = (f"{n_id} {'identity' if n_id == 1 else 'identities'}"
            + (f" and {n_f} {'fact' if n_f == 1 else 'facts'}" if n_f else "")
            + f" in {len(fams)} {'family' if len(fams) == 1 else 'families'}")
    verdict = ("every identity reduces to the literal $0$ and every fact is shown" if sym.ok
               else r"\emph{not all identities reduce to $0$}")
    out = [rf"\paragraph{{Checks.}} {head}: {verdict} (the full list is in Appendix~\ref{{app:checks}}).",
           r"\begin{itemize}\setlength\itemsep{0pt}"]
    for f in fams:
        where = instances_tex(f.instances)
        count = f"{f.n} {'fact' if f.fact else 'case'}{'s' if f.n > 1 else ''}"
        status = ("shown" if f.fact else r"$0$") if f.ok else r"\emph{fails} for " + ", ".join(
            tex_escape(strip_implementation(x)) for x in f.failing)
        out.append(rf"  \item {prose_tex(f.text)}: {status} ({count}" + (f": {where}" if where else "") + ").")
    if not fams:
        out.append(r"  \item (no symbolic check registered)")
    out.append(r"\end{itemize}")
    for labl, expr in sym.checks:
        if expr != 0:
            out.append(rf"The remainder of \emph{{{prose_tex(strip_implementation(labl))}}} is")
            out.append(equation_tex(expr, None, numbered=False))
    return out + [""]


# ------------------------------------------------------------------------------------------------ numbers


def calibration_tex(rec: ClaimRecord) -> list[str]:
    c, e = rec.claim, rec.cal
    out = [r"\paragraph{Calibration (constructed solutions).}"]
    if e.get("status", "NOT RUN") == "NOT RUN" or e.get("max_residual") is None:
        return out + [rf"\nnqgstatus{{NOT RUN}}: {prose_tex(e.get('reason', c.calibration_note))}.", ""]
    if e.get("system"):
        out.append(rf"System: {prose_tex(e['system'])}.")
    sentence = (rf"\nnqgstatus{{{tex_escape(e.get('status', '?'))}}}. Maximum residual "
                rf"{tex_number(e.get('max_residual'))}, tolerance {tex_number(e.get('tolerance'))}")
    conv = e.get("convergence")
    if conv:
        sentence += (rf"; observed order {tex_number(conv.get('observed_order'))} "
                     rf"(expected {tex_number(conv.get('expected_order'))}) over "
                     rf"{len(conv.get('points', []))} refinements of {prose_tex(conv.get('quantity', 'h'))}")
    out.append(sentence + ".")
    if e.get("rule"):
        out.append(rf"Decision rule: {prose_tex(e['rule'])}.")
    for k, v in sorted((e.get("power") or {}).items()):
        out.append(rf"Power: {prose_tex(k)} is detected from {tex_number(v)}.")
    if e.get("where"):
        out.append(rf"Details: {prose_tex(e['where'])}.")
    out.append("")
    if conv and conv.get("points"):
        fig = f"fig-{file_stem(c.id)}.pdf"
        out += [r"\begin{figure}[!htbp]\centering",
                rf"\includegraphics[width=0.6\linewidth]{{\nnqgGenerated/{fig}}}",
                rf"\caption{{{tex_id(c.id)}, calibration: {prose_tex(conv.get('quantity', 'residual'))}, log-log; "
                rf"dashed: the expected slope {tex_number(conv.get('expected_order'))} through the finest point; "
                rf"the red bar marks the tolerance at the finest level.}}\label{{fig:{c.id}}}",
                r"\end{figure}", ""]
    return out


def learning_summary_tex(rec: ClaimRecord) -> list[str]:
    """The learning part inside a claim's section: the verdict, and where the experiment is described."""
    e = rec.learn
    st = str(e.get("status", NOT_TESTED))
    out = [r"\paragraph{Learning evidence.}"]
    if st == NOT_TESTED:
        return out + [rf"\nnqgstatus{{NOT TESTED}}: {prose_tex(e.get('reason', rec.claim.learning_note))}.", ""]
    return out + [rf"\nnqgstatus{{{tex_escape(st)}}}: {prose_tex(e.get('reason', ''))}. The experiment, its "
                  rf"controls and its figure are in \S\ref{{learn:{rec.claim.id}}}.", ""]


def claim_tex(rec: ClaimRecord, state: PaperState | None = None) -> str:
    """The LaTeX subsection of one claim (see the module docstring)."""
    state = PaperState() if state is None else state
    c, e = rec.claim, rec.entry
    out = [HEADER, r"\needspace{8\baselineskip}",
           rf"\subsection{{\texorpdfstring{{{tex_id(c.id)}}}{{{tex_escape(c.id)}}}}}\label{{claim:{c.id}}}",
           rf"\noindent\textit{{{prose_tex(rec.headline) or tex_escape(rec.status)}.}} "
           rf"Theory: docs/theory.md, section {tex_escape(c.section)}"
           + ("; a registered counterexample" if c.counterexample else "") + r".\par", "",
           rf"\paragraph{{Claim.}} {statement_tex(c.id, c.statement)}", ""]
    if c.assumptions:
        out += [r"\paragraph{Assumptions.}", r"\begin{itemize}\setlength\itemsep{0pt}"]
        out += [rf"  \item {prose_tex(a)}" for a in c.assumptions] + [r"\end{itemize}", ""]
    out += derivation_tex(rec, state)
    out += checks_tex(rec)
    out += calibration_tex(rec)
    out += learning_summary_tex(rec)
    out += [rf"\paragraph{{Verdict.}} \nnqgstatus{{{tex_escape(rec.status)}}} (the program's own checks): "
            rf"{prose_tex(e.get('reason', ''))}. Source hash \texttt{{{tex_escape(str(e.get('source_hash', ''))[:16])}}}.",
            ""]
    if rec.stale:
        out += [r"\emph{Note: the report entry was produced from a different version of this claim's source "
                r"than the derivation printed above; rerun \texttt{nnqg verify}.}", ""]
    out.append(r"\FloatBarrier")  # this claim's figure stays before the next claim (placeins)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------- learning experiments


def _measure_rows(ms: Sequence[Mapping[str, Any]]) -> list[str]:
    return [rf"{prose_tex(m.get('label', ''))} & {tex_number(m.get('distance'))} & {tex_number(m.get('se'))} & "
            rf"\nnqgstatus{{{tex_escape(m.get('status', '') or '--')}}} \\" for m in ms]


def learning_tex(records: Sequence[ClaimRecord]) -> str:
    """The section "Learning experiments": every experiment in the report (verdict, system, measured distances,
    controls, rule, power, figure), then the claims without one and why."""
    tested = [r for r in records if r.learn.get("status", NOT_TESTED) != NOT_TESTED]
    out = [HEADER, r"\section{Learning experiments}\label{sec:learning}",
           r"A learning experiment measures a claim's equation on a system whose parameters move by a learning rule, "
           r"from data, as a distance $d$ (0 when the equation holds) with a standard error $s$; with the "
           r"pre-registered threshold $\tau$ and $k$ standard errors it is SUPPORTED when $d + ks \le \tau$, NOT "
           r"SUPPORTED when $d - ks > \tau$ and INCONCLUSIVE otherwise. A positive and a negative control run at the "
           r"same sizes; when they do not separate, the verdict is INCONCLUSIVE. A NOT SUPPORTED verdict is a "
           r"finding about the theory, not an error of the program.", ""]
    if not tested:
        out += [r"No learning experiment ran in this report: every claim's learning evidence is NOT TESTED "
                r"(reasons below).", ""]
    for r in tested:
        e = r.learn
        fig = f"fig-learning-{file_stem(r.claim.id)}.pdf"
        out += [r"\needspace{8\baselineskip}",
                rf"\subsection{{\texorpdfstring{{{tex_id(r.claim.id)}}}{{{tex_escape(r.claim.id)}}}: "
                rf"{tex_escape(e.get('status', ''))}}}\label{{learn:{r.claim.id}}}",
                rf"\noindent\nnqgstatus{{{tex_escape(e.get('status', ''))}}}: {prose_tex(e.get('reason', ''))}.\par",
                rf"\emph{{Learning system.}} {prose_tex(e.get('system', '')) or '--'}.",
                rf"\emph{{Measured.}} {prose_tex(e.get('quantity', '')) or '--'}; threshold "
                rf"{tex_number(e.get('threshold'))} at {tex_number(e.get('sigmas'))} standard errors; the smallest "
                rf"distance the rule declares NOT SUPPORTED at these sizes is {tex_number(e.get('power'))}.",
                (rf"\emph{{Pre-registration:}} {prose_tex(e.get('preregistration', ''))}."
                 if e.get("preregistration") else ""), "",
                r"\begin{center}\small",
                r"\begin{tabular}{@{}p{0.5\linewidth}lll@{}}\toprule",
                r"measurement & distance & SE & verdict \\ \midrule",
                *_measure_rows(e.get("measured", [])),
                *([r"\midrule"] + _measure_rows(e.get("controls", [])) if e.get("controls") else []),
                r"\bottomrule\end{tabular}", r"\end{center}"]
        if e.get("measured") or e.get("controls"):
            out += [r"\begin{figure}[!htbp]\centering",
                    rf"\includegraphics[width=0.6\linewidth]{{\nnqgGenerated/{fig}}}",
                    rf"\caption{{{tex_id(r.claim.id)}, learning evidence: each distance with its error bar "
                    rf"({tex_number(e.get('sigmas'))} standard errors, the rule's width) and the threshold "
                    rf"(dashed).}}\label{{fig:learning:{r.claim.id}}}", r"\end{figure}"]
        out += [r"\FloatBarrier", ""]
    untested = [r for r in records if r.learn.get("status", NOT_TESTED) == NOT_TESTED]
    if untested:
        by_reason: dict[str, list[str]] = {}
        for r in untested:
            by_reason.setdefault(str(r.learn.get("reason", r.claim.learning_note)), []).append(r.claim.id)
        out += [r"\paragraph{Not tested.} These claims have no learning evidence in this report:",
                r"\begin{itemize}\setlength\itemsep{0pt}"]
        out += [rf"  \item {', '.join(tex_id(i) for i in ids)}: {prose_tex(reason)}."
                for reason, ids in by_reason.items()]
        out += [r"\end{itemize}", ""]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------- tables and summary


def verdict_table_tex(records: Sequence[ClaimRecord]) -> str:
    """A longtable of every claim: the three parts (derivation, calibration, learning evidence), section."""
    rows = []
    for r in records:
        cal = r.cal.get("status", "NOT RUN")
        if r.claim.counterexample and cal == "PASSED":
            cal = r.status
        rows.append(rf"{tex_id(r.claim.id)} & {tex_escape((r.entry.get('derivation') or {}).get('status', '?'))} & "
                    rf"\nnqgstatus{{{tex_escape(cal)}}} & "
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


def _count(records: Sequence[ClaimRecord], key: str, value: str) -> list[ClaimRecord]:
    return [r for r in records if getattr(r, key).get("status", "") == value]


def abstract_tex(records: Sequence[ClaimRecord], report: Mapping[str, Any]) -> str:
    """The abstract: what was derived, calibrated and observed in this report, every count from the report."""
    n = len(records)
    exact = [r for r in records if (r.entry.get("derivation") or {}).get("status") == "EXACT"]
    n_ident = sum(int((r.entry.get("derivation") or {}).get("identities", 0)) for r in records)
    cal = {s: [r for r in records if r.cal.get("status", "NOT RUN") == s]
           for s in ("PASSED", "FAILED", "NONFINITE", "INCONCLUSIVE", "NOT RUN")}
    learn = {s: [r for r in records if r.learn.get("status", NOT_TESTED) == s]
             for s in (SUPPORTED, NOT_SUPPORTED, "INCONCLUSIVE", NOT_TESTED)}
    repro = [r for r in records if r.status == REPRODUCED]

    def ids(rs: Sequence[ClaimRecord]) -> str:
        return ", ".join(tex_id(r.claim.id) for r in rs)

    parts = [r"V.~Vanchurin argues that a learning neural network has two macroscopic descriptions: its trainable "
             r"variables obey quantum mechanics (Madelung's and Schr\"odinger's equations) and its non-trainable "
             r"variables obey general relativity \citep{vanchurin2022quantumgravity}. We check "
             rf"{n} of its claims by machine and report each in three parts."]
    d = (rf"\emph{{Derived:}} {len(exact)} of {n} derivations reduce exactly to zero ({n_ident} symbolic identities)"
         + ("" if len(exact) == n else rf"; {n - len(exact)} do not: {ids([r for r in records if r not in exact])}")
         + ".")
    ran = n - len(cal["NOT RUN"])
    c = (rf"\emph{{Calibrated}} on constructed solutions (not learning): {len(cal['PASSED'])} of {ran} calibrations "
         rf"pass")
    extra = [f"{len(cal[s])} {s.lower()}" for s in ("FAILED", "NONFINITE", "INCONCLUSIVE") if cal[s]]
    c += (" (" + ", ".join(extra) + ")" if extra else "") + (
        f"; {len(cal['NOT RUN'])} claims have no calibration" if cal["NOT RUN"] else "") + (
        f"; {len(repro)} registered counterexample{'s' if len(repro) > 1 else ''} reproduced" if repro else "") + "."
    obs = [rf"\emph{{Learning evidence}}, the claim's equation measured on a system that learns:"]
    pieces = []
    if learn[NOT_SUPPORTED]:
        pieces.append(rf"\textbf{{NOT SUPPORTED}} for {ids(learn[NOT_SUPPORTED])}")
    if learn[SUPPORTED]:
        pieces.append(rf"SUPPORTED for {ids(learn[SUPPORTED])}")
    if learn["INCONCLUSIVE"]:
        pieces.append(rf"INCONCLUSIVE for {ids(learn['INCONCLUSIVE'])}")
    pieces.append(f"not tested for {len(learn[NOT_TESTED])} of {n} claims")
    obs.append("; ".join(pieces) + ".")
    tail = ("A NOT SUPPORTED verdict is a finding about the theory; it does not make the program fail. "
            if learn[NOT_SUPPORTED] else "")
    tail += "Every equation and number below is generated from the objects the checks ran on and from one report."
    return HEADER + "\n".join(parts + [d, c, " ".join(obs), tail]) + "\n"


def run_tex(info: RunInfo) -> str:
    """The run's seed, profile and versions, as a sentence and macros (``\\nnqgSeed``)."""
    vers = ", ".join(f"{tex_escape(k)} {tex_escape(v)}" for k, v in sorted(info.versions.items()))
    prof = "quick" if info.quick else "full"
    return HEADER + "\n".join([
        rf"\providecommand{{\nnqgSeed}}{{{tex_escape(str(info.seed))}}}",
        rf"All numbers come from one run of \texttt{{nnqg verify}} with seed {tex_escape(str(info.seed))}, "
        rf"the {prof} size profile" + ("" if info.calibration else r", symbolic checks only (no numeric check was run)")
        + rf", and {vers}.", ""])


def notation_tex() -> str:
    rows = [rf"{sym} & {text} & {where} \\" for sym, text, where in NOTATION]
    return HEADER + "\n".join([
        r"\begin{center}\small",
        r"\begin{longtable}{@{}p{0.3\linewidth}p{0.52\linewidth}l@{}}",
        r"\caption{Notation. Derivatives are written $\partial_q p$, $\partial_t\partial_q F$; a function of the "
        r"coordinates is written by its name ($p$ for $p(t, q)$).}\label{tab:notation}\\",
        r"\toprule symbol & meaning & theory \\ \midrule \endfirsthead",
        r"\toprule symbol & meaning & theory \\ \midrule \endhead",
        r"\bottomrule \endfoot",
        *rows, r"\end{longtable}", r"\end{center}", ""])


def outcomes_tex(records: Sequence[ClaimRecord], unknown: Sequence[str] = ()) -> str:
    """What failed, what was reproduced as a counterexample, what was not calibrated, what learning rejected."""
    failed = [r for r in records if r.status in (FAILED, NONFINITE)]
    repro = [r for r in records if r.status == REPRODUCED]
    no_num = [r for r in records if r.cal.get("status", "NOT RUN") == "NOT RUN"]
    rejected = [r for r in records if r.learn.get("status") == NOT_SUPPORTED]
    out = [HEADER]

    def listing(rs: Sequence[ClaimRecord], what: str = "reason") -> list[str]:
        return [r"\begin{itemize}\setlength\itemsep{0pt}"] + [
            rf"  \item {tex_id(r.claim.id)} (\S\ref{{claim:{r.claim.id}}}): "
            + (prose_tex(r.learn.get("reason", "")) if what == "learning"
               else f"{tex_escape(r.status)}: {prose_tex(r.entry.get('reason', ''))}") + "." for r in rs] \
            + [r"\end{itemize}"]

    out.append(r"\paragraph{Not supported by learning.}")
    out += listing(rejected, "learning") if rejected else ["No learning experiment returned NOT SUPPORTED."]
    out.append(r"\paragraph{Failed.}")
    out += listing(failed) if failed else ["No claim failed in this run."]
    out.append(r"\paragraph{Reproduced counterexamples.}")
    out += listing(repro) if repro else ["No counterexample was registered or reproduced in this run."]
    out.append(r"\paragraph{Not calibrated.}")
    out += ([r"These claims rest on their exact derivation alone (no numeric calibration):",
             r"\begin{itemize}\setlength\itemsep{0pt}"]
            + [rf"  \item {tex_id(r.claim.id)}: {prose_tex(r.cal.get('reason', r.claim.calibration_note))}."
               for r in no_num] + [r"\end{itemize}"]) if no_num else ["Every claim was also calibrated."]
    stale = [r for r in records if r.stale]
    if stale:
        out.append(r"\paragraph{Stale report entries.} Produced from a different version of the claim's source: "
                   + ", ".join(tex_id(r.claim.id) for r in stale) + ".")
    if unknown:
        out.append(r"\paragraph{Unknown claims.} The report names claims that are no longer registered: "
                   + ", ".join(tex_id(u) for u in unknown) + ".")
    return "\n".join(out) + "\n"


def appendix_checks_tex(records: Sequence[ClaimRecord]) -> str:
    """Every identity and fact of every claim, one line each."""
    out = [HEADER, r"\section{Every identity}\label{app:checks}",
           r"Each identity is a difference that SymPy reduces to the literal $0$; each fact is a statement shown "
           r"true (implementation notes such as the arithmetic used are omitted).", ""]
    for r in records:
        sym = r.derivation
        out += [rf"\paragraph{{{tex_id(r.claim.id)}.}}", r"{\small\begin{itemize}\setlength\itemsep{0pt}"]
        for lab, e in sym.checks:
            out.append(rf"  \item {prose_tex(strip_implementation(lab))}: "
                       + ("$0$." if e == 0 else r"\emph{not} $0$."))
        for lab, v in sym.facts:
            out.append(rf"  \item {prose_tex(strip_implementation(lab))}: " + ("shown." if v else r"\emph{not} shown."))
        if not sym.checks and not sym.facts:
            out.append(r"  \item (none)")
        out += [r"\end{itemize}}", ""]
    return "\n".join(out) + "\n"


def appendix_equations_tex(state: PaperState) -> str:
    out = [HEADER, r"\section{Long expressions}\label{app:long}"]
    if state.long_equations:
        out += [r"Derivation steps too long for the text, in full (named subexpressions $\mathcal{X}_k$ are "
                r"defined below each equation).", ""] + state.long_equations
    else:
        out.append("Every derivation step fits in the text.")
    return "\n".join(out) + "\n"


def part_tex(part: str, records: Sequence[ClaimRecord]) -> str:
    """The section of one part (quantum, gravity, ...) with its claims' ``\\input`` lines; an empty file (no
    heading) when the report has no claim of this part, so main.tex never names a missing file."""
    rs = [r for r in records if part_of(r.claim) == part]
    if not rs:
        return HEADER + f"% no claim of the part '{part}' in this report\n"
    return HEADER + "\n".join([rf"\section{{{PART_TITLES[part]}}}\label{{sec:{part}}}", PART_INTROS[part], ""]
                              + [rf"\input{{\nnqgGenerated/{r.claim.id}.tex}}" for r in rs]) + "\n"


def write_paper(records: Sequence[ClaimRecord], report: Mapping[str, Any], out: Path,
                unknown: Sequence[str] = ()) -> list[Path]:
    """Write every generated file of the paper into ``out``; return their paths (sorted).

    Files: ``<claim-id>.tex`` per claim, ``fig-<claim>.pdf`` per convergence study, ``fig-learning-<claim>.pdf``
    per learning experiment, ``claims-<part>.tex`` for part in quantum, gravity, duality, other (always written),
    ``abstract.tex``, ``notation.tex``, ``learning.tex``, ``verdicts.tex``, ``run.tex``, ``outcomes.tex``,
    ``appendix-checks.tex``, ``appendix-equations.tex``, ``macros.tex``. The same records and report give
    byte-identical files.
    """
    out = Path(out)
    state = PaperState()
    files: dict[str, bytes] = {"macros.tex": MACROS.encode()}
    for r in records:
        files[f"{r.claim.id}.tex"] = claim_tex(r, state).encode()
        conv = r.cal.get("convergence")
        if conv and conv.get("points"):
            files[f"fig-{file_stem(r.claim.id)}.pdf"] = convergence_figure(
                conv, fmt="pdf", tolerance=as_float(r.cal.get("tolerance")), salt=r.claim.id)
        if r.learn.get("status", NOT_TESTED) != NOT_TESTED and (r.learn.get("measured") or r.learn.get("controls")):
            files[f"fig-learning-{file_stem(r.claim.id)}.pdf"] = learning_figure(r.learn, fmt="pdf",
                                                                                 salt="learning-" + r.claim.id)
    for part in PARTS:
        files[f"claims-{part}.tex"] = part_tex(part, records).encode()
    files["abstract.tex"] = abstract_tex(records, report).encode()
    files["notation.tex"] = notation_tex().encode()
    files["learning.tex"] = learning_tex(records).encode()
    files["verdicts.tex"] = verdict_table_tex(records).encode()
    files["run.tex"] = run_tex(run_info(report)).encode()
    files["outcomes.tex"] = outcomes_tex(records, unknown).encode()
    files["appendix-checks.tex"] = appendix_checks_tex(records).encode()
    files["appendix-equations.tex"] = appendix_equations_tex(state).encode()
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        p = out / name
        if not (p.exists() and p.read_bytes() == data):  # unchanged files keep their mtime (latexmk, make)
            atomic_write_bytes(p, data)
        written.append(p)
    return written


# ------------------------------------------------------------------------------------- pasteable derivations


def derivation_align(claim: Claim, sym: SymbolicResult) -> str:
    r"""A claim's derivation as one ``align`` environment in the paper's notation (one number per step's
    equation), for pasting into any LaTeX
    document with amsmath: no macro of the generated paper is used. Step titles are ``\intertext`` lines; long
    right-hand sides are broken at their terms, with named subexpressions :math:`\mathcal{X}_k` defined after
    them; the checks follow as a comment block."""
    rows: list[str] = []
    for i, s in enumerate(sym.steps, 1):
        title = prose_tex(strip_implementation(s.title)) + (f" ({prose_tex(s.note)})" if s.note else "")
        if _is_words(s):
            rows.append(rf"\intertext{{Step {i}. {title}: {prose_tex(_words(s))}.}}")
            continue
        rows.append(rf"\intertext{{Step {i}. {title}.}}")
        for lhs, rhs in step_equations(s, ""):
            lay = layout(rhs, lhs)
            head = f"{lhs} &= " if lhs else "&"
            lines = [head + lay.lines[0]] + [rf"&\quad {ln} \notag" for ln in lay.lines[1:]]
            for k, (name, dl) in enumerate(lay.definitions):
                lines += [(r"&\text{where } " if k == 0 else "&\\phantom{\\text{where }}") + f"{name} = {dl[0]}"
                          + r" \notag"]
                lines += [rf"&\quad {ln} \notag" for ln in dl[1:]]
            rows += lines
    body = " \\\\\n".join(r for r in rows)
    body = re.sub(r"(\\intertext\{[^\n]*\}) \\\\\n", r"\1\n", body)
    checks = [f"%   {strip_implementation(lab)}: " + ("0 (exact)" if e == 0 else f"NOT 0: {e}")
              for lab, e in sym.checks] + [f"%   {strip_implementation(lab)}: {'shown' if v else 'NOT shown'}"
                                          for lab, v in sym.facts]
    head = [f"% {claim.id} (docs/theory.md, section {claim.section}), generated by nnqg derive --latex",
            f"% {claim.statement}", "% needs \\usepackage{amsmath,amssymb}"]
    return "\n".join(head + ["\\begin{align}", body, "\\end{align}", "% checks:"] + checks) + "\n"


# -------------------------------------------------------------------------------------------- Jupyter (LaTeX)


def _aligned(lines: Sequence[str]) -> str:
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


def _text(s: str) -> str:
    return r"\text{" + re.sub(r"([{}\\$&%#_^~])", r"\\\1", s).replace("\\\\", r"\backslash ") + "}"


def symbolic_latex(claim: Claim, sym: SymbolicResult, status: str | None = None) -> str:
    """Jupyter LaTeX (MathJax) of a claim's derivation and checks, one aligned block."""
    lines = [_text(f"{claim.id}" + (f": {status}" if status else "")), _text(claim.statement)]
    for i, s in enumerate(sym.steps, 1):
        lines.append(_text(f"Step {i}. {strip_implementation(s.title)}"))
        if _is_words(s):
            continue
        for lhs, comp in step_equations(s, ""):
            lines.append(f"{lhs} &= {paper_latex(comp)}" if lhs else f"& {paper_latex(comp)}")
    for f in check_families(sym.checks, sym.facts):
        lines.append(_text(f"{f.text}: " + ("0 (exact)" if f.ok and not f.fact else "shown" if f.ok else "FAILS")
                           + f" ({f.n})"))
    return _aligned(lines)


def claim_repr_latex(claim: Claim) -> str:
    """``Claim._repr_latex_``: the derivation with the claim's default inputs."""
    return symbolic_latex(claim, claim.derivation(claim.default_inputs()))


def verdict_repr_latex(verdict: Verdict) -> str:
    """``Verdict._repr_latex_``: the parts' statuses, derivation, checks and the calibration's residual."""
    s = symbolic_latex(verdict.claim, verdict.derivation, verdict.headline)
    n = verdict.calibration
    if n is not None and n.ran:
        extra = _text(f"calibration: max residual {n.max_residual:.3g}, tolerance {n.tolerance:.3g}" + (
            f", observed order {n.convergence.observed_order:.3g} (expected {n.convergence.expected_order:g})"
            if n.convergence else ""))
        s = s.replace("\n\\end{aligned}$$", " \\\\\n" + extra + "\n\\end{aligned}$$")
    return s


__all__ = ["BuildResult", "ClaimRecord", "PaperLatexPrinter", "RunInfo", "add_terms", "break_terms", "build_pdf",
           "check_log", "claim_repr_latex", "claim_tex", "components", "default_main_tex", "derivation_align",
           "equation_tex", "group_terms", "load_report", "paper_latex", "records_from_report",
           "records_from_verdicts", "signed_terms", "tex_escape", "tex_width", "verdict_repr_latex", "write_paper",
           "LINE_WIDTH"]
