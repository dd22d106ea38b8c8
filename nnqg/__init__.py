"""nnqg: a symbolic-plus-numeric verifier of the claims of Vanchurin, "Towards a theory of quantum gravity from
neural networks" (Entropy 24 (2022) 7).

The public facade: the claim registry and runner (``nnqg.verify``), the derived equations
(``nnqg.derivations``) and the generated kernels and simulators (``nnqg.numerics``).
"""

__version__ = "0.1.0"
