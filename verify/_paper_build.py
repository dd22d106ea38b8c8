r"""Build the paper's PDF with latexmk, read its log, and measure what a reader sees.

``build_pdf`` compiles ``main.tex`` (pdflatex, BibTeX through latexmk) reading the generated files from any
directory; ``check_log`` sorts a LaTeX log into errors, undefined references or citations, and overfull boxes;
``glyph_heights`` reads every word's box from the PDF (``pdftotext -bbox``) so a test can check that no text was
shrunk below the body's ``\small`` (the smallest type the paper uses on purpose is the script size of a
subscript; a ``\resizebox`` that shrinks an equation shows up as glyphs smaller than that).

The paper's sources (``main.tex``, ``references.bib``, ``latexmkrc``) ship inside the package
(``nnqg/paper/``), so an installed nnqg builds its PDF without the source tree: :func:`default_main_tex`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nnqg.derivations import InvalidArgument

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
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.errors and not self.undefined


def missing_tex_tools() -> list[str]:
    """Which of latexmk, pdflatex and bibtex are not on PATH."""
    return [t for t in ("latexmk", "pdflatex", "bibtex") if shutil.which(t) is None]


def check_log(text: str) -> tuple[list[str], list[str], list[str]]:
    """(errors, undefined references/citations, overfull boxes) found in a LaTeX log."""
    errors, undefined, overfull = [], [], []
    for line in text.splitlines():
        if line.startswith("! ") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
            errors.append(line.strip())
        elif re.search(r"(Reference|Citation) `[^']*' on page \d+ undefined", line) \
                or "There were undefined references" in line or "There were undefined citations" in line:
            undefined.append(line.strip())
        elif line.startswith("Overfull \\hbox") or line.startswith("Overfull \\vbox"):
            overfull.append(line.strip())
    return errors, undefined, overfull


_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")


def build_pdf(generated: Path, main_tex: Path, build_dir: Path | None = None, *, timeout: float = 600.0,
              progress: Callable[[float], None] | None = None, draft_figures: bool = False) -> BuildResult:
    """Compile ``main_tex`` with latexmk (pdflatex and BibTeX), reading the generated files from ``generated``.

    ``\\nnqgGenerated`` is set to the absolute path of ``generated`` before main.tex is read, so the generated
    directory can live anywhere. The build is reproducible (SOURCE_DATE_EPOCH=0). ``progress(seconds)`` is
    called about four times a second while latexmk runs (a spinner with the elapsed time). ``draft_figures``
    sets graphicx's draft mode (figures as empty frames), so the PDF's text layer holds the document's own text
    only (:func:`pdf_words` then measures the paper's type, not the figures').
    """
    missing = missing_tex_tools()
    if missing:
        raise InvalidArgument(
            f"--pdf needs {' and '.join(missing)} (a TeX distribution with latexmk); on Debian or Ubuntu: "
            f"`apt-get install {' '.join(TEX_PACKAGES_DEBIAN)}`; the .tex files were written all the same")
    generated = Path(generated).resolve()
    main_tex = Path(main_tex).resolve()
    if not main_tex.is_file():
        raise InvalidArgument(f"the paper's main.tex {str(main_tex)!r} is missing (give one with --main PATH; an "
                              f"installed nnqg ships it as nnqg/paper/main.tex)")
    build_dir = (generated / "build") if build_dir is None else Path(build_dir).resolve()
    for what, p in (("--out", generated), ("the build directory", build_dir)):
        if not _SAFE_PATH.fullmatch(str(p)):
            raise InvalidArgument(f"{what} {str(p)!r}: TeX cannot read paths with spaces or special "
                                  f"characters; use letters, digits and _ . / + -")
    build_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, max_print_line="100000", SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1",
               BIBINPUTS=f"{main_tex.parent}{os.pathsep}{os.environ.get('BIBINPUTS', '')}")
    pretex = ("\\PassOptionsToPackage{draft}{graphicx}" if draft_figures else "") + f"\\def\\nnqgGenerated{{{generated}}}"
    cmd = ["latexmk", "-pdf", "-bibtex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-outdir={build_dir}", f"-usepretex={pretex}", main_tex.name]
    t0 = time.monotonic()
    with subprocess.Popen(cmd, cwd=main_tex.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace") as proc:
        out_chunks: list[str] = []
        try:
            while True:
                try:
                    out, _ = proc.communicate(timeout=0.25)
                    out_chunks.append(out or "")
                    break
                except subprocess.TimeoutExpired:
                    if progress is not None:
                        progress(time.monotonic() - t0)
                    if time.monotonic() - t0 > timeout:
                        proc.kill()
                        raise InvalidArgument(f"latexmk did not finish within {timeout:.0f} s; see "
                                              f"{build_dir / (main_tex.stem + '.log')}") from None
        except KeyboardInterrupt:
            proc.kill()
            raise
    output = "".join(out_chunks)
    log = build_dir / (main_tex.stem + ".log")
    text = log.read_text(errors="replace") if log.exists() else output
    errors, undefined, overfull = check_log(text)
    blg = build_dir / (main_tex.stem + ".blg")
    if blg.exists():
        undefined += [ln.strip() for ln in blg.read_text(errors="replace").splitlines()
                      if ln.startswith("Warning--I didn't find a database entry")]
    if proc.returncode != 0 and not errors:
        errors = [line for line in output.splitlines() if line.strip()][-10:]
    return BuildResult(proc.returncode, build_dir / (main_tex.stem + ".pdf"), log, tuple(errors),
                       tuple(undefined), tuple(overfull), time.monotonic() - t0)


def package_paper_dir() -> Path:
    """The paper's sources shipped with the package (``nnqg/paper/``; in an editable install, ``paper/`` of the
    source tree)."""
    from importlib import resources

    try:
        where = resources.files("nnqg.paper")
        path = Path(str(where))
        if (path / "main.tex").is_file():
            return path
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[1] / "paper"  # a source tree (verify/ beside paper/)


def default_main_tex() -> Path:
    """paper/main.tex under the working directory (a source checkout), else the one shipped with the package."""
    here = Path("paper") / "main.tex"
    if here.is_file():
        return here
    return package_paper_dir() / "main.tex"


# ------------------------------------------------------------------------------------------ what a reader sees


@dataclass(frozen=True)
class Word:
    """One word of the PDF's text layer with its box (points) and page (1-based)."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def pdf_words(pdf: Path, first: int = 1, last: int | None = None) -> list[Word]:
    """Every word of ``pdf`` with its bounding box, from ``pdftotext -bbox`` (poppler-utils)."""
    cmd = ["pdftotext", "-bbox", "-f", str(first)] + (["-l", str(last)] if last else []) + [str(pdf), "-"]
    html = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    words = []
    page = first - 1
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', line)
        if m:
            x0, y0, x1, y1 = (float(m.group(i)) for i in range(1, 5))
            words.append(Word(page, m.group(5), x0, y0, x1, y1))
    return words


def render_pages(pdf: Path, out_prefix: Path, pages: int = 2, dpi: int = 110) -> list[Path]:
    """Render the first ``pages`` pages to PNG (``pdftoppm``); return the files written (deterministic names
    ``<prefix>-1.png`` ...). pdftoppm pads page numbers to the PDF's page count (``-01`` for a 32-page PDF), so it
    renders into a fresh folder and the pages are moved, in page order, over whatever ``<prefix>-N.png`` held."""
    import tempfile

    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(dir=out_prefix.parent) as tmp:
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf),
                        str(Path(tmp) / "page")], check=True, timeout=300)
        found = sorted(Path(tmp).glob("page-*.png"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
        for i, f in enumerate(found, 1):
            target = out_prefix.parent / f"{out_prefix.name}-{i}.png"
            f.replace(target)
            written.append(target)
    return written


__all__ = ["BuildResult", "TEX_PACKAGES_DEBIAN", "Word", "build_pdf", "check_log", "default_main_tex",
           "missing_tex_tools", "package_paper_dir", "pdf_words", "render_pages"]
