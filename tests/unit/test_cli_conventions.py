"""The command line follows the conventions: --version, help on a bare `nnqg`, "did you mean", help texts with
examples and exit codes and no reST markup, output paths refused before any work, a verdict table that fits 80
columns, `nnqg derive --latex` that pastes into any document."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnqg import __version__
from nnqg.verify._cli import build_parser, main

HAVE_TEX = shutil.which("pdflatex") is not None


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnqg.verify._cli", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def test_version_and_bare_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"nnqg {__version__}"
    assert main([]) == 2  # the help, and the status of a call without a command
    cap = capsys.readouterr()
    assert "usage: nnqg" in cap.out and "examples:" in cap.out and "exit codes:" in cap.out
    assert "give a COMMAND" in cap.err


def test_mistyped_command_suggests_the_closest(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verfy"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "did you mean 'verify'?" in err
    with pytest.raises(SystemExit):
        main(["zzzzzz"])
    assert "did you mean" not in capsys.readouterr().err


def test_every_command_help_has_examples_exit_codes_and_no_rest_markup():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) >= {"claims", "derive", "verify", "paper", "selftest", "sweep", "curvature"}
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "examples:" in text and "exit codes:" in text, name
        assert "``" not in text and ":math:" not in text and ":func:" not in text, name
    seed = [a for a in sub.choices["verify"]._actions if "--seed" in a.option_strings][0]
    assert "default: 1" in seed.help


def test_json_in_a_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    target = tmp_path / "missing" / "dir" / "r.json"
    assert main(["verify", "--symbolic-only", "--claims", "madelung.continuity", "--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert "--json" in err and "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "missing").exists()  # nothing was created
    assert main(["verify", "--symbolic-only", "--claims", "madelung.continuity", "--html",
                 str(tmp_path / "nope" / "r.html")]) == 2


def test_verdict_table_fits_80_columns_without_splitting_ids(tmp_path):
    proc = _run(["verify", "--symbolic-only"], COLUMNS="80", NNQG_CACHE_DIR=str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert max(len(ln) for ln in lines if not ln.startswith("cache:")) <= 80
    from nnqg.verify import all_claims

    rows = [ln for ln in lines if re.match(r"^\s*[a-z]+\.[a-z_]+\s", ln)]
    ids = {c.id for c in all_claims()}
    found = {ln.split()[0] for ln in rows}
    assert ids <= found  # every id whole on one line


def test_derive_latex_is_pasteable(tmp_path, capsys):
    assert main(["derive", "madelung.continuity", "--latex"]) == 0
    tex = capsys.readouterr().out
    assert tex.count(r"\begin{align}") == 1 and tex.count(r"\end{align}") == 1
    assert r"\partial_{q} p" in tex and r"\frac{\partial}{\partial q}" not in tex and "p{\\left(t" not in tex
    assert r"\nnqg" not in tex  # no macro of the generated paper
    if HAVE_TEX:
        doc = tmp_path / "d.tex"
        doc.write_text("\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n" + tex
                       + "\\end{document}\n")
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout[-2000:]


def test_derive_latex_of_a_metric_claim_uses_coordinate_indices(capsys):
    assert main(["derive", "einstein.bianchi", "--latex"]) == 0
    tex = capsys.readouterr().out
    assert "ds^{2} &=" in tex and "[0]" not in tex and r"\left[\,\cdot\,\right]" not in tex
