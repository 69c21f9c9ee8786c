"""Regular expressions that a pack supplies, matched under a time limit.

A pack's pattern is untrusted input to the matcher: a nested quantifier such as
``(a|a)+$`` backtracks exponentially on text like ``"aaaa…a!"``. Python's ``re`` cannot be
interrupted (a thread does not help: it holds the GIL), so a single adversarial response
would stall the event loop for minutes and cost the whole batch its deadline. The
``regex`` library (mrab) takes a ``timeout`` on every matching call and raises
``TimeoutError`` when it runs out; ``concurrent=True`` releases the GIL while it matches,
so threads (blocking checks, judge I/O) keep running meanwhile.

Patterns written by rewardsmith itself stay on ``re``: they are reviewed and linear.

The library's timeout is wall-clock time, so on a loaded machine (a busy trainer node, a CI
box, judge threads in the same process) a linear pattern on an ordinary reply could run
out of it while its thread was waiting for a CPU, and the same sample would score
differently from run to run. A timeout therefore only counts when the thread really spent
the budget working: the CPU time of the matching thread (``time.thread_time``) is summed
over attempts, and a match that ran out of wall-clock time with CPU budget left is tried
again (at most ``_MAX_ATTEMPTS`` times). Catastrophic backtracking burns CPU and still
fails within a few budgets; a reply is never failed for the machine being busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import regex

from rewardsmith.core.errors import ComponentError, ErrorKind

DEFAULT_MATCH_TIMEOUT_S = 0.05
# Wall-clock attempts per match before a timeout counts whatever the CPU time spent: bounds
# the wait on a starved thread to about this many budgets.
_MAX_ATTEMPTS = 20
T = TypeVar("T")

FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE}

PackPattern = Any  # regex.Pattern[str]; the library ships no type stubs


def compile_pack_pattern(pattern: str, flags: int, where: str) -> PackPattern:
    """Compile at pack load; a bad pattern is a ValueError naming the field and the pattern."""
    try:
        # VERSION0 keeps ``re`` semantics, so patterns written for ``re`` mean the same.
        return regex.compile(pattern, flags | regex.VERSION0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise ValueError(f"{where}: invalid regular expression {pattern!r}: {exc}") from None


def _timed_out(pattern: PackPattern, where: str, timeout_s: float, chars: int) -> ComponentError:
    return ComponentError(
        f"{where}: pattern {pattern.pattern!r} did not finish within {timeout_s:g} s on a "
        f"{chars}-character response (catastrophic backtracking? use atomic groups or "
        "possessive quantifiers, or raise match_timeout_s)",
        kind=ErrorKind.REGEX_TIMEOUT,
    )


def _within_cpu_budget(run: Callable[[float], T], pattern: PackPattern, text: str,
                       timeout_s: float, where: str) -> T:
    """``run(timeout_s)``, tried again while a wall-clock timeout left CPU budget unspent."""
    spent = 0.0
    for _ in range(_MAX_ATTEMPTS):
        started = time.thread_time()
        try:
            return run(timeout_s)
        except TimeoutError:
            spent += time.thread_time() - started
            if spent >= timeout_s:
                break
    raise _timed_out(pattern, where, timeout_s, len(text))


def search(pattern: PackPattern, text: str, *, timeout_s: float, where: str) -> Any:
    """``pattern.search(text)`` bounded by ``timeout_s`` of the thread's CPU time; running
    out is a ``regex_timeout`` ComponentError."""
    return _within_cpu_budget(
        lambda limit: pattern.search(text, concurrent=True, timeout=limit),
        pattern, text, timeout_s, where)


def finditer(pattern: PackPattern, text: str, *, timeout_s: float, where: str) -> Iterator[Any]:
    """All matches; ``timeout_s`` bounds the whole scan (CPU time, as in :func:`search`)."""
    yield from _within_cpu_budget(
        lambda limit: list(pattern.finditer(text, concurrent=True, timeout=limit)),
        pattern, text, timeout_s, where)
