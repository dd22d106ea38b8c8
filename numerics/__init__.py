"""nnqg.numerics: generated numba kernels, simulators of learning trajectories, solvers, residuals."""

from ._cachedir import CacheWarning, KernelCacheWarning
from ._codegen import STATS as KERNEL_STATS
from ._codegen import ResidualKernel, cache_dir, compile_residual
from ._schrodinger import SchrodingerSolution, crank_nicolson
from ._sgd import RegressionTask, make_regression_task, simulate_sgd
from ._vortex import central_gradient, rectangle_circulation

__all__ = ["CacheWarning", "KERNEL_STATS", "KernelCacheWarning", "RegressionTask", "ResidualKernel",
           "SchrodingerSolution", "cache_dir", "central_gradient", "compile_residual", "crank_nicolson", "make_regression_task",
           "rectangle_circulation", "simulate_sgd"]
