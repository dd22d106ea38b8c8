"""The JSON report and the terminal table.

JSON: ``{seed, quick, versions{python,sympy,numpy,numba,nnqg}, claims: [...]}`` with sorted keys and floats to
12 significant digits; no wall-clock figures unless asked (``timings=True``), so one seed gives one byte-identical
report. Written atomically (temporary file + rename): an interrupted run leaves no half-written report.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any, Sequence

from ._model import Verdict


def versions() -> dict[str, str]:
    import numba
    import numpy
    import sympy

    from nnqg import __version__

    return {"python": platform.python_version(), "sympy": sympy.__version__, "numpy": numpy.__version__,
            "numba": numba.__version__, "nnqg": __version__}


def build_report(verdicts: Sequence[Verdict], *, seed: int, quick: bool, timings: bool = False,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    rep: dict[str, Any] = {"seed": seed, "quick": quick, "versions": versions(),
                           "claims": [v.to_json(timings) for v in verdicts]}
    if extra:
        rep.update(extra)
    return rep


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_report(report: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, dumps(report))
