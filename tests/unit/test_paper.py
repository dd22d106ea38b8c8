"""`nnqg paper`: LaTeX generated from the claims' SymPy objects and the report; compiles; reproducible."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from nnqg.derivations import Step
from nnqg.verify import Claim, Convergence, NumericContext, NumericResult, SymbolicResult, build_report, judge, \
    run_claim, select_claims, write_report
from nnqg.verify._cli import main
from nnqg.verify._latex import LINE_WIDTH, iter_lines, layout
from nnqg.verify._paper import build_pdf, check_log, equation_tex, load_report, paper_latex, records_from_report, \
    records_from_verdicts, tex_escape, tex_width, write_paper
from nnqg.verify._paper_build import pdf_words

REPO = Path(__file__).resolve().parents[2]
MAIN_TEX = REPO / "paper" / "main.tex"
HAVE_TEX = shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None
NEED_TEX = pytest.mark.skipif(not HAVE_TEX, reason="latexmk/pdflatex not installed "
                              "(Debian: apt-get install latexmk texlive-latex-extra texlive-latex-recommended "
                              "texlive-fonts-recommended poppler-utils)")


# ------------------------------------------------------------------------------------------- fake claims


def _sym() -> dict:
    t, q = sp.symbols("t q", real=True)
    p = sp.Function("p")(t, q)
    gamma, hbar, m, Lam = sp.symbols("gamma hbar m Lambda", positive=True)
    return dict(t=t, q=q, p=p, gamma=gamma, hbar=hbar, m=m, Lam=Lam)


def long_sum() -> sp.Expr:
    s = _sym()
    return sp.Add(*[sp.Derivative(s["p"], s["q"], k % 3 + 1) * s["q"] ** k / (k + 1) * s["gamma"] ** (k % 4)
                    for k in range(24)])


def long_product() -> sp.Expr:
    """One term, no top-level sum, no sum worth naming inside: broken between its factors."""
    q = _sym()["q"]
    return sp.Mul(*[(q + k) for k in range(1, 26)], evaluate=False)


def _fake_symbolic(inputs) -> SymbolicResult:
    s = _sym()
    f = 1 - 2 * s["m"] / s["q"] - s["Lam"] * s["q"] ** 2 / 3
    metric = sp.Matrix([[-f, 0], [0, 1 / f]])
    steps = (
        Step("A long sum of derivatives", long_sum(), sp.Symbol("S")),
        Step("Schwarzschild-de Sitter metric (a line element)", metric, indices=(s["t"], s["q"])),
        Step("A matrix per component", sp.Matrix([[s["gamma"], 1], [1, s["m"]]]), sp.Symbol("C")),
        Step("A Christoffel symbol", sp.Eq(sp.Symbol("Gamma^q_tt"), sp.diff(f, s["q"]) * f / 2)),
        Step("An unbreakable product", long_product(), sp.Symbol("P"), note="one term"),
        Step("Quantum constants", s["hbar"] ** 2 / (2 * s["m"]), sp.Symbol("c")),
        Step("A step stated in words", "holds for x_1 & 50% of {cases} ~ #1", sp.Symbol("W")),
    )
    extra = inputs["planted"]
    return SymbolicResult(checks=(("planted difference", sp.S(extra)),), steps=steps)


def _fake_numeric(ctx: NumericContext, inputs) -> NumericResult:
    rng = ctx.rng(7)
    hs = (0.2, 0.1, 0.05, 0.025)
    pts = tuple((h, float(3.0 * h ** 2 * (1 + 0.01 * rng.standard_normal()))) for h in hs)
    if inputs["nan"]:
        pts = pts[:-1] + ((0.025, float("nan")),)
    conv = Convergence("grid spacing h", 2.0, pts)
    j = judge(conv)
    return NumericResult(j.max_residual, j.tolerance, j.ok, conv, where=j.reason)


def _fake(cid: str, section: str, **kw) -> Claim:
    inputs = {"planted": 0, "nan": False}
    inputs.update(kw.pop("inputs", {}))
    return Claim(id=cid, section=section, statement=kw.pop("statement", f"Fake claim {cid}: 50% of x_1 & y^2."),
                 assumptions=("a fake assumption with an underscore_and {braces}",),
                 default_inputs=lambda: dict(inputs), derivation=_fake_symbolic, calibration=_fake_numeric,
                 modules=(__file__,), **kw)


def fake_claims() -> list[Claim]:
    return [
        _fake("fake.gravity_long_equations", "8"),
        _fake("fake.duality_nonfinite", "9", inputs={"nan": True}),
        _fake("fake.quantum_counterexample_with_a_rather_long_identifier", "4", counterexample=True),
        _fake("fake.other_failing", "x", inputs={"planted": sp.Symbol("x") - 1}),
    ]


def generate(out: Path, seed: int = 3) -> tuple[list, dict]:
    """Verdicts of the real Madelung claims (symbolic) and the fakes (numeric), and the paper files in ``out``."""
    ctx = NumericContext(seed=seed, quick=True)
    from nnqg.verify.claims.madelung import CLAIMS as MADELUNG  # not the whole registry: keeps this fast

    verdicts = [run_claim(c, ctx, calibration=False) for c in MADELUNG]
    verdicts += [run_claim(c, ctx) for c in fake_claims()]
    report = build_report(verdicts, seed=seed, quick=True)
    write_paper(records_from_verdicts(verdicts, report), report, out)
    return verdicts, report


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    verdicts, report = generate(out)
    return out, verdicts, report


# ------------------------------------------------------------------------------------------------ printing


def test_paper_notation():
    s = _sym()
    assert paper_latex(s["gamma"] * s["hbar"] * s["m"] * s["Lam"]) == r"\Lambda \gamma \hbar m"
    assert paper_latex(sp.Symbol("Gamma^m_ab")) == r"\Gamma^{m}_{ab}"
    assert paper_latex(sp.Derivative(s["p"], s["q"], 2)) == r"\partial_{q}^{2} p"
    assert paper_latex(sp.Derivative(s["p"], s["t"], s["q"])) == r"\partial_{t} \partial_{q} p"
    assert paper_latex(sp.sqrt(s["p"]) ** 3) == r"p^{\frac{3}{2}}"
    # a function evaluated away from the coordinates keeps its argument
    assert paper_latex(sp.Function("V")(s["q"] + 1)) == r"V\left(q + 1\right)"


def test_broken_lines_reassemble_the_unbroken_equation():
    expr = long_sum()
    lay = layout(expr, "S")
    assert len(lay.lines) > 2 and not lay.definitions
    assert all(tex_width(ln) <= LINE_WIDTH for ln in lay.lines)
    joined = " ".join(lay.lines)
    assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", paper_latex(expr))


def test_a_wide_term_gets_named_subexpressions_that_substitute_back():
    """One term too wide for a line: its widest sums are named X_k and defined below; substituting the
    definitions back gives the original expression, and every printed line fits."""
    s = _sym()
    big = sp.Add(*[s["q"] ** k * s["gamma"] ** (k % 3) for k in range(30)])
    term = big / (1 + sp.Add(*[s["m"] ** k / (k + 2) for k in range(25)])) * sp.sqrt(s["p"])
    lay = layout(term, "T")
    assert lay.definitions
    for ln in list(lay.lines) + [x for _, d in lay.definitions for x in d]:
        assert tex_width(ln) <= LINE_WIDTH, ln
    from nnqg.verify._latex import _abstract, _name

    new, defs = _abstract(term, LINE_WIDTH - 8, 1)
    assert sp.simplify(new.xreplace(dict(defs)) - term) == 0


def test_equation_lines_all_fitted_and_numbered_once():
    tex = equation_tex(long_sum(), "S", label="eq:x")
    body = tex.split("\\begin{align}\n")[1].split("\n\\end{align}")[0].split(" \\\\\n")
    assert len(body) > 2 and all(r"\nnqgfit[" in ln for ln in body)
    assert all(ln.endswith(r"\notag") for ln in body[:-1]) and body[-1].endswith(r"\label{eq:x}")


def test_tex_escape_specials():
    out = tex_escape(r"a_b ^ & % $ # { } ~ \ < > | γ")
    assert r"$\gamma$" in out
    rest = re.sub(r"\\text[a-z]+\{\}", "", out.replace(r"$\gamma$", ""))
    for raw in ["_", "&", "%", "$", "#", "{", "}", "^", "~", "<", ">", "|"]:
        assert re.search(r"(?<!\\)" + re.escape(raw), rest) is None, raw


# --------------------------------------------------------------------------------------------------- files


def test_files_per_claim_and_parts(generated):
    out, verdicts, _ = generated
    for v in verdicts:
        text = (out / f"{v.claim.id}.tex").read_text()
        assert rf"\label{{claim:{v.claim.id}}}" in text
        assert v.status in text
    # every derivation step of the symbolic result is printed, in order; the fakes share one derivation, so it is
    # printed once and the others refer to it
    first = [v for v in verdicts if v.claim.id.startswith("fake.")][0]
    text = (out / f"{first.claim.id}.tex").read_text()
    assert text.count(r"\textit{Step ") == len(first.derivation.steps)
    for v in verdicts:
        if v.claim.id.startswith("fake.") and v is not first:
            t = (out / f"{v.claim.id}.tex").read_text()
            assert "not repeated" in t and rf"\ref{{claim:{first.claim.id}}}" in t and r"\textit{Step " not in t
    parts = {p: (out / f"claims-{p}.tex").read_text() for p in ("quantum", "gravity", "duality", "other")}
    assert "madelung.continuity.tex" in parts["quantum"]
    assert "fake.gravity_long_equations.tex" in parts["gravity"]
    assert "fake.duality_nonfinite.tex" in parts["duality"]
    assert "fake.other_failing.tex" in parts["other"]


def test_main_tex_never_names_a_missing_file(generated):
    out, _, _ = generated
    targets = re.findall(r"\\input\{\\nnqgGenerated/([^}]+)\}", MAIN_TEX.read_text())
    for f in out.glob("claims-*.tex"):
        targets += re.findall(r"\\input\{\\nnqgGenerated/([^}]+)\}", f.read_text())
    assert len(targets) > 8
    missing = [t for t in targets if not (out / t).is_file()]
    assert not missing


def test_numbers_and_statuses_from_the_report(generated):
    out, verdicts, report = generated
    entries = {e["id"]: e for e in report["claims"]}
    table = (out / "verdicts.tex").read_text()
    e = entries["fake.gravity_long_equations"]
    assert e["status"] == "PASSED"
    mant = f"{e['calibration']['max_residual']:.3g}".split("e")[0]
    assert mant in (out / "fake.gravity_long_equations.tex").read_text()
    # the table holds the three parts; the numbers are in the claim's section
    assert r"\nnqgstatus{PASSED}" in table and r"\nnqgstatus{NOT TESTED}" in table
    assert entries["fake.duality_nonfinite"]["status"] == "NONFINITE"
    assert entries["fake.other_failing"]["status"] == "FAILED"
    outcomes = (out / "outcomes.tex").read_text()
    assert "fake.\\allowbreak{}other\\_\\allowbreak{}failing" in outcomes
    assert "REPRODUCED" in outcomes
    run = (out / "run.tex").read_text()
    assert "seed 3" in run and report["versions"]["sympy"] in run
    assert (out / "fig-fake-gravity_long_equations.pdf").read_bytes().startswith(b"%PDF")


def test_planted_error_reaches_the_paper(tmp_path):
    """A planted error (the claim's own mutation) turns the generated section to FAILED and prints the
    non-zero remainder of the check."""
    claim = select_claims("madelung.continuity")[0]
    v = run_claim(claim, NumericContext(seed=1), claim.mutations()["mass_factor_2"], calibration=False)
    rep = build_report([v], seed=1, quick=True)
    write_paper(records_from_verdicts([v], rep), rep, tmp_path)
    text = (tmp_path / "madelung.continuity.tex").read_text()
    assert v.status == "FAILED" and r"\nnqgstatus{FAILED}" in text
    assert r"\emph{fails} for" in text and "The remainder of" in text
    assert "madelung.\\allowbreak{}continuity" in (tmp_path / "outcomes.tex").read_text().split("Reproduced")[0]


def test_same_seed_gives_byte_identical_files(tmp_path):
    """Generate in a fresh interpreter with another hash seed (set iteration order, symbol hashes) while this
    process generates too (at the same time, so both see the same sources): every file, figures included, is
    byte-identical."""
    a, b = tmp_path / "a", tmp_path / "b"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"from test_paper import generate; from pathlib import Path; generate(Path({str(b)!r}))")
    hashseed = "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321"
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONHASHSEED=hashseed))
    try:
        generate(a)
    finally:
        assert proc.wait(timeout=300) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) > 10
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert not differ
    for n in names:
        assert not re.search(rb"CreationDate|20\d\d-\d\d-\d\d", (a / n).read_bytes()), n


def test_cli_from_report_equals_cli_running(tmp_path):
    rep = tmp_path / "r.json"
    assert main(["verify", "--claims", "madelung.*", "--symbolic-only", "--seed", "5", "--json", str(rep)]) == 0
    assert main(["paper", "--report", str(rep), "--out", str(tmp_path / "a")]) == 0
    assert main(["paper", "--claims", "madelung.*", "--symbolic-only", "--seed", "5",
                 "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "madelung.hamilton_jacobi.tex" in names
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)


def test_stale_and_unknown_report_entries(tmp_path):
    claim = select_claims("madelung.continuity")[0]
    v = run_claim(claim, NumericContext(seed=1), calibration=False)
    rep = build_report([v], seed=1, quick=True)
    rep["claims"][0]["source_hash"] = "0" * 64
    rep["claims"].append(dict(rep["claims"][0], id="gone.claim"))
    recs, unknown = records_from_report(rep)
    assert unknown == ["gone.claim"] and recs[0].stale
    write_paper(recs, rep, tmp_path, unknown)
    assert "different version of this claim's source" in (tmp_path / "madelung.continuity.tex").read_text()
    assert r"gone.\allowbreak{}claim" in (tmp_path / "outcomes.tex").read_text()


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not a JSON report"),
    (json.dumps({"claims": [{"id": 3}]}), "expected the JSON of"),
])
def test_bad_report_is_a_usage_error(tmp_path, capsys, content, fragment):
    bad = tmp_path / "r.json"
    bad.write_text(content)
    assert main(["paper", "--report", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--report" in err and fragment in err and "Traceback" not in err
    assert main(["paper", "--report", str(tmp_path / "missing.json")]) == 2
    with pytest.raises(Exception, match="no such file"):
        load_report(tmp_path / "missing.json")


def test_pdf_without_tex_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no latexmk, no pdflatex
    rc = main(["paper", "--claims", "madelung.continuity", "--symbolic-only", "--pdf", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "latexmk" in err and "texlive-latex-extra" in err and "apt-get install" in err
    assert (tmp_path / "o" / "madelung.continuity.tex").is_file()  # the .tex files are written regardless


def test_check_log_finds_each_kind():
    log = "\n".join([
        "! Undefined control sequence.",
        "./main.tex:12: LaTeX Error: File `x.sty' not found.",
        "LaTeX Warning: Reference `claim:x' on page 3 undefined on input line 4.",
        "LaTeX Warning: There were undefined references.",
        "Overfull \\hbox (23.1pt too wide) in paragraph at lines 7--8",
        "Underfull \\hbox (badness 10000) in paragraph at lines 1--2",
    ])
    errors, undefined, overfull = check_log(log)
    assert len(errors) == 2 and len(undefined) == 2 and len(overfull) == 1
    assert check_log("This is pdfTeX\nOutput written on main.pdf (3 pages).") == ([], [], [])


# ------------------------------------------------------------------------------------------------ compiling


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data[m.end():m.end() + w * h], dtype=np.uint8).reshape(h, w)


def ink_outside_text_block(pdf: Path, tmp: Path, pages: int = 3, dpi: int = 40) -> list[tuple[int, float]]:
    """Render the first pages (pdftoppm) and return (page, inches) of ink right of the 1in right margin."""
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf), str(tmp / "pg")],
                   check=True, timeout=120)
    bad = []
    for i, f in enumerate(sorted(tmp.glob("pg-*.pgm")), 1):
        img = _read_pgm(f)
        ink_cols = np.where((img < 128).any(axis=0))[0]
        assert ink_cols.size, f"page {i} is blank"
        right_edge_in = (ink_cols.max() + 1) / dpi
        limit = img.shape[1] / dpi - 1.0 + 0.08  # 1in margin (geometry), 0.08in for anti-aliasing
        if right_edge_in > limit:
            bad.append((i, right_edge_in - limit))
    return bad


def smallest_type(pdf: Path) -> tuple[float, float]:
    """(the smallest word height, the body text's height) of a PDF's text layer, in points."""
    from collections import Counter

    words = pdf_words(pdf)
    body = Counter(round(w.height, 1) for w in words).most_common(1)[0][0]
    return min(w.height for w in words), body


#: the smallest type the paper sets on purpose is a second-level script (5 pt in a 10 pt body, half the body);
#: \nnqgfit may shrink a line to 0.9 of its size: anything smaller was scaled below the body's \small
SCRIPT_FLOOR = 0.5 * 0.9


def _build(out: Path, tmp: Path, name: str = "build") -> object:
    return build_pdf(out, MAIN_TEX, tmp / name, timeout=300, draft_figures=True)


@NEED_TEX
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_generated_latex_compiles_cleanly(generated, tmp_path):
    out, verdicts, _ = generated
    res = _build(out, tmp_path)
    assert res.returncode == 0, res.errors
    assert not res.errors and not res.undefined, (res.errors, res.undefined)  # no undefined reference or citation
    assert not res.overfull, res.overfull
    aux = (tmp_path / "build" / "main.aux").read_text()
    for v in verdicts:
        assert f"\\newlabel{{claim:{v.claim.id}}}" in aux
    assert "\\bibcite{vanchurin2022quantumgravity}" in aux  # the paper being checked is cited
    # no text below the smallest script size: nothing was shrunk below the body's \small
    smallest, body = smallest_type(res.pdf)
    assert 8.0 < body < 9.5 and smallest >= SCRIPT_FLOOR * body - 0.05, (smallest, body)
    pages = tmp_path / "pages"
    pages.mkdir()
    assert ink_outside_text_block(res.pdf, pages) == []


@NEED_TEX
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_checks_catch_an_unbroken_or_shrunk_equation(generated, tmp_path):
    """Planted errors: (a) a long sum set on one line overflows the margin: the log check and the rendered page
    catch it; (b) the same line shrunk to fit (the old \resizebox without a floor) gives type far below the
    script size: the glyph check catches it."""
    out, _, _ = generated
    line = "\\begin{equation}\\nnqgfit[0.8]{" + paper_latex(long_sum()) + "}\\end{equation}\n"
    a = tmp_path / "a"
    shutil.copytree(out, a)
    target = next(a.glob("fake.gravity*.tex"))
    target.write_text(target.read_text() + line)
    res = _build(a, tmp_path, "ba")
    assert res.returncode == 0 and res.overfull
    pages = tmp_path / "pages"
    pages.mkdir()
    assert ink_outside_text_block(res.pdf, pages, pages=99)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / "macros.tex").write_text((b / "macros.tex").read_text() + "\\makeatletter\\renewcommand{\\nnqgfit}[2][0.8]"
                                  "{\\resizebox{#1\\linewidth}{!}{$\\displaystyle #2$}}\\makeatother\n")
    res = _build(b, tmp_path, "bb")
    assert res.returncode == 0
    smallest, body = smallest_type(res.pdf)
    assert smallest < SCRIPT_FLOOR * body - 0.05


def test_generated_latex_sets_no_small_type(generated):
    """The LaTeX itself: no resizing or small type outside \nnqgfit (whose floor is 0.9), and every display line
    fits the line by the width estimate, so \nnqgfit never has to shrink it much."""
    out, _, _ = generated
    macros = (out / "macros.tex").read_text()
    assert r"\ifdim\nnqg@w<0.9\wd\nnqg@box \nnqg@w=0.9\wd\nnqg@box \fi" in macros
    for f in out.glob("*.tex"):
        if f.name == "macros.tex":
            continue
        text = f.read_text()
        assert not re.search(r"\\(resizebox|scalebox|tiny|scriptsize|footnotesize)\b", text), f.name
        for ln in iter_lines(text):
            assert tex_width(ln) <= LINE_WIDTH + 1e-9, (f.name, ln[:80])


def test_no_equation_holds_only_words_and_no_positional_indices(generated):
    out, _, _ = generated
    text = "\n".join(f.read_text() for f in out.glob("*.tex"))
    assert not re.search(r"\\nnqgfit\[[0-9.]+\]\{\\text\{[^}]*\}\}", text)  # words are sentences, not equations
    assert r"\left[\,\cdot\,\right]" not in text and "PHYSICS.md" not in text
    assert "ds^{2} &=" in text and "C_{12}" in text and "C_{21}" not in text  # a symmetric matrix: upper triangle
    assert "No claim of this part is registered yet" not in text


@pytest.mark.slow
@NEED_TEX
def test_all_registered_claims_compile_symbolic_only(tmp_path):
    rep = tmp_path / "r.json"
    main(["verify", "--symbolic-only", "--json", str(rep)])
    assert main(["paper", "--report", str(rep), "--out", str(tmp_path / "gen")]) == 0
    res = build_pdf(tmp_path / "gen", MAIN_TEX, tmp_path / "build", timeout=600)
    assert res.ok and not res.overfull, (res.errors, res.undefined, res.overfull)
    report = json.loads(rep.read_text())
    aux = (tmp_path / "build" / "main.aux").read_text()
    assert aux.count("{toc}{\\contentsline {subsection}") == len(report["claims"])


def test_write_report_then_records_roundtrip(tmp_path, generated):
    _, verdicts, report = generated
    write_report(report, tmp_path / "r.json")
    again = load_report(tmp_path / "r.json")
    recs, unknown = records_from_report(again, claims=[v.claim for v in verdicts])
    assert not unknown and [r.claim.id for r in recs] == [v.claim.id for v in verdicts]
    assert not any(r.stale for r in recs)


@NEED_TEX
def test_the_paper_of_the_committed_report_compiles(tmp_path):
    """The README's report (docs/report-seed1.json, full profile) as a paper: its learning experiments' labels and
    reasons, which no quick test report carries, must set in LaTeX (a label with e^{i theta} once broke it)."""
    out = tmp_path / "paper"
    assert main(["paper", "--report", str(Path(__file__).resolve().parents[2] / "docs" / "report-seed1.json"),
                 "--out", str(out)]) == 0
    res = _build(out, tmp_path)
    assert res.returncode == 0 and not res.errors, res.errors


def test_rendered_pages_replace_old_ones_in_page_order(tmp_path, monkeypatch):
    """pdftoppm pads page numbers to the page count (page-01.png for a 32-page PDF): the pages land on
    PREFIX-1.png, PREFIX-2.png over older files of those names (they were once renamed to -3, -4)."""
    from nnqg.verify import _paper_build

    def fake_pdftoppm(cmd, **kw):
        root = Path(cmd[-1])
        for i in (1, 2):
            Path(f"{root}-{i:02d}.png").write_text(f"new page {i}")

    monkeypatch.setattr(_paper_build.subprocess, "run", fake_pdftoppm)
    for i in (1, 2):
        (tmp_path / f"paper-page-{i}.png").write_text(f"old page {i}")
    written = _paper_build.render_pages(tmp_path / "x.pdf", tmp_path / "paper-page")
    assert [f.name for f in written] == ["paper-page-1.png", "paper-page-2.png"]
    assert [f.read_text() for f in written] == ["new page 1", "new page 2"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["paper-page-1.png", "paper-page-2.png"]
