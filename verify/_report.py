"""The JSON report and the terminal table.

JSON: ``{seed, quick, versions{python,sympy,numpy,numba,nnqg}, claims: [...]}`` with sorted keys and floats to
12 significant digits; no wall-clock figures unless asked (``timings=True``), so one seed gives one byte-identical
report. Written atomically (temporary file + rename): an interrupted run leaves no half-written report.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any, Sequence

from nnqg.numerics._atomic import atomic_write_text

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


def write_report(report: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, dumps(report))


def check_output_path(path: Path, what: str) -> None:
    """Refuse, before any work, an output path that is not a (new or existing) regular file in an existing,
    writable directory: a directory, a device such as /dev/full (an atomic rename would *replace* the device node
    when run as root), or a path whose folder does not exist (it is not created)."""
    from nnqg.derivations import InvalidArgument

    p = Path(path)
    if str(path) == "" or p.is_dir():
        raise InvalidArgument(f"{what} {str(path)!r} is a directory; give a file name, e.g. {what} {_example(what)}")
    if p.exists() and not p.is_file():
        raise InvalidArgument(f"{what} {str(path)!r} exists and is not a regular file (a device, socket or "
                              f"pipe); give a file name, e.g. {what} {_example(what)}")
    parent = p.parent
    if not parent.exists():  # no silent mkdir -p: a typo in a folder name must not create a tree of folders
        raise InvalidArgument(f"{what} {str(path)!r}: the folder {str(parent)!r} does not exist; create it first "
                              f"or give a file in an existing folder, e.g. {what} {_example(what)}")
    if not parent.is_dir():
        raise InvalidArgument(f"{what} {str(path)!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidArgument(f"{what} {str(path)!r}: the folder {str(parent)!r} is not writable")


def _example(flag: str) -> str:
    return "report.html" if "html" in flag else "report.json"
