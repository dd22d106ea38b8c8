r"""Hypothesis strategies for the physics nnqg checks: use them in your own pytest, or let
``nnqg verify --explore N`` draw a claim's inputs from them.

Every strategy yields what a user would give nnqg: formula strings (read by the same restricted parser as
``--potential``), metric-file text (read by the same loader as ``nnqg curvature``), plain numbers. Numbers lie on
exact decimal grids and shrink towards a simple anchor, so a failing case shrinks to a short, readable one.

Parameters (docs/theory.md, section 3):

* :func:`learning_parameters` -- :class:`LearningParameters` gamma, c, D, T (m = 1/gamma, hbar^2 = c/gamma);
  :func:`positive` one of them; :func:`grid` any number on a decimal grid; :func:`decimal_text`,
  :func:`linear_text` and :func:`shifted` write numbers and sums into formulas.

Potentials V(q), bounded below, as formula strings in ``q`` (:func:`potentials`, parse with
:func:`potential_expr`): :func:`harmonic`, :func:`polynomials`, :func:`poeschl_teller`, :func:`morse`,
:func:`double_wells`, :func:`gaussian_sums` (a harmonic confinement plus Gaussian bumps).

Initial states: :func:`gaussian_states` (:class:`GaussianState`: width, centre, momentum) and
:func:`initial_states` (:class:`InitialState`: Gaussians, oscillator excited states, superpositions with a node).

Metrics (docs/theory.md, section 8) as metric-file text (:func:`metric_files`) or
:class:`~nnqg.derivations._curvature.Metric` objects (:func:`metrics`), families
:func:`two_dimensional_metrics` (optical metrics of a network's light speed c(x)),
:func:`static_spherical_metrics` (random f(r)), :func:`stationary_axisymmetric_metrics`, :func:`flrw_metrics`
(random a(t)), and :func:`transformed_solutions` (:class:`SolutionCase`: a random coordinate change of a known
solution, which must stay a solution); :func:`load` reads the text as ``nnqg curvature`` does.

Networks: :func:`network_sizes`, weight structures (:class:`WeightStructure`) :func:`shift_structures` (the
permutation networks of the Lorentz claim) and :func:`random_structures`, and local light speeds
:func:`speed_profiles` (formulas in x).

>>> from hypothesis import given, settings
>>> from nnqg.strategies import potentials, potential_expr
>>> @settings(max_examples=20, derandomize=True, database=None)
... @given(potentials())
... def test_bounded_below(v):
...     assert potential_expr(v).is_real is not False
>>> test_bounded_below()
"""

from ._strategies_metrics import BASES, METRIC_FAMILIES, SolutionCase, flrw_metrics, load, metric_files, \
    metrics, pull_back, scale_factors, static_spherical_metrics, stationary_axisymmetric_metrics, toml_text, \
    transformed_solutions, two_dimensional_metrics
from ._strategies_networks import WeightStructure, network_sizes, random_structures, shift_structures, \
    speed_profiles
from ._strategies_quantum import POTENTIAL_FAMILIES, RANGES, GaussianState, InitialState, LearningParameters, \
    decimal_text, double_wells, gaussian_sums, gaussian_states, grid, harmonic, initial_states, \
    learning_parameters, linear_text, morse, poeschl_teller, polynomials, positive, potential_expr, potentials, \
    shifted, state_expr

__all__ = [
    "BASES", "METRIC_FAMILIES", "POTENTIAL_FAMILIES", "RANGES", "GaussianState", "InitialState",
    "LearningParameters", "SolutionCase", "WeightStructure", "decimal_text", "double_wells", "flrw_metrics",
    "gaussian_states", "gaussian_sums", "grid", "harmonic", "initial_states", "learning_parameters",
    "linear_text", "load",
    "metric_files", "metrics", "morse", "network_sizes", "poeschl_teller", "polynomials", "positive",
    "potential_expr", "potentials", "pull_back", "random_structures", "scale_factors", "shift_structures", "shifted",
    "speed_profiles", "state_expr", "static_spherical_metrics", "stationary_axisymmetric_metrics", "toml_text",
    "transformed_solutions", "two_dimensional_metrics",
]
