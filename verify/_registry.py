"""The claim registry: every module in ``nnqg.verify.claims`` exports ``CLAIMS``; ids are unique."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from nnqg.derivations import InvalidArgument

from ._model import Claim

#: the paper's order; claims not listed here follow, sorted by id
ORDER = (
    "learning.fokker_planck", "madelung.continuity", "madelung.hamilton_jacobi", "schrodinger.equivalence",
    "schrodinger.quantisation", "schrodinger.wallstrom_counterexample",
    "lorentz.wave_equation", "lorentz.boost_invariance", "spacetime.emergent_metric", "geodesic.equation",
    "geodesic.wave_packet", "geodesic.conservation", "einstein.field_equations", "einstein.vacuum_solutions",
    "einstein.bianchi", "duality.report",
)


@lru_cache(maxsize=1)
def all_claims() -> tuple[Claim, ...]:
    from . import claims as pkg

    found: dict[str, Claim] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for c in getattr(mod, "CLAIMS", ()):
            if c.id in found:
                raise RuntimeError(f"duplicate claim id {c.id!r} in {mod.__name__}")
            found[c.id] = c
    rank = {cid: i for i, cid in enumerate(ORDER)}
    return tuple(sorted(found.values(), key=lambda c: (rank.get(c.id, len(ORDER)), c.id)))


def get_claim(claim_id: str) -> Claim:
    for c in all_claims():
        if c.id == claim_id:
            return c
    ids = ", ".join(c.id for c in all_claims())
    raise InvalidArgument(f"unknown claim id {claim_id!r}; known claims: {ids}")


def select_claims(patterns: str | None) -> tuple[Claim, ...]:
    """Claims whose id matches any of the comma-separated glob ``patterns`` (all claims for None)."""
    claims = all_claims()
    if patterns is None:
        return claims
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    if not pats:
        raise InvalidArgument(f"--claims {patterns!r}: give one or more glob patterns, e.g. 'madelung.*'")
    chosen = tuple(c for c in claims if any(fnmatch.fnmatchcase(c.id, p) for p in pats))
    if not chosen:
        ids = ", ".join(c.id for c in claims)
        raise InvalidArgument(f"--claims {patterns!r} matches no claim; known claims: {ids}")
    return chosen


def claim_files(claim: Claim) -> list[str]:
    """The source files a claim's verdict depends on, sorted by path: the modules it names, the modules that define
    its derivation, calibration and learning functions, and every nnqg module those import, transitively (imports
    inside functions included: learning experiments import their systems lazily). A name imported from a package
    counts as the module that defines it; a package's ``__init__`` counts but its re-exports are not followed,
    nor are imports of notebook display hooks, so that an unrelated module does not make every report stale."""
    import inspect

    from . import _runner  # it turns the parts into the verdict

    files = {str(f) for f in (*claim.modules, _runner.__file__)}
    for fn in (claim.derivation, claim.calibration, claim.learning):
        mod = inspect.getmodule(fn) if fn is not None else None
        if mod is not None and getattr(mod, "__file__", None):
            files.add(str(mod.__file__))
    todo = sorted(files)
    while todo:
        path = todo.pop()
        if Path(path).name == "__init__.py":  # a package's own lines count; its re-exports are not followed
            continue
        for dep in _imported_files(path):
            if dep not in files:
                files.add(dep)
                todo.append(dep)
    return sorted(files)


_MODULE_OF_FILE: dict[object, object] = {}


def _module_of_file(path: str) -> object:
    """The loaded module whose ``__file__`` is ``path``; the map of sys.modules is rebuilt only on a miss (a module
    imported since), not once per file walked."""
    import sys

    if path not in _MODULE_OF_FILE:
        _MODULE_OF_FILE.update({getattr(m, "__file__", None): m for m in list(sys.modules.values())})
    return _MODULE_OF_FILE.get(path)


@functools.lru_cache(maxsize=None)
def _imported_files(path: str) -> tuple[str, ...]:
    """Files of the nnqg modules that the module at ``path`` imports (anywhere in its body)."""
    import ast
    import importlib
    import importlib.util
    import inspect

    owner = _module_of_file(path)
    package = getattr(owner, "__package__", None) or "nnqg"
    out: set[str] = set()

    def add(module: object) -> None:
        f = getattr(module, "__file__", None)
        if f and getattr(module, "__name__", "").startswith("nnqg"):
            out.add(str(f))

    def nodes(body: list) -> Iterator[ast.stmt]:  # statements only: an import is one, at any depth
        for st in body:
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)) and st.name.startswith("_repr_"):
                continue  # notebook display hooks (_repr_latex_, ...) do not touch a verdict
            yield st
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                yield from nodes(getattr(st, field, None) or [])

    for node in nodes(ast.parse(Path(path).read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nnqg"):
                    add(importlib.import_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else (node.module or "")
            if not base.startswith("nnqg"):
                continue
            mod = importlib.import_module(base)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if hasattr(mod, "__path__") and importlib.util.find_spec(sub) is not None:
                    add(importlib.import_module(sub))
                    continue
                defined_in = inspect.getmodule(getattr(mod, alias.name, None))
                add(defined_in if defined_in is not None and getattr(defined_in, "__name__", "").startswith("nnqg")
                    else mod)
    out.discard(path)
    return tuple(sorted(out))


def claim_source_hash(claim: Claim) -> str:
    """sha256 over the source files that define the claim (:func:`claim_files`), each under its module name and
    in the order of the names, so that a checkout and an installed wheel (other folders) give the same hash."""
    import sys

    files = claim_files(claim)  # first: the walk imports what the claim imports lazily
    names = {getattr(m, "__file__", None): name for name, m in list(sys.modules.items())}
    h = hashlib.sha256()
    for key, path in sorted((names.get(p) or Path(p).name, p) for p in files):
        h.update(key.encode())
        h.update(Path(path).read_bytes())
    h.update(claim.id.encode())
    return h.hexdigest()
