"""The public API: list the claims, verify them, derive one, check a metric's curvature.

Everything here delegates to the same code the command line runs (``nnqg claims``, ``nnqg verify``,
``nnqg derive``, ``nnqg curvature``); the objects returned render themselves in Jupyter (``_repr_html_``,
``_repr_latex_``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import sympy as sp


def claims(pattern: str | None = None) -> tuple[Any, ...]:
    """The registered claims, in the paper's order; ``pattern`` selects by comma-separated globs of ids.

    Each :class:`~nnqg.verify.Claim` carries its id, theory section (docs/theory.md), statement, assumptions
    and the functions of its three parts (derivation, calibration, learning).

    >>> import nnqg
    >>> [c.id for c in nnqg.claims("madelung.*")]
    ['madelung.continuity', 'madelung.hamilton_jacobi']
    """
    from nnqg.verify import select_claims

    return tuple(select_claims(pattern))


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`verify`: one :class:`~nnqg.verify.Verdict` per claim and the JSON report built from
    them (the same dictionary ``nnqg verify --json`` writes).

    ``report["madelung.continuity"]`` is that claim's verdict; ``report.ok`` is True when no derivation or
    calibration failed (the exit status of ``nnqg verify``; a learning verdict never changes it). In Jupyter the
    report renders as its verdict table (``_repr_html_``, ``_repr_latex_``); :meth:`html` is the whole page of
    ``nnqg verify --html``.
    """

    verdicts: tuple[Any, ...]
    data: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return not any(v.status in ("FAILED", "NONFINITE") for v in self.verdicts)

    def __getitem__(self, claim_id: str) -> Any:
        for v in self.verdicts:
            if v.claim.id == claim_id:
                return v
        raise KeyError(claim_id)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.verdicts)

    def __len__(self) -> int:
        return len(self.verdicts)

    def to_json(self) -> str:
        """The JSON text of ``nnqg verify --json`` (sorted keys, 12 significant digits)."""
        from nnqg.verify import dumps

        return dumps(dict(self.data))

    def write_json(self, path: str | Path) -> Path:
        from nnqg.verify._report import check_output_path, write_report

        check_output_path(Path(path), "path")
        write_report(dict(self.data), Path(path))
        return Path(path)

    def html(self) -> str:
        """The self-contained HTML page (MathML equations, inline SVG figures)."""
        from nnqg.verify._html import ReportView

        return ReportView(self.verdicts, self.data).page()

    def write_html(self, path: str | Path) -> Path:
        from nnqg.verify._html import write_html
        from nnqg.verify._report import check_output_path

        check_output_path(Path(path), "path")
        write_html(self.verdicts, self.data, Path(path))
        return Path(path)

    def _repr_html_(self) -> str:
        from nnqg.verify._html import ReportView

        return ReportView(self.verdicts, self.data)._repr_html_()

    def _repr_latex_(self) -> str:
        from nnqg.verify._html import ReportView

        return ReportView(self.verdicts, self.data)._repr_latex_()


def verify(pattern: str | None = None, *, seed: int = 1, quick: bool = False, calibration: bool = True,
           learning: bool = True, potential: str | None = None,
           progress: Callable[[str, float], None] | None = None) -> Report:
    """Run the selected claims (all by default) and return the :class:`Report`.

    The same run as ``nnqg verify``: ``seed`` seeds every random stream (the same seed gives the same report),
    ``quick`` uses the smaller size profile, ``calibration=False`` and ``learning=False`` skip those parts
    (``--symbolic-only``, ``--no-learning``), ``potential`` runs the Madelung/Schrodinger claims on a formula
    V(q) parsed by nnqg's whitelist parser. ``progress(what, fraction)`` is called as the numeric parts advance.

    >>> import nnqg
    >>> rep = nnqg.verify("madelung.continuity", calibration=False, learning=False)
    >>> rep["madelung.continuity"].derivation_status, rep.ok
    ('EXACT', True)
    """
    from nnqg.verify import NumericContext, build_report, run_claim, select_claims

    chosen = select_claims(pattern)
    overrides: dict[str, dict[str, Any]] = {}
    if potential is not None:
        from nnqg.verify.claims._user import potential_overrides

        overrides = potential_overrides(potential, chosen)
    ctx = NumericContext(seed=seed, quick=quick, progress=progress)
    verdicts = tuple(run_claim(c, ctx, overrides.get(c.id), calibration=calibration,
                               learning=learning and calibration) for c in chosen)
    return Report(verdicts, build_report(list(verdicts), seed=seed, quick=quick))


@dataclass(frozen=True)
class Derivation:
    """A claim's derivation: its steps (``Step``: title, ``lhs = rhs``) and its exact checks.

    :meth:`latex` is the ``align`` environment of ``nnqg derive --latex`` (the paper's notation, amsmath only);
    in Jupyter it renders with MathJax (``_repr_latex_``) or MathML (``_repr_html_``).
    """

    claim: Any
    result: Any

    @property
    def steps(self) -> tuple[Any, ...]:
        return self.result.steps

    @property
    def checks(self) -> tuple[tuple[str, sp.Expr], ...]:
        return self.result.checks

    @property
    def ok(self) -> bool:
        """Every identity reduces to exactly 0 and every fact is shown."""
        return bool(self.result.ok)

    def latex(self) -> str:
        from nnqg.verify._paper import derivation_align

        return derivation_align(self.claim, self.result)

    def _repr_latex_(self) -> str:
        from nnqg.verify._paper import symbolic_latex

        return symbolic_latex(self.claim, self.result)

    def _repr_html_(self) -> str:
        from nnqg.verify._html import symbolic_html

        return symbolic_html(self.claim, self.result)


def derive(claim_id: str, **inputs: Any) -> Derivation:
    """The derivation of one claim with its default inputs, or with some replaced (``inputs``: the names a claim
    takes, e.g. a planted error; unknown names are refused).

    >>> import nnqg
    >>> d = nnqg.derive("madelung.continuity")
    >>> d.ok, d.steps[0].title
    (True, 'Action density of learning (stationary entropy production)')
    >>> "\\\\begin{align}" in d.latex()
    True
    """
    from nnqg.derivations import InvalidArgument
    from nnqg.verify import get_claim

    c = get_claim(claim_id)
    given = c.default_inputs()
    unknown = sorted(set(inputs) - set(given))
    if unknown:
        raise InvalidArgument(f"derive({claim_id!r}): unknown inputs {unknown}; the claim takes {sorted(given)}")
    given.update(inputs)
    return Derivation(c, c.derivation(given))


def curvature(metric: Any, equation: str = "ricci_flat", *, coords: Sequence[sp.Symbol] | None = None,
              Lambda: sp.Expr | None = None, stress_energy: sp.MatrixBase | None = None, seed: int = 0,
              **options: Any) -> Any:
    r"""Decide exactly whether a metric solves a field equation; the result also holds its curvature.

    ``metric``: a TOML metric file (path, as for ``nnqg curvature``), or a SymPy matrix :math:`g_{ab}` with its
    ``coords``. ``equation``: ``ricci_flat`` (:math:`R_{ab} = 0`), ``einstein_lambda``
    (:math:`G_{ab} + \Lambda g_{ab} = 0`) or ``einstein`` (:math:`G_{ab} + \Lambda g_{ab} = 8\pi T_{ab}` with
    ``stress_energy``). A metric file's own ``lambda`` and ``[stress_energy]`` are used unless given here.
    Returns the engine's check result: ``.holds``, ``.nonzero`` (each failing component with a witness point),
    ``.curvature`` (Christoffel symbols, Ricci and Einstein tensors), ``.describe()``.

    >>> import sympy as sp, nnqg
    >>> t, r, th, ph, M = sp.symbols("t r theta phi M", positive=True)
    >>> f = 1 - 2 * M / r
    >>> nnqg.curvature(sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(th)**2), coords=(t, r, th, ph)).holds
    True
    """
    from nnqg.derivations import InvalidArgument
    from nnqg.derivations._curvature import Metric, check

    if isinstance(metric, (str, Path)):
        from nnqg.derivations._metric_file import load_metric

        spec = load_metric(metric)
        m = spec.metric
        Lambda = spec.Lambda if Lambda is None else Lambda
        stress_energy = spec.stress_energy if stress_energy is None else stress_energy
    elif isinstance(metric, Metric):
        m = metric
    elif isinstance(metric, sp.MatrixBase):
        if coords is None or len(coords) != metric.rows or not metric.is_square:
            raise InvalidArgument(f"curvature: a square metric matrix needs coords, one symbol per row; got "
                                  f"{metric.shape} and coords={coords!r}")
        params = tuple(sorted(metric.free_symbols - set(coords), key=lambda s: s.name))
        m = Metric("metric", tuple(coords), sp.ImmutableMatrix(metric), params)
    else:
        raise InvalidArgument(f"curvature: metric must be a path to a metric file, a Metric or a SymPy matrix, "
                              f"got {type(metric).__name__}")
    return check(m, equation, Lambda=Lambda, stress_energy=stress_energy, seed=seed, **options)


def examples_dir() -> Path:
    """The examples installed with nnqg (metric files, sweep specs, the notebook): ``nnqg/examples`` in an
    installed package, ``examples/`` of a source tree."""
    from importlib import resources

    try:
        path = Path(str(resources.files("nnqg.examples")))
        if (path / "metrics").is_dir():
            return path
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[1] / "examples"


__all__ = ["Derivation", "Report", "claims", "curvature", "derive", "examples_dir", "verify"]
