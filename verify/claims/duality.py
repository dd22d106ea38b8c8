r"""Claim `duality.report` (PHYSICS.md section 9): one network, both descriptions, side by side.

The network. 2N neurons on a ring with the shift (permutation) weight matrix :math:`W = \mathrm{diag}(S, S^T)`
of `lorentz.wave_equation` (non-trainable variables: the neuron states :math:`y(t+1) = W y(t)`), and a linear
read-out :math:`f(x) = q_1 x + q_2` of the network's averaged state (trainable variables: :math:`q = (q_1, q_2)`).
The read-out learns by mini-batch SGD from data the network itself produces: inputs :math:`x_n` are block
averages of :math:`u = R + L` at successive updates, from random smooth initial activity, standardised to mean 0
and variance 1 (the read-out's input normalisation, a stated choice); targets are a teacher
:math:`y_n = x_n - 1/2 + \text{noise}`.

The two descriptions of that one network are the two existing checks, run on it:

* quantum side (trainable q): `learning.fokker_planck` with the network's data set as its task: the SGD
  ensemble of read-outs against the Fokker-Planck solution with D measured from the per-example gradients,
  and the reported distance of plain SGD from Nelson's (Madelung) description;
* gravitational side (neuron states): `lorentz.wave_equation` with the same weight matrix and block size: the
  block-averaged states against :math:`u_{tt} - c^2u_{xx} = 0` over a ladder of network sizes.

Status: PASSED when both sides pass. The two verdicts, their residuals, tolerances and orders, are reported
side by side in the details. A planted error on either side (a wrong diffusion in the stated equation, a leaky
weight matrix that is no longer a permutation) must make the report FAILED; a leaky matrix breaks the
gravitational side while the quantum side, which holds for any data, still passes: the sides are independent
checks, which is what "two descriptions" means.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.numerics import _network as _nn
from nnqg.numerics import _sgd
from nnqg.numerics._network import block_average, simulate, two_population_shift_weights

from . import learning as _learning
from ..learning import duality as _learning_duality
from . import lorentz as _lorentz
from .._model import Claim, NumericContext, NumericResult, SymbolicResult, Verdict
from .._registry import get_claim
from .._runner import run_claim

CLAIM_KEY = 9

ASSUMPTIONS = (
    "one network: the shift-matrix ring of lorentz.wave_equation with a linear read-out trained by SGD",
    "quantum side = learning.fokker_planck on the read-out, with the network's own states as data",
    "gravitational side = lorentz.wave_equation on the same weight matrix and block size",
    "read-out inputs standardised to mean 0, variance 1; teacher y = x - 1/2 + noise",
)


def default_inputs() -> dict[str, Any]:
    """The network (weights as a callable N -> 2N x 2N matrix, its size and block), the data set size, and
    overrides passed to each side (what a user could change in each description)."""
    return {
        "weights": two_population_shift_weights,
        "network_size": 256,
        "block": 4,
        "n_data": 256,
        "data_noise": 1.0,
        "quantum_overrides": {},
        "gravity_overrides": {},
    }


def network_task(weights: Callable[[int], Any], n: int, block: int, n_data: int, noise: float,
                 rng: np.random.Generator) -> _sgd.RegressionTask:
    """The read-out's data set from the network's own activity (module docstring)."""
    if not isinstance(n, int) or n < 4 * block or n % block:
        raise InvalidArgument(f"network_size: must be an integer multiple of block={block} and >= {4 * block}, "
                              f"got {n!r}")
    W = weights(n)
    xs = np.arange(n) / n
    # random smooth initial activity: a few random Fourier modes per population
    modes = np.arange(1, 4)
    a = rng.standard_normal((2, 2, modes.size))
    R0 = (a[0, 0] @ np.sin(2 * np.pi * np.outer(modes, xs)) + a[0, 1] @ np.cos(2 * np.pi * np.outer(modes, xs)))
    L0 = (a[1, 0] @ np.sin(2 * np.pi * np.outer(modes, xs)) + a[1, 1] @ np.cos(2 * np.pi * np.outer(modes, xs)))
    blocks = n // block
    steps = -(-n_data // blocks)
    Y = simulate(W, np.r_[R0, L0], steps)
    U = block_average(Y[1:, :n] + Y[1:, n:], block).ravel()[:n_data]
    if not np.all(np.isfinite(U)) or U.std() == 0:
        raise InvalidArgument("weights: the network's activity is constant or not finite; no data to learn from")
    x = (U - U.mean()) / U.std()
    y = x - 0.5 + noise * rng.standard_normal(x.size)
    return _sgd.RegressionTask(x, y)


def _sides(inputs: Mapping[str, Any]) -> tuple[Claim, dict[str, Any], Claim, dict[str, Any]]:
    q_claim, g_claim = get_claim("learning.fokker_planck"), get_claim("lorentz.wave_equation")
    n, block = inputs["network_size"], inputs["block"]
    nd, noise = int(inputs["n_data"]), float(inputs["data_noise"])
    q_over = {"task_factory": lambda rng: network_task(inputs["weights"], n, block, nd, noise, rng),
              **dict(inputs["quantum_overrides"])}
    g_over = {"weights": inputs["weights"], "block": block, **dict(inputs["gravity_overrides"])}
    sizes_key = [k for k in ("sizes_quick", "sizes_full") if k in g_claim.default_inputs()]
    for k in sizes_key:  # the network itself must be one rung of the gravitational size ladder
        sizes = tuple(g_over.get(k, g_claim.default_inputs()[k]))
        if n not in sizes:
            g_over[k] = tuple(sorted(set(sizes) | {n}))
    return q_claim, q_over, g_claim, g_over


def _symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    q_claim, q_over, g_claim, g_over = _sides(inputs)
    qi = {**q_claim.default_inputs(), **q_over}
    gi = {**g_claim.default_inputs(), **g_over}
    qs, gs = q_claim.derivation(qi), g_claim.derivation(gi)
    checks = tuple((f"quantum side ({q_claim.id}): {lab}", e) for lab, e in qs.checks) + \
        tuple((f"gravitational side ({g_claim.id}): {lab}", e) for lab, e in gs.checks)
    facts = tuple((f"quantum side: {lab}", v) for lab, v in qs.facts) + \
        tuple((f"gravitational side: {lab}", v) for lab, v in gs.facts)
    return SymbolicResult(checks=checks, steps=qs.steps + gs.steps, facts=facts)


def _side_json(v: Verdict) -> dict[str, Any]:
    d = v.to_json()
    d.pop("assumptions", None)
    return d


def _numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    q_claim, q_over, g_claim, g_over = _sides(inputs)

    def sub(label: str, lo: float, hi: float) -> NumericContext:
        def prog(what: str, frac: float) -> None:
            ctx.report(f"{label}: {what}", lo + (hi - lo) * frac)
        return NumericContext(seed=ctx.seed, quick=ctx.quick, progress=prog)

    qv = run_claim(q_claim, sub("quantum side", 0.0, 0.7), q_over)
    gv = run_claim(g_claim, sub("gravitational side", 0.7, 1.0), g_over)
    facts = ((f"quantum side ({q_claim.id}) {qv.status}", qv.status == "PASSED"),
             (f"gravitational side ({g_claim.id}) {gv.status}", gv.status == "PASSED"))
    qn, gn = qv.calibration, gv.calibration
    # the headline residual is the worse of the two, each relative to its own tolerance
    ratios = [(n.max_residual / n.tolerance, n) for n in (qn, gn) if n is not None and n.tolerance > 0]
    worst = max(ratios, key=lambda t: t[0] if np.isfinite(t[0]) else np.inf)[1] if ratios else None
    details = {
        "network": {"neurons": 2 * inputs["network_size"], "block": inputs["block"],
                    "weights_are_permutation": bool(_nn.is_permutation(inputs["weights"](inputs["network_size"]))),
                    "read_out_data_points": int(inputs["n_data"])},
        "quantum side (trainable variables q)": _side_json(qv),
        "gravitational side (non-trainable variables: neuron states)": _side_json(gv),
    }
    return NumericResult(
        max_residual=float("nan") if worst is None else worst.max_residual,
        tolerance=float("nan") if worst is None else worst.tolerance,
        ok=all(v for _, v in facts), convergence=None if worst is None else worst.convergence,
        where=f"quantum: {qv.status} ({qv.reason}); gravitational: {gv.status} ({gv.reason})",
        details=details, facts=facts)


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "quantum_side_diffusion_factor_2": {"quantum_overrides": {
            "diffusion_formula": lambda gamma, B, S: 2 * gamma**2 * S / (2 * B)}},
        "network_leaky_weights": {"weights": lambda n: 0.98 * two_population_shift_weights(n)},
    }


CLAIMS = [
    Claim(
        id="duality.report", section="9",
        statement="One network, two descriptions: its trainable read-out obeys the Fokker-Planck (learning) "
                  "description and its neuron states the wave equation of an emergent Minkowski space-time; "
                  "both checked on the same network and reported side by side.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs, derivation=_symbolic, calibration=_numeric,
        mutations=_mutations,
        learning=_learning_duality.evidence,
        modules=(__file__, *(m for c in (*_learning.CLAIMS, *_lorentz.CLAIMS) for m in c.modules)),
    ),
]
