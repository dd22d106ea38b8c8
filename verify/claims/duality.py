r"""Claim `duality.report` (docs/theory.md, section 9): one network, two descriptions, side by side.

The network. 2N neurons on a ring with the hand-set shift (permutation) weight matrix
:math:`W = \mathrm{diag}(S, S^T)` of `lorentz.wave_equation` (non-trainable variables: the neuron states
:math:`y(t+1) = W y(t)`), and a linear read-out :math:`f(x) = q_1 x + q_2` of the network's averaged state
(trainable variables: :math:`q = (q_1, q_2)`). The read-out's data are the network's own activity: inputs
:math:`x_n` are block averages of :math:`u = R + L` at successive updates, from random smooth initial activity,
standardised to mean 0 and variance 1 (a stated choice); targets are a teacher :math:`y_n = x_n - 1/2 +
\text{noise}`.

What is reported for that one network are the two *calibrations*, run on its configuration:

* trainable side (the read-out q): the calibration of `learning.fokker_planck` on the read-out's data set (the
  finite-volume solver and the diffusion-ratio estimators on the Ornstein-Uhlenbeck process with the read-out's
  Hessian and measured D). This is the Fokker-Planck description of the read-out's learning dynamics; the paper's
  *quantum* description (Madelung, Schrodinger) is **not** evaluated on this network;
* neuron side (the states): the calibration of `lorentz.wave_equation` with the same weight matrix and block
  size, over a ladder of network sizes that contains this network.

Neither is learning evidence (the weights are set by hand; nothing here measures a trained system); the learning
evidence of the duality is the experiment "duality on one learning network" (:mod:`nnqg.verify.learning.duality`,
its learning part). Status: PASSED when both calibrations pass, INCONCLUSIVE when neither FAILED and one is
INCONCLUSIVE (not resolved); each side's verdict, rule and power are reported side by side. A planted error on
either side (a wrong diffusion in the stated equation, a first-order solver, a leaky weight matrix that is no
longer a permutation) makes the report FAILED; the sides are independent checks: a leaky matrix breaks the neuron side
while the trainable side, which holds for any data, still passes.
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
from .._model import INCONCLUSIVE, PASSED, Claim, NumericContext, NumericResult, SymbolicResult, calibration_status
from .._registry import get_claim

CLAIM_KEY = 9

ASSUMPTIONS = (
    "one network: the hand-set shift-matrix ring of lorentz.wave_equation with a linear read-out",
    "trainable side = the calibration of learning.fokker_planck on the read-out, the network's own states as data; "
    "nothing quantum (Madelung, Schrodinger) is evaluated",
    "neuron side = the calibration of lorentz.wave_equation on the same weight matrix and block size",
    "read-out inputs standardised to mean 0, variance 1; teacher y = x - 1/2 + noise",
    "the calibration is not learning evidence; that is the experiment \"duality on one learning network\"",
)
SYSTEM = ("one hand-set shift-matrix ring with a linear read-out fed by the ring's block averages: the calibrations "
          "of both sides' instruments on that network (Fokker-Planck solver and estimators; wave kernel and block "
          "averaging); nothing quantum is evaluated, nothing is learned")


def default_inputs() -> dict[str, Any]:
    """The network (weights as a callable N -> 2N x 2N matrix, its size and block), the data set size, and
    overrides passed to each side (what a user could change in each description)."""
    return {
        "weights": two_population_shift_weights,
        "network_size": 256,
        "block": 4,
        "n_data": 256,
        "data_noise": 1.0,
        "readout_overrides": {},
        "neuron_overrides": {},
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
              **dict(inputs["readout_overrides"])}
    g_over = {"weights": inputs["weights"], "block": block, **dict(inputs["neuron_overrides"])}
    sizes_key = [k for k in ("sizes_quick", "sizes_full") if k in g_claim.default_inputs()]
    for k in sizes_key:  # the network itself must be one rung of the neuron side's size ladder
        sizes = tuple(g_over.get(k, g_claim.default_inputs()[k]))
        if n not in sizes:
            g_over[k] = tuple(sorted(set(sizes) | {n}))
    return q_claim, q_over, g_claim, g_over


def _symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    q_claim, q_over, g_claim, g_over = _sides(inputs)
    qi = {**q_claim.default_inputs(), **q_over}
    gi = {**g_claim.default_inputs(), **g_over}
    qs, gs = q_claim.derivation(qi), g_claim.derivation(gi)
    checks = tuple((f"trainable side ({q_claim.id}): {lab}", e) for lab, e in qs.checks) + \
        tuple((f"neuron side ({g_claim.id}): {lab}", e) for lab, e in gs.checks)
    facts = tuple((f"trainable side: {lab}", v) for lab, v in qs.facts) + \
        tuple((f"neuron side: {lab}", v) for lab, v in gs.facts)
    return SymbolicResult(checks=checks, steps=qs.steps + gs.steps, facts=facts)


def _side_json(n: NumericResult) -> dict[str, Any]:
    return {"status": calibration_status(n), "system": n.system, "rule": n.rule, "max_residual": n.max_residual,
            "tolerance": n.tolerance, "where": n.where, "power": dict(n.power),
            "facts": [{"fact": lab, "shown": bool(v)} for lab, v in n.facts],
            "convergence": None if n.convergence is None else n.convergence.to_json()}


TRAINABLE, NEURON = "trainable side (read-out q: Fokker-Planck calibration)", \
    "neuron side (states: wave-equation calibration)"


def _numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    """Both sides' calibrations on this network (their derivations are this claim's derivation, not redone)."""
    q_claim, q_over, g_claim, g_over = _sides(inputs)

    def sub(label: str, lo: float, hi: float) -> NumericContext:
        def prog(what: str, frac: float) -> None:
            ctx.report(f"{label}: {what}", lo + (hi - lo) * frac)
        return NumericContext(seed=ctx.seed, quick=ctx.quick, progress=prog)

    qn = q_claim.calibration(sub("trainable side", 0.0, 0.6), {**q_claim.default_inputs(), **q_over})
    gn = g_claim.calibration(sub("neuron side", 0.6, 1.0), {**g_claim.default_inputs(), **g_over})
    qs, gs = calibration_status(qn), calibration_status(gn)
    facts = ((f"trainable side ({q_claim.id}) calibration {qs}", qs == PASSED),
             (f"neuron side ({g_claim.id}) calibration {gs}", gs == PASSED))
    # the headline residual is the worse of the two, each relative to its own tolerance
    ratios = [(n.max_residual / n.tolerance, n) for n in (qn, gn) if n.tolerance > 0]
    worst = max(ratios, key=lambda t: t[0] if np.isfinite(t[0]) else np.inf)[1] if ratios else None
    details = {
        "network": {"neurons": 2 * inputs["network_size"], "block": inputs["block"],
                    "weights_are_permutation": bool(_nn.is_permutation(inputs["weights"](inputs["network_size"]))),
                    "read_out_data_points": int(inputs["n_data"])},
        TRAINABLE: _side_json(qn),
        NEURON: _side_json(gn),
    }
    power = {f"{side}: {k}": v for side, n in (("trainable side", qn), ("neuron side", gn)) for k, v in n.power.items()}
    rule = ("PASSED when both calibrations pass, INCONCLUSIVE when neither FAILED and one is INCONCLUSIVE; "
            + "; ".join(f"{side}: {n.rule}" for side, n in (("trainable side", qn), ("neuron side", gn))))
    return NumericResult(
        max_residual=float("nan") if worst is None else worst.max_residual,
        tolerance=float("nan") if worst is None else worst.tolerance,
        ok=all(v for _, v in facts), convergence=None if worst is None else worst.convergence,
        where=f"trainable side: {qs} ({qn.where}); neuron side: {gs} ({gn.where})",
        details=details, facts=facts, system=SYSTEM, rule=rule, power=power,
        inconclusive=INCONCLUSIVE in (qs, gs) and {qs, gs} <= {PASSED, INCONCLUSIVE})


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "readout_side_diffusion_factor_2": {"readout_overrides": {
            "diffusion_formula": lambda gamma, B, S: 2 * gamma**2 * S / (2 * B)}},
        "readout_side_first_order_solver": {"readout_overrides": {"fp_scheme": "upwind"}},
        "network_leaky_weights": {"weights": lambda n: 0.98 * two_population_shift_weights(n)},
    }


CLAIMS = [
    Claim(
        id="duality.report", section="9",
        statement="One network, two descriptions side by side: for a hand-set shift-matrix ring with a linear "
                  "read-out fed by its own states, the Fokker-Planck instruments (trainable read-out) and the "
                  "wave-equation instruments (neuron states) are calibrated on that network; nothing quantum is "
                  "evaluated and nothing is learned in this calibration. The learning evidence is the experiment "
                  "\"duality on one learning network\" (a ring whose weights learn by SGD).",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs, derivation=_symbolic, calibration=_numeric,
        mutations=_mutations,
        learning=_learning_duality.evidence,
        modules=(__file__, *(m for c in (*_learning.CLAIMS, *_lorentz.CLAIMS) for m in c.modules)),
    ),
]
