"""nnqg.numerics: generated numba kernels, simulators of learning trajectories, solvers, residuals, and the ensemble
estimators (Fokker-Planck, continuity, Nelson's osmotic relation and Newton law, circulation) with their standard
errors and power."""

from ._codegen import STATS as KERNEL_STATS
from ._codegen import KernelCacheWarning, ResidualKernel, cache_dir, compile_residual
from ._ensemble import Ensemble
from ._ensemble_measures import CirculationQuanta, NelsonDistances, NewtonDistance, WeakFormDistance, \
    continuity_distance, detectable_shift, fokker_planck_distance, nelson_distances, within_tolerance
from ._schrodinger import SchrodingerSolution, crank_nicolson
from ._sgd import RegressionTask, make_regression_task, simulate_sgd
from ._tasks import Setting, TaskKind, register, task_kind, task_kinds
from ._vortex import central_gradient, rectangle_circulation

__all__ = ["CirculationQuanta", "Ensemble", "KERNEL_STATS", "KernelCacheWarning", "NelsonDistances",
           "NewtonDistance", "RegressionTask", "ResidualKernel", "SchrodingerSolution", "Setting", "TaskKind",
           "WeakFormDistance", "cache_dir", "central_gradient", "compile_residual", "continuity_distance",
           "crank_nicolson", "detectable_shift", "fokker_planck_distance", "make_regression_task",
           "nelson_distances", "rectangle_circulation", "register", "simulate_sgd", "task_kind", "task_kinds",
           "within_tolerance"]
