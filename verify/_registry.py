"""The claim registry: every module in ``nnqg.verify.claims`` exports ``CLAIMS``; ids are unique."""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

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
    """The source files of a claim: the modules it names, and the modules that define its derivation,
    calibration and learning functions (a learning experiment lives in verify/learning/, not in the claim's
    module), sorted by path."""
    import inspect

    files = set(claim.modules)
    for fn in (claim.derivation, claim.calibration, claim.learning):
        mod = inspect.getmodule(fn) if fn is not None else None
        if mod is not None and getattr(mod, "__file__", None):
            files.add(mod.__file__)
    return sorted(files)


def claim_source_hash(claim: Claim) -> str:
    """sha256 over the source files that define the claim (:func:`claim_files`)."""
    h = hashlib.sha256()
    for path in claim_files(claim):
        h.update(Path(path).name.encode())
        h.update(Path(path).read_bytes())
    h.update(claim.id.encode())
    return h.hexdigest()
