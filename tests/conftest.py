"""Shared test set-up: hypothesis profiles and a private kernel cache per test session."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

# JIT-compiled code has a first-call cost: no deadlines. `ci` is derandomised with a fixed budget.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=30,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("full", deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Tests write generated kernels to their own cache so they never touch (or trust) a user's cache.
os.environ.setdefault("NNQG_CACHE_DIR", tempfile.mkdtemp(prefix="nnqg-test-cache-"))
