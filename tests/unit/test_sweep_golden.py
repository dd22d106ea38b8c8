"""The sweep's numbers are pinned: every column of a few grid points (regression and tanh network, all three
descriptions) equals the stored values computed before the estimators moved from ``verify/_sweep.py`` into
``numerics/`` (file ``data/sweep_golden.json``, written by the code at commit 47836bc). A refactoring that moves
code must leave them unchanged; a deliberate change of a measure bumps ``MEASURE_VERSION`` and rewrites the file:

    OPENBLAS_NUM_THREADS=1 python tests/unit/test_sweep_golden.py --write

The comparison allows 1e-9 relative: two BLAS threads can change the last digits of a least-squares fit (measured
1e-15 relative); any change of method moves these numbers far more. (Bit-identity with one BLAS thread was checked
when the file was written, see the commit message.)"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).parent / "data" / "sweep_golden.json"

SPECS = {
    "regression": {"sweep": {"seed": 7, "claims": ["fokker_planck", "madelung", "schrodinger"]},
                   "task": {"kind": "linear_regression", "n_data": 64},
                   "run": {"n_steps": 24, "anchors": [8, 16]},
                   "measure": {"bootstrap": 3},
                   "grid": {"gamma": [0.05, 0.2], "batch_size": [1, 4], "ensemble": [100], "seeds": [0]}},
    "network": {"sweep": {"seed": 5, "claims": ["fokker_planck", "madelung", "schrodinger"]},
                "task": {"kind": "tanh_network", "n_data": 64},
                "run": {"n_steps": 24, "anchors": [8, 16], "init_std": 0.1},
                "measure": {"bootstrap": 3, "window": 3},
                "grid": {"gamma": [0.1], "batch_size": [2], "ensemble": [120], "width": [1, 2]}},
    "readout": {"sweep": {"seed": 9, "claims": ["fokker_planck", "madelung"]},
                "task": {"kind": "tanh_network", "n_data": 64, "trainable": "readout"},
                "run": {"n_steps": 24, "anchors": [8, 16]},
                "measure": {"bootstrap": 3, "window": 3, "basis_degree": 1},
                "grid": {"gamma": [0.2], "batch_size": [1], "ensemble": [60], "width": [3]}},
}


def _rows() -> dict:
    from nnqg.verify import _sweep as S

    out = {}
    for name, d in SPECS.items():
        spec = S.parse_spec(d)
        rows = []
        for p in S.grid_points(spec):
            row = S.evaluate_point(spec, p, S.point_seed(spec, p))
            row.pop("seconds")
            rows.append({k: (float(v).hex() if isinstance(v, float) else v) for k, v in row.items()})
        out[name] = {"spec_hash": spec.spec_hash(), "rows": rows}
    return out


def _close(a, b) -> bool:
    if isinstance(a, str) and a.startswith(("0x", "-0x", "nan", "inf", "-inf")):
        x, y = float.fromhex(a), float.fromhex(b)
        return (math.isnan(x) and math.isnan(y)) or x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    return a == b


def test_sweep_numbers_and_spec_hashes_are_unchanged() -> None:
    want = json.loads(GOLDEN.read_text())
    got = _rows()
    assert set(got) == set(want)
    for name in want:
        assert got[name]["spec_hash"] == want[name]["spec_hash"], name
        assert len(got[name]["rows"]) == len(want[name]["rows"])
        for g, w in zip(got[name]["rows"], want[name]["rows"]):
            assert set(g) == set(w), (name, set(g) ^ set(w))
            bad = {k: (g[k], w[k]) for k in w if not _close(g[k], w[k])}
            assert not bad, (name, w["point_id"], bad)


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps(_rows(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
