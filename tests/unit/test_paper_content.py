"""What the paper says: every claim derived, the three parts reported from the report, the learning experiments
shown with their controls (tested on a fake report), the bibliography cited and shared with docs/theory.md."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from nnqg.verify import NumericContext, all_claims, build_report, run_claim
from nnqg.verify._paper import abstract_tex, learning_tex, records_from_verdicts, write_paper
from nnqg.verify._prose import STATEMENTS, math_tex, prose_tex, statement_tex

from test_paper import fake_claims

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake_run():
    ctx = NumericContext(seed=2, quick=True)
    verdicts = [run_claim(c, ctx) for c in fake_claims()]
    return verdicts, build_report(verdicts, seed=2, quick=True)


def _with_learning(report: dict) -> dict:
    """The report with learning evidence planted in two claims: one NOT SUPPORTED, one SUPPORTED."""
    rep = copy.deepcopy(report)
    base = {"system": "SGD on a 2-parameter regression, ensemble 4000", "quantity": "madelung_distance",
            "threshold": 0.1, "sigmas": 3, "power": 0.16, "preregistration": "docs/experiments.md, Madelung",
            "details": {}}
    rep["claims"][0]["learning"] = dict(base, status="NOT SUPPORTED", reason="distance 0.61 +- 0.02",
                                        measured=[{"label": "gamma=0.05, B=8", "distance": 0.61, "se": 0.02}],
                                        controls=[{"label": "positive control: Nelson diffusion", "distance": 0.01,
                                                   "se": 0.01, "status": "SUPPORTED"},
                                                  {"label": "negative control: plain gradient descent",
                                                   "distance": 0.9, "se": 0.03, "status": "NOT SUPPORTED"}])
    rep["claims"][1]["learning"] = dict(base, status="SUPPORTED", reason="distance 0.02 +- 0.01",
                                        measured=[{"label": "gamma=0.01", "distance": 0.02, "se": 0.01}],
                                        controls=[])
    return rep


def test_every_registered_claim_has_a_derivation():
    missing = [c.id for c in all_claims() if not c.derivation(c.default_inputs()).steps]
    assert not missing


def test_every_statement_has_its_latex_form():
    """The hand-written LaTeX of each statement renders the claim's current ASCII statement (when a statement
    changes, update verify/_prose.py STATEMENTS; until then the converter's form is printed)."""
    stale = [c.id for c in all_claims() if STATEMENTS.get(c.id, ("",))[0] != c.statement]
    assert not stale, f"update STATEMENTS in verify/_prose.py for: {stale}"
    assert statement_tex("x.y", "p > 0") == "$p > 0$"


@pytest.mark.parametrize("ascii_text,tex", [
    ("dp/dt + gamma div(p grad F) = 0", r"\partial_t p + \gamma \nabla\cdot(p \nabla F) = 0"),
    ("G_mn + Lambda g_mn = 8 pi T_mn", r"G_{mn} + \Lambda g_{mn} = 8 \pi T_{mn}"),
    ("d^2x^m/ds^2", r"\frac{d^{2}x^{m}}{ds^{2}}"),
    ("hbar^2 = c/gamma", r"\hbar^{2} = c/\gamma"),
])
def test_ascii_formulas_become_latex(ascii_text, tex):
    assert math_tex(ascii_text) == tex


def test_prose_keeps_words_and_code_apart():
    out = prose_tex("Euler-Lagrange, variation in F (SymPy euler_equations); see learning.fokker_planck")
    assert out.startswith("Euler-Lagrange, variation in $F$") and r"\texttt{euler\_equations}" in out
    assert r"\texttt{learning.fokker\_planck}" in out


def test_learning_section_shows_each_experiment_with_controls(fake_run, tmp_path):
    verdicts, report = fake_run
    rep = _with_learning(report)
    recs = records_from_verdicts(verdicts, rep)
    text = learning_tex(recs)
    first, second = verdicts[0].claim.id, verdicts[1].claim.id
    assert rf"\label{{learn:{first}}}" in text and rf"\label{{learn:{second}}}" in text
    assert r"\nnqgstatus{NOT SUPPORTED}" in text and r"\nnqgstatus{SUPPORTED}" in text
    assert "positive control" in text and "negative control" in text and "$0.61$" in text
    assert f"fig-learning-{first.replace('.', '-')}.pdf" in text
    # the untested claims are listed with their reason
    assert "Not tested" in text and verdicts[2].claim.id.split(".")[0] in text
    files = {p.name for p in write_paper(recs, rep, tmp_path)}
    assert f"fig-learning-{first.replace('.', '-')}.pdf" in files
    assert (tmp_path / f"fig-learning-{first.replace('.', '-')}.pdf").read_bytes().startswith(b"%PDF")
    # in the claim's own section the verdict points to the experiment
    assert rf"\ref{{learn:{first}}}" in (tmp_path / f"{first}.tex").read_text()
    # the outcomes list what learning did not support
    assert "Not supported by learning" in (tmp_path / "outcomes.tex").read_text()


def test_without_learning_entries_the_section_says_so(fake_run):
    verdicts, report = fake_run
    text = learning_tex(records_from_verdicts(verdicts, report))
    assert "No learning experiment ran in this report" in text


def test_abstract_says_what_was_derived_calibrated_and_observed(fake_run):
    verdicts, report = fake_run
    rep = _with_learning(report)
    text = abstract_tex(records_from_verdicts(verdicts, rep), rep)
    n = len(verdicts)
    exact = sum(1 for e in rep["claims"] if e["derivation"]["status"] == "EXACT")
    assert rf"{exact} of {n} derivations reduce exactly to zero" in text
    assert r"\textbf{NOT SUPPORTED} for" in text and "SUPPORTED for" in text
    assert f"not tested for {n - 2} of {n} claims" in text
    assert r"\citep{vanchurin2022quantumgravity}" in text
    # numbers follow the report, not the text: a changed report changes the abstract
    rep2 = copy.deepcopy(rep)
    rep2["claims"][1]["learning"]["status"] = "INCONCLUSIVE"
    assert "INCONCLUSIVE for" in abstract_tex(records_from_verdicts(verdicts, rep2), rep2)


def test_bibliography_is_shared_with_the_theory_document():
    bib = (REPO / "paper" / "references.bib").read_text()
    theory = (REPO / "docs" / "theory.md").read_text()
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert len(keys) >= 14
    for arxiv in ("2111.00903", "2008.01540", "2004.09280", "2012.05082"):
        assert arxiv in bib and arxiv in theory
    titles = re.findall(r"^\s*title\s*=\s*\{(.*)\},\s*$", bib, flags=re.M)
    for t in titles:
        words = re.sub(r"[{}\\\"']", "", t).split()[:3]
        assert " ".join(words).lower().replace("schrodinger", "") in re.sub(r"[*\"]", "", theory).lower().replace(
            "schrodinger", ""), t
    main = (REPO / "paper" / "main.tex").read_text()
    cited = set(re.findall(r"\\citep?\{([^}]*)\}", main)) | set(re.findall(r"\\citet\{([^}]*)\}", main))
    cited = {k.strip() for group in cited for k in group.split(",")}
    assert cited == set(keys)  # every entry is cited, every citation has an entry


def test_theory_sections_match_the_claims():
    theory = (REPO / "docs" / "theory.md").read_text()
    numbers = [int(n) for n in re.findall(r"^## (\d)\. ", theory, flags=re.M)]
    assert numbers == list(range(1, 10))
    assert "## What a verdict means" in theory
    for c in all_claims():
        assert re.search(rf"^## {int(c.section[0])}\. ", theory, flags=re.M), c.id


def test_rendered_pages_for_the_readme_exist():
    for k in (1, 2):
        png = REPO / "docs" / f"paper-page-{k}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert png.stat().st_size > 30_000  # a rendered page, not a blank one
    assert "docs/paper-page-1.png" in (REPO / "README.md").read_text()


def test_names_written_in_latex_print_as_written():
    import sympy as sp

    from nnqg.verify._latex import paper_latex

    assert paper_latex(sp.Symbol(r"\gamma\,\partial_q Q")) == r"\gamma\,\partial_q Q"  # not \partial_{q Q}
    assert paper_latex(sp.Symbol("u_t")) == "u_{t}"
