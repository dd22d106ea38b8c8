"""The claims' explorable inputs: what ``nnqg verify --explore`` draws, and how a user gives the same input
(``--param NAME=VALUE``, ``--potential EXPR``, ``--metric NAME=FILE``).

A claim's :class:`ExploreSpec` (the registry :data:`SPECS` in :mod:`._explore_specs`) declares

* *knobs* (:class:`Knob`): named inputs with an admissible range -- a number (an entry of the claim's inputs, or
  of a dict input: ``free_packet.s0``) or a formula in declared variables -- drawn on a grid that shrinks
  towards the claim's default value, and accepted from the command line by ``--param NAME=VALUE`` (anything
  outside the declared knobs and ranges is refused, exit 2);
* whether it takes a potential (drawn from :func:`nnqg.strategies.potentials`, given through the same path as
  ``--potential``);
* *metric inputs*: input names a metric file replaces (drawn as metric-file text, read by the same loader as a
  user's file: ``--metric NAME=FILE``).

A drawn input is a :class:`Draw`; :func:`draw_overrides` turns it into the claim's input overrides, and the CLI
turns the user's flags into overrides by the same functions, so a printed command reproduces a drawn case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import sympy as sp
from hypothesis import strategies as st

from nnqg.derivations import InvalidArgument, parse_formula
from nnqg.derivations._metric_file import MetricSpec, loads_metric
from nnqg.strategies import decimal_text, grid

from ._model import Claim


@dataclass(frozen=True)
class Knob:
    """A numeric or formula input a user may set with ``--param NAME=VALUE``.

    ``path``: where it lives in the claim's inputs (a key, or a key and the entry of a dict/tuple input);
    numbers: the admissible range ``[lo, hi]`` (the claim's stated domain) and the explore grid ``step``
    (anchored at the default value); ``integer`` for whole numbers; formulas (``variables`` given): the names a
    formula may use, drawn from ``formulas``."""

    name: str
    path: tuple[str | int, ...]
    lo: str = "0"
    hi: str = "0"
    step: str = "0"
    integer: bool = False
    variables: tuple[str, ...] = ()
    formulas: Callable[[], st.SearchStrategy[str]] | None = None
    meaning: str = ""
    #: the input's value from the knob's (a formula knob whose input is a callable of SymPy symbols)
    convert: Callable[[Any], Any] | None = None
    #: numbers: the only admissible values (within [lo, hi]), e.g. block sizes that divide the network sizes
    choices: tuple[Any, ...] = ()
    #: other inputs set with this one (path -> value), e.g. the update duration that makes the network's speed c
    links: Callable[[Any], Mapping[tuple[str | int, ...], Any]] | None = None

    @property
    def is_formula(self) -> bool:
        return bool(self.variables)

    def describe(self) -> str:
        if self.is_formula:
            return f"{self.name}: a formula in {', '.join(self.variables)}" + (f" ({self.meaning})" if self.meaning
                                                                               else "")
        kind = "an integer" if self.integer else "a number"
        where = ("one of " + ", ".join(map(str, self.choices))) if self.choices else f"in [{self.lo}, {self.hi}]"
        return f"{self.name}: {kind} {where}" + (f" ({self.meaning})" if self.meaning else "")

    def strategy(self, default: Any) -> st.SearchStrategy[Any]:
        """Values over the admissible range on the explore grid, shrinking towards ``default``."""
        if self.is_formula:
            assert self.formulas is not None, f"formula knob {self.name} needs a strategy"
            return self.formulas()
        if self.choices:  # sampled_from shrinks towards the first: the default first
            first = [default] if default in self.choices else []
            return st.sampled_from(first + [c for c in self.choices if c != default])
        lo, hi, step = Fraction(self.lo), Fraction(self.hi), Fraction(self.step)
        anchor = Fraction(str(default)) if isinstance(default, (int, float, Fraction)) else lo
        anchor = min(max(anchor, lo), hi)
        # the grid runs through the default (which may lie off the grid that starts at lo)
        s = grid(str(lo + (anchor - lo) % step), str(hi), str(step), str(anchor))
        return s.map(lambda v: int(round(v))) if self.integer else s

    def parse(self, text: str) -> Any:
        """A value given on the command line: validated (a number in range, or a formula the restricted parser
        accepts in the declared variables); anything else is an :class:`InvalidArgument` naming ``--param``."""
        flag = f"--param {self.name}={text}"
        if self.is_formula:
            parse_formula(text, {v: sp.Symbol(v, real=True) for v in self.variables}, what=flag)
            return text
        t = text.strip()
        try:
            if self.integer:
                if not (t.lstrip("+-").isascii() and t.lstrip("+-").isdigit()):
                    raise ValueError(t)
                v: Any = int(t)
            else:
                v = float(t)
                if not math.isfinite(v):
                    raise ValueError(t)
        except ValueError:
            raise InvalidArgument(f"{flag}: expected {'an integer' if self.integer else 'a finite number'}; "
                                  f"{self.describe()}") from None
        if not Fraction(self.lo) <= Fraction(str(v)) <= Fraction(self.hi) or (self.choices and v not in self.choices):
            raise InvalidArgument(f"{flag}: outside the claim's admissible range; {self.describe()}")
        return v

    def show(self, value: Any) -> str:
        return value if self.is_formula else (str(value) if self.integer else decimal_text(value))


@dataclass(frozen=True)
class MetricInput:
    """An input a metric file replaces: ``build(spec, default)`` turns the loaded file into the input's value."""

    name: str
    build: Callable[[MetricSpec, Any], Any]
    meaning: str = ""


@dataclass(frozen=True)
class Draw:
    """One drawn input: knob values (name -> value), a potential formula (or None: the claim's default) and
    metric files (input name -> metric-file text)."""

    params: tuple[tuple[str, Any], ...] = ()
    potential: str | None = None
    metrics: tuple[tuple[str, str], ...] = ()

    def key(self) -> str:
        return repr((self.params, self.potential, self.metrics))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"params": {k: v for k, v in self.params}}
        if self.potential is not None:
            d["potential"] = self.potential
        if self.metrics:
            d["metrics"] = {k: v for k, v in self.metrics}
        return d


@dataclass(frozen=True)
class ExploreSpec:
    """What ``--explore`` draws for one claim (see the module docstring). ``metric_draws``: a strategy of
    (input name, metric-file text) pairs; ``potentials``: a strategy of potential formulas (None for the
    claim's default); ``note``: what is drawn, in words; ``draw_fn`` replaces the default composition."""

    note: str
    knobs: tuple[Knob, ...] = ()
    potentials: Callable[[], st.SearchStrategy[str | None]] | None = None
    metric_inputs: tuple[MetricInput, ...] = ()
    metric_draws: Callable[[], st.SearchStrategy[tuple[str, str]]] | None = None
    confirm_statistical: bool = False
    #: CPU seconds per example (bench/results/explore.md): the most expensive claims are started first
    cost: float = 0.5

    def knob(self, name: str) -> Knob | None:
        return next((k for k in self.knobs if k.name == name), None)

    def metric_input(self, name: str) -> MetricInput | None:
        return next((m for m in self.metric_inputs if m.name == name), None)

    def strategy(self, defaults: Mapping[str, Any]) -> st.SearchStrategy[Draw]:
        """Draws: every knob over its range (towards the default), the potential, the metric."""
        knob_st = st.tuples(*[k.strategy(_get(defaults, k.path)).map(lambda v, k=k: (k.name, v))
                              for k in self.knobs])
        pot_st = self.potentials() if self.potentials is not None else st.none()
        met_st = self.metric_draws().map(lambda nm: (nm,)) if self.metric_draws is not None else st.just(())
        return st.builds(lambda p, v, m: Draw(tuple(p), v, tuple(m)), knob_st, pot_st, met_st)


def _get(inputs: Mapping[str, Any], path: Sequence[str | int]) -> Any:
    v: Any = inputs
    for p in path:
        v = v[p]
    return v


def _set(inputs: Mapping[str, Any], out: dict[str, Any], path: Sequence[str | int], value: Any) -> None:
    """``out[path] = value``, copying dict/tuple inputs on the way (the defaults are never modified)."""
    head = path[0]
    if len(path) == 1:
        out[head] = value
        return
    cur = out.get(head, inputs[head])
    if isinstance(cur, Mapping):
        new = dict(cur)
        _set(cur, new, path[1:], value)
        out[head] = new
    elif isinstance(cur, tuple):
        lst = list(cur)
        if len(path) != 2:
            raise InvalidArgument(f"input {head}: nested tuples are not knobs")
        lst[int(path[1])] = value
        out[head] = tuple(lst)
    else:
        raise InvalidArgument(f"input {head}: not a dict or tuple, cannot set {path[1:]}")


def knob_overrides(claim: Claim, spec: ExploreSpec, params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Input overrides setting the named knobs (values already validated)."""
    defaults = claim.default_inputs()
    out: dict[str, Any] = {}
    for name, value in params:
        k = spec.knob(name)
        if k is None:
            raise InvalidArgument(f"--param {name}: not a knob of {claim.id}")
        _set(defaults, out, k.path, value if k.convert is None else k.convert(value))
        for path, v in (k.links(value) if k.links is not None else {}).items():
            _set(defaults, out, path, v)
    return out


def metric_overrides(claim: Claim, spec: ExploreSpec, metrics: Sequence[tuple[str, MetricSpec]]) -> dict[str, Any]:
    """Input overrides replacing the named metric inputs by the loaded metric files."""
    defaults = claim.default_inputs()
    out: dict[str, Any] = {}
    for name, mspec in metrics:
        mi = spec.metric_input(name)
        if mi is None:
            raise InvalidArgument(f"--metric {name}=...: {claim.id} has no metric input {name!r}")
        out[name] = mi.build(mspec, defaults[name])
    return out


def draw_overrides(claim: Claim, spec: ExploreSpec, draw: Draw) -> dict[str, Any]:
    """A drawn input as the claim's input overrides, through the paths a user's flags take."""
    from .claims._user import potential_overrides

    out = knob_overrides(claim, spec, draw.params)
    if draw.potential is not None:
        out.update(potential_overrides(draw.potential, [claim]).get(claim.id, {}))
    out.update(metric_overrides(claim, spec, [(n, loads_metric(t, f"drawn metric {n}")) for n, t in draw.metrics]))
    return out


def user_overrides(claims: Sequence[Claim], params: Sequence[str], metrics: Sequence[str],
                   skipped: Sequence[Claim] = (), skipped_by: str = "") -> dict[str, dict]:
    """Overrides per claim id from ``--param NAME=VALUE`` and ``--metric NAME=FILE`` flags. A name no selected
    claim declares, a value outside its range or a file the loader refuses is an :class:`InvalidArgument`.
    ``skipped`` are claims the user selected that another flag (``skipped_by``, e.g. ``--potential``) removed:
    a name only they declare is refused with that reason, not as unknown."""
    from nnqg.derivations._metric_file import load_metric

    from ._explore_specs import spec_for

    out: dict[str, dict[str, Any]] = {}
    # all knobs of a claim are set together: two --param into one dict input (coherent_state.k, coherent_state.q0)
    # must both survive (set one at a time, the second's dict, filled with defaults, replaced the first's)
    knobs: dict[str, list[tuple[str, Any]]] = {}
    specs = {c.id: spec_for(c) for c in claims}
    for flag, items in (("--param", params), ("--metric", metrics)):
        for item in items:
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or not name or not value:
                raise InvalidArgument(f"{flag} {item!r}: expected NAME=VALUE" if flag == "--param"
                                      else f"{flag} {item!r}: expected NAME=FILE (an input name and a metric file)")
            takers = [c for c in claims if specs[c.id] is not None and
                      (specs[c.id].knob(name) if flag == "--param" else specs[c.id].metric_input(name))]
            if not takers:
                gone = [c.id for c in skipped if (sk := spec_for(c)) is not None and
                        (sk.knob(name) if flag == "--param" else sk.metric_input(name))]
                if gone:
                    raise InvalidArgument(f"{flag} {name}: the claims that take it ({', '.join(gone)}) were "
                                          f"skipped by {skipped_by}, which they do not take; drop {skipped_by} "
                                          f"or {flag} {name}")
                raise InvalidArgument(f"{flag} {name}: no selected claim takes it; {_declared(claims, specs, flag)}")
            if flag == "--param":
                for c in takers:
                    knobs.setdefault(c.id, []).append((name, specs[c.id].knob(name).parse(value)))
            else:
                mspec = load_metric(value)
                for c in takers:
                    out.setdefault(c.id, {}).update(metric_overrides(c, specs[c.id], [(name, mspec)]))
    for c in claims:
        if c.id in knobs:
            out.setdefault(c.id, {}).update(knob_overrides(c, specs[c.id], knobs[c.id]))
    return out


def _declared(claims: Sequence[Claim], specs: Mapping[str, ExploreSpec | None], flag: str) -> str:
    lines = []
    for c in claims:
        s = specs[c.id]
        if s is None:
            continue
        names = [k.describe() for k in s.knobs] if flag == "--param" else \
            [f"{m.name}" + (f" ({m.meaning})" if m.meaning else "") for m in s.metric_inputs]
        if names:
            lines.append(f"{c.id}: " + "; ".join(names))
    return ("the selected claims take: " + " | ".join(lines)) if lines else \
        f"the selected claims take no {flag} (try --claims with another claim)"


def changed_params(claim: Claim, spec: ExploreSpec, draw: Draw) -> tuple[tuple[str, Any], ...]:
    """The drawn knob values that differ from the claim's defaults (the others need not be given)."""
    defaults = claim.default_inputs()
    out = []
    for name, value in draw.params:
        k = spec.knob(name)
        try:
            same = k is not None and k.convert is None and _get(defaults, k.path) == value
        except (KeyError, IndexError, TypeError):
            same = False
        if not same:
            out.append((name, value))
    return tuple(out)


def reproduce_command(claim: Claim, spec: ExploreSpec, draw: Draw, seed: int,
                      metric_paths: Mapping[str, str]) -> str:
    """The command that runs ``claim`` on ``draw`` as ``--explore`` did (quick profile, no learning)."""
    import shlex

    parts = ["nnqg", "verify", "--quick", "--no-learning", "--claims", claim.id]
    if draw.potential is not None:
        parts += ["--potential", draw.potential]
    for name, value in changed_params(claim, spec, draw):
        k = spec.knob(name)
        parts += ["--param", f"{name}={k.show(value) if k else value}"]
    for name, _ in draw.metrics:
        parts += ["--metric", f"{name}={metric_paths[name]}"]
    parts += ["--seed", str(seed)]
    return " ".join(shlex.quote(p) for p in parts)
