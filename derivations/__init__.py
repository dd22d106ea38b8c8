"""nnqg.derivations: SymPy only. Functionals, Euler-Lagrange equations, tensors, derived equations."""

from ._core import EquationSet, Step, derivative_symbol_name, free_symbol_names, is_zero, jet
from ._errors import DerivationError, InvalidArgument, NnqgError
from ._parser import parse_formula

__all__ = [
    "DerivationError", "EquationSet", "InvalidArgument", "NnqgError", "Step", "derivative_symbol_name",
    "free_symbol_names", "is_zero", "jet", "parse_formula",
]
