r"""Bounded symbolic work on a user's formula: a time and memory budget, ending in a clear error, not a hang.

Exact algebra on an accepted formula can still explode (a polynomial of degree 64 in two variables has 2,145
terms; nested transcendental functions multiply under differentiation). :func:`budget` runs a block under a
wall-clock limit and a limit on how much the process's resident memory may grow, and turns either into
:class:`BudgetExceeded`; SymPy giving up on the input inside the block (``NotImplementedError``, a
``RecursionError``, a polynomial-domain error) becomes :class:`UnworkableFormula`. Both are
:class:`~nnqg.derivations.InvalidArgument`: exit 2 with a message naming the work, never a traceback.

How: a periodic ``SIGALRM`` (every :data:`TICK` s, ``setitimer``) checks the clock and the resident set size
(``/proc/self/statm``; elsewhere the peak from ``getrusage``) and raises an exception derived from
``BaseException``, so no ``except Exception`` inside SymPy can swallow it; a ``MemoryError`` inside the block is
reported the same way. No subprocess, no thread. Budgets nest (the innermost that runs out is reported), and a
``SIGALRM`` timer the caller had set is honoured and re-armed afterwards. Signals reach only the main thread: in
another thread, or where there is no ``SIGALRM``, the block runs unbounded. Python runs the check between
bytecodes, so one long C call (a single huge integer product) finishes before it is stopped.

The limits come from the arguments, else from ``NNQG_SYMBOLIC_SECONDS`` (default :data:`DEFAULT_SECONDS`) and
``NNQG_SYMBOLIC_MEMORY_MB`` (default :data:`DEFAULT_MEMORY_MB`, growth in MiB).

>>> import sympy as sp
>>> q = sp.Symbol("q")
>>> with budget("a quick expansion", seconds=30):
...     len(sp.expand((q + 1) ** 8).args)
9
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from ._errors import InvalidArgument

DEFAULT_SECONDS = 120.0
DEFAULT_MEMORY_MB = 2048.0
TICK = 0.1


class UnworkableFormula(InvalidArgument):
    """Exact algebra on a user's formula could not be carried out (SymPy gave up, or a budget ran out)."""


class BudgetExceeded(UnworkableFormula):
    """Symbolic work on a user's input ran out of its time or memory budget."""


class _Stop(BaseException):
    def __init__(self, budget: "_Budget", why: str) -> None:
        super().__init__(why)
        self.budget, self.why = budget, why


@dataclass
class _Budget:
    what: str
    seconds: float
    memory_bytes: float
    seconds_from: str
    start: float
    rss0: int
    fired: bool = False  # one _Stop per budget: a second tick must not land in the handler of the first


def _give_ups() -> tuple[type[BaseException], ...]:
    from sympy.polys.polyerrors import BasePolynomialError

    return (NotImplementedError, RecursionError, BasePolynomialError)


_GIVE_UPS = _give_ups()
_active: list[_Budget] = []
_outer: dict[str, Any] = {}


def limit_from_env(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, or ``default`` when it is unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        v = float("nan")
    if not (v > 0 and v < float("inf")):
        raise InvalidArgument(f"{name}={raw!r}: expected a positive number, e.g. {name}={default:g}")
    return v


@contextmanager
def budget(what: str, *, seconds: float | None = None, memory_mb: float | None = None,
           seconds_from: str = "NNQG_SYMBOLIC_SECONDS") -> Iterator[None]:
    """Run the block within ``seconds`` of wall-clock time and ``memory_mb`` MiB of resident-memory growth;
    :class:`BudgetExceeded` naming ``what`` otherwise (see the module docstring)."""
    seconds = limit_from_env("NNQG_SYMBOLIC_SECONDS", DEFAULT_SECONDS) if seconds is None else seconds
    memory_mb = limit_from_env("NNQG_SYMBOLIC_MEMORY_MB", DEFAULT_MEMORY_MB) if memory_mb is None else memory_mb
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    b = _Budget(what, seconds, memory_mb * 2**20, seconds_from, time.monotonic(), _rss())
    outermost = not _active
    if outermost:
        _arm()
    _active.append(b)
    try:
        try:
            yield
        except MemoryError:
            raise BudgetExceeded(_message(b, "memory")) from None
        except _GIVE_UPS as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise UnworkableFormula(f"{what}: SymPy cannot carry it out on this input ({type(exc).__name__}: "
                                    f"{first}); simplify the formula") from None
    except _Stop as stop:  # from the block, or a tick that landed in the handlers above
        if stop.budget is not b:
            raise
        raise BudgetExceeded(_message(b, stop.why)) from None
    finally:
        b.fired = True  # no tick raises for this block any more (the last window: the line above)
        if b in _active:
            _active.remove(b)
        if outermost:
            _disarm()


#: public names for the CLI's last resort (verify/_cli.py main)
Stop = _Stop


def stop_message(stop: _Stop) -> str:
    return _message(stop.budget, stop.why)


def _message(b: _Budget, why: str) -> str:
    if why == "time":
        limit = f"it did not finish within {b.seconds:g} s ({b.seconds_from})"
    else:
        limit = f"it needed more than {b.memory_bytes / 2**20:g} MiB of memory (NNQG_SYMBOLIC_MEMORY_MB)"
    return (f"{b.what}: stopped, {limit}; the formula is too large to work with exactly: simplify it (fewer "
            f"nested functions, a lower degree), or raise the limit if you expect it to finish")


def _arm() -> None:
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    _outer.update(handler=signal.getsignal(signal.SIGALRM), interval=interval,
                  deadline=time.monotonic() + remaining if remaining > 0 else None)
    signal.signal(signal.SIGALRM, _tick)
    signal.setitimer(signal.ITIMER_REAL, TICK, TICK)


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, _outer["handler"])
    deadline = _outer["deadline"]
    if deadline is not None:  # the caller's own alarm, with what was left of it
        signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 1e-3), _outer["interval"])
    _outer.clear()


def _tick(signum: int, frame: Any) -> None:
    now = time.monotonic()
    deadline = _outer.get("deadline")
    if deadline is not None and now >= deadline:  # the caller's alarm is due: hand it over
        handler = _outer["handler"]
        _outer["deadline"] = None
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGALRM)
    rss = None
    for b in reversed(_active):
        if b.fired:
            continue
        if now - b.start > b.seconds:
            b.fired = True
            raise _Stop(b, "time")
        rss = _rss() if rss is None else rss
        if rss - b.rss0 > b.memory_bytes:
            b.fired = True
            raise _Stop(b, "memory")


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss() -> int:
    """Resident set size in bytes (current on Linux; the peak elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024
