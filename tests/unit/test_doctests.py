"""Run every docstring example of the installed package (DESIGN habit 7) by import name, so the package is
tested as a user imports it, not through pytest's path guessing."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import nnqg


def _modules() -> list[str]:
    names = ["nnqg"]
    for info in pkgutil.walk_packages(nnqg.__path__, prefix="nnqg."):
        names.append(info.name)
    for sub in ("derivations", "numerics", "verify"):
        pkg = importlib.import_module(f"nnqg.{sub}")
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"nnqg.{sub}."):
            names.append(info.name)
    return sorted(set(names))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0, f"{res.failed} docstring example(s) failed in {name}"
