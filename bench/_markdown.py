"""The common tail of the bench scripts: print a markdown result and write it to ``--out``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def write_markdown(lines: Sequence[str], out: str | Path) -> str:
    """Join ``lines`` into one markdown text, print it and write it to ``out`` (its directory made); the text."""
    text = "\n".join(lines) + "\n"
    print(text)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    return text
