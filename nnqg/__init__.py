"""nnqg: a symbolic-plus-numeric verifier of the claims of Vanchurin, "Towards a theory of quantum gravity from
neural networks" (Entropy 24 (2022) 7, arXiv:2111.00903).

The public API (each function documents its arguments; the command line runs the same code):

* :func:`claims` -- the registered claims (id, theory section, statement, assumptions);
* :func:`verify` -- run claims and get a :class:`Report` (verdicts in three parts: derivation, calibration,
  learning evidence; the JSON report; an HTML page; rich displays in Jupyter);
* :func:`derive` -- a claim's derivation, step by step, with its exact checks (LaTeX to paste: ``.latex()``);
* :func:`curvature` -- decide exactly whether a metric solves a field equation;
* :func:`examples_dir` -- the metric files, sweep specs and notebook installed with nnqg.

>>> import nnqg
>>> rep = nnqg.verify("madelung.*", calibration=False)
>>> [v.derivation_status for v in rep]
['EXACT', 'EXACT']

The subpackages ``nnqg.derivations`` (SymPy), ``nnqg.numerics`` (generated kernels, simulators) and
``nnqg.verify`` (claims, runner, reports) hold the implementation.
"""

__version__ = "0.1.0"

from ._api import Derivation, Report, claims, curvature, derive, examples_dir  # noqa: E402
from . import verify  # noqa: E402  (the subpackage, callable: nnqg.verify(...) runs claims, see nnqg._api.verify)

__all__ = ["Derivation", "Report", "__version__", "claims", "curvature", "derive", "examples_dir", "verify"]
