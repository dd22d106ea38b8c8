"""Where CI promises TeX and a browser (NNQG_REQUIRE_TEX / NNQG_REQUIRE_BROWSER, set by .ci/run), their absence
is a failure, not a skip: the LaTeX compile and HTML render tests must really run there."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.mark.skipif(not os.environ.get("NNQG_REQUIRE_TEX"), reason="NNQG_REQUIRE_TEX not set (local run)")
def test_tex_tools_are_installed() -> None:
    missing = [t for t in ("latexmk", "pdflatex", "pdftoppm") if shutil.which(t) is None]
    assert not missing, f"NNQG_REQUIRE_TEX is set but {missing} are not on PATH"


@pytest.mark.skipif(not os.environ.get("NNQG_REQUIRE_BROWSER"), reason="NNQG_REQUIRE_BROWSER not set (local run)")
def test_headless_browser_is_installed() -> None:
    assert any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")), \
        "NNQG_REQUIRE_BROWSER is set but no Chromium is on PATH"
