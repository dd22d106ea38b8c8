"""nnqg.numerics: generated numba kernels, simulators of learning trajectories, solvers, residuals."""

from ._codegen import STATS as KERNEL_STATS
from ._codegen import KernelCacheWarning, ResidualKernel, cache_dir, compile_residual

__all__ = ["KERNEL_STATS", "KernelCacheWarning", "ResidualKernel", "cache_dir", "compile_residual"]
