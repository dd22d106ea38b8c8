"""The on-disk cache of claims' symbolic results (their *default* inputs only).

A claim's :class:`SymbolicResult` with its default inputs depends only on nnqg's code and SymPy, so it is kept in
``<cache root>/symbolic/<claim id>-<key>.pickle``, key = sha256(every nnqg source file, the SymPy version, the
claim's source hash). Each file is sealed with the sha256 of its pickle (:mod:`nnqg.numerics._sealed`) and is
unpickled only after the digest matches; a broken seal, a file of another format or a pickle that does not give
a ``SymbolicResult`` is re-derived and rewritten, and a :class:`~nnqg.numerics.CacheWarning` says so. A pickle is
code: the seal detects corruption, not a forger who can write the cache folder (see
:mod:`nnqg.numerics._cachedir` for the trust model). Results that cannot be pickled are simply not cached.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import sympy as sp

from nnqg.numerics._cachedir import CacheWarning, cache_subdir
from nnqg.numerics._sealed import BrokenSeal, seal, unseal

from ._model import Claim, SymbolicResult
from ._registry import claim_source_hash

#: what the symbolic cache did in this process (printed by `nnqg verify`)
SYMBOLIC_STATS = {"derived": 0, "reused": 0, "rebuilt": 0}


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """sha256 of every source file of the installed nnqg package and the SymPy version: any change to the code
    (a derivation, a claim, the parser) invalidates every cached symbolic result."""
    import nnqg

    h = hashlib.sha256(sp.__version__.encode())
    roots = [Path(nnqg.__file__).parent]
    for sub in ("derivations", "numerics", "verify"):
        mod = __import__(f"nnqg.{sub}", fromlist=["_"])
        roots.append(Path(mod.__file__).parent)
    for root in roots:
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def cache_path(claim: Claim) -> Path:
    key = hashlib.sha256(f"{_code_hash()}|{claim_source_hash(claim)}".encode()).hexdigest()[:24]
    return cache_subdir("symbolic") / f"{claim.id}-{key}.pickle"


def symbolic_cached(claim: Claim, inputs: Mapping[str, Any]) -> SymbolicResult:
    """The claim's symbolic result with its default ``inputs``: from the cache when its seal holds, else derived
    (and cached)."""
    path = cache_path(claim)
    try:
        res = pickle.loads(unseal(path))
        if not isinstance(res, SymbolicResult):
            raise BrokenSeal(f"{path}: holds a {type(res).__name__}, not a SymbolicResult")
        SYMBOLIC_STATS["reused"] += 1
        return res
    except FileNotFoundError:
        pass
    except (BrokenSeal, OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        SYMBOLIC_STATS["rebuilt"] += 1
        warnings.warn(f"symbolic cache file {path} is unusable ({exc}); re-deriving {claim.id}", CacheWarning,
                      stacklevel=2)
    res = claim.derivation(inputs)
    SYMBOLIC_STATS["derived"] += 1
    try:
        data = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return res  # results holding unpicklable objects are simply not cached
    try:
        seal(path, data)
    except OSError as exc:
        warnings.warn(f"symbolic cache file {path} could not be written ({exc.strerror or exc}); {claim.id} is "
                      f"derived again next time", CacheWarning, stacklevel=2)
    return res
