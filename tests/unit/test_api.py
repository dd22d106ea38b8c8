"""The public API (`import nnqg`), the README's API example, the example notebook, and the packaging: a wheel
that carries the paper's sources and the examples, an sdist that carries the tests, and (slow) `nnqg paper --pdf`
from a wheel installed in a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
import tarfile
from pathlib import Path

import pytest
import sympy as sp

import nnqg
from nnqg.derivations import InvalidArgument

REPO = Path(__file__).resolve().parents[2]
HAVE_TEX = shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def test_api_claims_derive_verify():
    ids = [c.id for c in nnqg.claims()]
    assert "madelung.continuity" in ids and len(ids) == len(set(ids)) >= 16
    d = nnqg.derive("madelung.continuity")
    assert d.ok and d.steps and "\\begin{align}" in d.latex() and "<math" in d._repr_html_()
    planted = nnqg.derive("madelung.continuity", mass=lambda s: 2 / s.gamma)
    assert not planted.ok  # a planted error in the inputs reaches the derivation
    with pytest.raises(InvalidArgument, match="unknown inputs"):
        nnqg.derive("madelung.continuity", not_an_input=1)
    rep = nnqg.verify("madelung.*", calibration=False)
    assert isinstance(rep, nnqg.Report) and len(rep) == 2 and rep.ok
    assert rep["madelung.continuity"].learning_status == "NOT TESTED"
    assert '<table class="verdicts">' in rep._repr_html_() and "\\begin{array}" in rep._repr_latex_()
    assert '"seed": 1' in rep.to_json()
    with pytest.raises(KeyError):
        rep["no.such_claim"]


def test_api_report_files(tmp_path):
    rep = nnqg.verify("madelung.continuity", calibration=False, seed=3)
    assert rep.write_json(tmp_path / "r.json").read_text() == rep.to_json()
    assert rep.write_html(tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InvalidArgument, match="does not exist"):
        rep.write_json(tmp_path / "missing" / "r.json")


def test_api_curvature_from_a_matrix_and_a_file():
    t, r, th, ph, M = sp.symbols("t r theta phi M", positive=True)
    f = 1 - 2 * M / r
    g = sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(th) ** 2)
    assert nnqg.curvature(g, coords=(t, r, th, ph)).holds
    wrong = sp.diag(-(1 - 3 * M / r**2), 1 / f, r**2, r**2 * sp.sin(th) ** 2)
    res = nnqg.curvature(wrong, coords=(t, r, th, ph))
    assert not res.holds and res.nonzero
    assert nnqg.curvature(REPO / "examples" / "metrics" / "schwarzschild.toml").holds
    with pytest.raises(InvalidArgument, match="coords"):
        nnqg.curvature(g)


def _readme_api_example() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- api-example: executed by tests/unit/test_api.py -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md has no API example block"
    return m.group(1)


def test_readme_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _readme_api_example()
    namespace: dict = {}
    exec(compile(code, "README.md (API example)", "exec"), namespace)  # the README's own code, not a user string
    assert (tmp_path / "report.html").is_file()


def test_example_notebook_executes_with_rich_displays():
    nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat (pip install -e '.[dev]')")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient and ipykernel")
    nb = nbformat.read(REPO / "examples" / "api.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    kinds = [set().union(*[set(o.get("data", {})) for o in c.outputs]) if c.outputs else set()
             for c in nb.cells if c.cell_type == "code"]
    rich = [k for k in kinds if {"text/html", "text/latex"} <= k]
    assert len(rich) >= 4  # the claim, the derivation, the report, the verdict
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors


# ------------------------------------------------------------------------------------------------- packaging

_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", "generated",
                                 ".ipynb_checkpoints", ".hypothesis")


def _source_copy(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_IGNORE)
    return src


def _build(tmp: Path, what: str) -> Path:
    """Build the wheel or sdist offline with the installed setuptools (PEP 517 hooks), in a copy of the tree."""
    src = _source_copy(tmp)
    out = tmp / "dist"
    code = f"from setuptools import build_meta as b; print(b.build_{what}({str(out)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("wheel"), "wheel")


def test_wheel_ships_the_paper_sources_and_the_examples(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("nnqg/paper/main.tex", "nnqg/paper/references.bib", "nnqg/paper/latexmkrc", "nnqg/examples/api.ipynb",
              "nnqg/examples/metrics/schwarzschild.toml", "nnqg/examples/sweeps/tiny.toml", "nnqg/py.typed",
              "nnqg/verify/_paper.py", "nnqg/_api.py"):
        assert f in names, f
    assert not any("/generated/" in n for n in names)


def test_sdist_carries_tests_examples_and_paper(tmp_path):
    sdist = _build(tmp_path, "sdist")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for f in ("tests/unit/test_api.py", "examples/api.ipynb", "examples/metrics/kerr.toml", "paper/main.tex",
              "paper/references.bib", "docs/theory.md", "MANIFEST.in"):
        assert f in names, f


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TEX, reason="latexmk/pdflatex not installed")
def test_pdf_from_a_wheel_in_a_fresh_venv(wheel, tmp_path):
    """A user's install: the wheel in a new venv (dependencies from this environment, offline), then
    `nnqg paper --pdf` from another directory, with no source tree in sight."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall",
                    str(wheel)], check=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "NNQG_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": ""}
    where = subprocess.run([str(py), "-c", "import nnqg; print(nnqg.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert str(venv) in where.stdout, where  # the wheel's nnqg, not the source tree's
    proc = subprocess.run([str(venv / "bin" / "nnqg"), "paper", "--pdf", "--quick", "--symbolic-only",
                           "--claims", "madelung.continuity", "--out", str(work / "gen")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (work / "gen" / "build" / "main.pdf").read_bytes().startswith(b"%PDF")
