"""Learning experiments: the *learning evidence* part of a claim.

Each module here runs one pre-registered experiment (docs/experiments.md) on a system whose parameters move by a
learning rule, from data, together with its positive and negative controls, and returns a
:class:`nnqg.verify.LearningEvidence` (SUPPORTED / NOT SUPPORTED / INCONCLUSIVE) through
:func:`nnqg.verify._model.decide_learning`. The learning systems and their estimators live in ``nnqg.numerics``;
these modules only orchestrate (sizes per profile, seeds, controls, the decision). A claim points at its
experiment with ``Claim(learning=...)``.
"""
