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
    when run as root), a path whose folder does not exist (it is not created), or a name too long for the file
    system once the temporary name of the atomic write (``.NAME.XXXXXXXX.tmp``) is added."""
    from nnqg.derivations import InvalidArgument

    p = Path(path)
    try:
        if str(path) == "" or p.is_dir():
            raise InvalidArgument(f"{what} {str(path)!r} is a directory; give a file name, e.g. {what} "
                                  f"{_example(what)}")
        if p.exists() and not p.is_file():
            raise InvalidArgument(f"{what} {str(path)!r} exists and is not a regular file (a device, socket or "
                                  f"pipe); give a file name, e.g. {what} {_example(what)}")
        parent = p.parent
        if not parent.exists():  # no silent mkdir -p: a typo in a folder name must not create a tree of folders
            raise InvalidArgument(f"{what} {str(path)!r}: the folder {str(parent)!r} does not exist; create it "
                                  f"first or give a file in an existing folder, e.g. {what} {_example(what)}")
        if not parent.is_dir():
            raise InvalidArgument(f"{what} {str(path)!r}: {str(parent)!r} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InvalidArgument(f"{what} {str(path)!r}: the folder {str(parent)!r} is not writable")
        _check_name_length(p, what)
    except OSError as exc:  # a name too long for stat, a symlink loop, a folder that cannot be searched, ...
        raise InvalidArgument(f"{what} {str(path)!r} cannot be used ({exc.strerror or exc})") from None


def check_output_paths(paths: Sequence[tuple[Path | None, str]]) -> None:
    """:func:`check_output_path` for each given ``(path, flag)``, and no two of them the same file (``--json``
    and ``--html`` at one path would overwrite each other)."""
    seen: dict[str, str] = {}
    for path, what in paths:
        if path is None:
            continue
        check_output_path(path, what)
        key = os.path.realpath(path)
        if key in seen:
            from nnqg.derivations import InvalidArgument

            raise InvalidArgument(f"{seen[key]} and {what} are the same file {str(path)!r}; one would overwrite "
                                  f"the other: give two file names, e.g. {seen[key]} {_example(seen[key])} {what} "
                                  f"{_example(what)}")
        seen[key] = what


#: the temporary file of an atomic write is ".NAME." + 8 random characters + ".tmp"
_TMP_EXTRA = len("..12345678.tmp")


def _check_name_length(p: Path, what: str) -> None:
    from nnqg.derivations import InvalidArgument

    try:
        name_max = os.pathconf(p.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    n = len(os.fsencode(p.name))
    if n + _TMP_EXTRA > name_max:
        raise InvalidArgument(f"{what}: the file name {p.name[:40]!r}... is {n} bytes long; at most "
                              f"{name_max - _TMP_EXTRA} bytes fit here (the file is written under a temporary name "
                              f"{_TMP_EXTRA} bytes longer, then renamed); give a shorter name")


def _example(flag: str) -> str:
    return "report.html" if "html" in flag else "report.json"
