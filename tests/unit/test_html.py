"""`nnqg verify --html`: one self-contained page (verdict table, MathML equations, inline SVG figures), checked
for structure and, when Chromium is installed, for how a real browser lays it out."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.verify import NumericContext, build_report, run_claim
from nnqg.verify._html import ReportView, claim_repr_html, html_page, mathml, verdict_repr_html, write_html
from nnqg.verify._paper import _is_words, claim_repr_latex, records_from_verdicts, step_equations, \
    verdict_repr_latex

from test_paper import fake_claims  # the same fake claims as the paper tests (tests/unit is on sys.path)

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
NEED_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install Debian's `chromium` "
                                   "(apt-get install -y chromium) to check the page renders")


def _verdicts(seed: int = 4) -> list:
    from nnqg.verify.claims.madelung import CLAIMS as MADELUNG

    ctx = NumericContext(seed=seed, quick=True)
    return [run_claim(c, ctx, calibration=False) for c in MADELUNG] + [run_claim(c, ctx) for c in fake_claims()]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    verdicts = _verdicts()
    report = build_report(verdicts, seed=4, quick=True)
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_html(verdicts, report, path)
    return path, verdicts, report


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.sections: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href", "xlink:href"):
            if k in a and not a[k].startswith("#"):
                self.urls.append(a[k])
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "div" and a.get("class") == "eq":
            self.tags["equation"] += 1


def test_page_is_self_contained_and_complete(page):
    path, verdicts, report = page
    text = path.read_text()
    p = _Collect()
    p.feed(text)
    assert text.startswith("<!DOCTYPE html>")
    assert p.tags["script"] == 0 and p.tags["link"] == 0 and p.tags["img"] == 0
    assert p.urls == []  # nothing fetched from anywhere
    dup = [k for k, n in Counter(p.ids).items() if n > 1]
    assert not dup, dup[:5]
    assert len(p.sections) == len(verdicts)
    # table: one row per claim
    assert text.count('<tr><td class="claim">') == len(verdicts)
    # the paper's equations (a metric as its line element, a symmetric matrix's upper triangle), no equation for
    # a step stated in words, plus one per non-zero check
    expected_math = sum(len(step_equations(s, "")) for v in verdicts for s in v.derivation.steps
                        if not _is_words(s))
    expected_math += sum(1 for v in verdicts for _, e in v.derivation.checks if e != 0)
    assert p.tags["equation"] == expected_math
    assert p.tags["math"] > expected_math  # the long sum of the fake claims is broken into lines
    # one figure per numeric study in the report
    assert p.tags["svg"] == sum(1 for e in report["claims"] if e["calibration"].get("convergence"))
    for status in ("PASSED", "FAILED", "NONFINITE", "REPRODUCED"):
        assert f'class="status {status}"' in text


def test_numbers_come_from_the_report(page):
    path, _, report = page
    text = path.read_text()
    for e in report["claims"]:
        mr = e["calibration"].get("max_residual")
        if isinstance(mr, float):
            assert f"{mr:.3g}" in text
    assert f"Seed {report['seed']}" in text and report["versions"]["sympy"] in text


def test_mathml_uses_the_papers_names():
    t, q = sp.symbols("t q", real=True)
    p = sp.Function("p")(t, q)
    out = mathml(sp.Symbol("gamma") * sp.Symbol("hbar") * sp.Symbol("Lambda") * sp.Derivative(p, q, 2))
    assert "<mi>&#947;</mi>" in out and "<mi>&#8463;</mi>" in out and "<mi>&#923;</mi>" in out
    assert "<msubsup><mo>&#8706;</mo><mi>q</mi><mn>2</mn></msubsup><mi>p</mi>" in out
    assert "(t" not in out  # p(t, q) prints as p
    g = mathml(sp.Symbol("Gamma^m_ab"))
    assert g.startswith("<msubsup><mi>&#915;</mi>") and "<mi>ab</mi>" in g and "<mi>m</mi>" in g
    assert mathml(sp.Symbol(r"\mathcal{L}")) == "<mi>&#8466;</mi>"
    assert "<mo>&#8722;</mo>" in mathml(sp.Symbol("x") - 1)  # a minus sign, not a hyphen


def test_same_run_gives_byte_identical_page(page, tmp_path):
    path, verdicts, report = page
    again = tmp_path / "again.html"
    write_html(verdicts, json.loads(json.dumps(report)), again)
    assert again.read_bytes() == path.read_bytes()


def test_planted_error_shows_as_failed_with_its_remainder(tmp_path):
    from nnqg.verify.claims.madelung import CLAIMS

    claim = CLAIMS[0]
    v = run_claim(claim, NumericContext(seed=1), claim.mutations()["mass_factor_2"], calibration=False)
    rep = build_report([v], seed=1, quick=True)
    text = html_page(records_from_verdicts([v], rep), rep)
    assert v.status == "FAILED" and 'class="status FAILED"' in text
    assert "does <strong>not</strong> reduce to 0; remainder <div class=\"eq\"><math" in text
    assert "<strong>fails</strong>" in text


def test_html_path_that_is_a_directory(tmp_path):
    with pytest.raises(InvalidArgument, match="--html"):
        write_html([], {"claims": []}, tmp_path)


def test_jupyter_reprs(page):
    _, verdicts, report = page
    from nnqg.verify.claims.madelung import CLAIMS

    shown = claim_repr_html(CLAIMS[0])
    assert "<math" in shown and "Varying the learning action" in shown
    lat = claim_repr_latex(CLAIMS[0])
    assert lat.startswith("$$\\begin{aligned}") and "\\partial_{q}" in lat
    assert "<svg" in verdict_repr_html(verdicts[2]) and "status" in verdict_repr_html(verdicts[2])
    assert "max residual" in verdict_repr_latex(verdicts[2])
    view = ReportView(tuple(verdicts), report)
    assert view._repr_html_().count("<tr>") == len(verdicts) + 1
    assert view._repr_latex_().count("\\\\") >= len(verdicts)
    assert view.page() == html_page(records_from_verdicts(verdicts, report), report)


# ------------------------------------------------------------------------------------------ a real browser

#: measures the layout the browser actually produced: with MathML rendered, every fraction's numerator sits
#: above its denominator and every <math> has a size; unrendered markup would lay them out inline.
_PROBE = """<script>
(function () {
  const box = e => e.getBoundingClientRect();
  const maths = [...document.querySelectorAll('math')];
  const fracs = [...document.querySelectorAll('mfrac')];
  const svgs = [...document.querySelectorAll('svg')];
  const r = {
    math: maths.length,
    mathSized: maths.filter(m => box(m).width > 5 && box(m).height > 5).length,
    frac: fracs.length,
    fracStacked: fracs.filter(f => box(f.children[0]).bottom <= box(f.children[1]).top + 1).length,
    svg: svgs.length,
    svgSized: svgs.filter(s => box(s).height > 100 && box(s).width > 100).length,
    rows: document.querySelectorAll('table.verdicts tbody tr').length,
  };
  document.body.setAttribute('data-probe', JSON.stringify(r));
})();
</script>"""

_CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars"]


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"
    return subprocess.run([CHROMIUM, *_CHROME_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, errors="replace", timeout=180, stdin=subprocess.DEVNULL)


@NEED_CHROMIUM
def test_chromium_renders_mathml_and_figures(page, tmp_path):
    path, verdicts, report = page
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text().replace("</body>", _PROBE + "</body>"))
    proc = _chromium(["--dump-dom", probe.as_uri()], tmp_path)
    m = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert m, f"chromium produced no probe result: {proc.stderr[-2000:]}"
    r = json.loads(html.unescape(m.group(1)))
    assert r["rows"] == len(verdicts)
    assert r["math"] > 10 and r["mathSized"] == r["math"]
    assert r["frac"] > 10 and r["fracStacked"] == r["frac"], r
    n_fig = sum(1 for e in report["claims"] if e["calibration"].get("convergence"))
    assert r["svg"] == n_fig and r["svgSized"] == n_fig
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--window-size=1100,1400", path.as_uri()], tmp_path)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


@NEED_CHROMIUM
def test_probe_detects_markup_that_is_not_rendered_as_math(page, tmp_path):
    """Planted error: MathML elements outside <math> are unknown HTML elements, laid out inline; the probe
    must then report unstacked fractions."""
    path, _, _ = page
    text = path.read_text().replace("<math", "<span").replace("</math>", "</span>")
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", _PROBE.replace("querySelectorAll('math')", "querySelectorAll('span')")
                                  + "</body>"))
    proc = _chromium(["--dump-dom", probe.as_uri()], tmp_path)
    r = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', proc.stdout).group(1)))
    assert r["frac"] > 0 and r["fracStacked"] < r["frac"]


def test_derivatives_are_not_parenthesised_in_products():
    """gamma d_q F d_q p prints as three factors, not gamma (d_q F)(d_q p); a power keeps its parentheses."""
    t, q = sp.symbols("t q", real=True)
    p, F = sp.Function("p")(t, q), sp.Function("F")(t, q)
    out = mathml(sp.Symbol("gamma") * sp.Derivative(p, q) * sp.Derivative(F, q))
    assert "<mo>(</mo>" not in out and out.count("&#8706;") == 2
    assert "<mo>(</mo>" in mathml(sp.Derivative(p, q) ** 2)


def test_prose_in_the_page_is_html_math(page):
    path, _, _ = page
    text = path.read_text()
    # the madelung assumptions: hbar^2 = c/gamma as math, not ASCII
    assert '<span class="m">ħ<sup>2</sup> = c/γ</span>' in text
    assert "hbar^2" not in text and "PHYSICS.md" not in text
