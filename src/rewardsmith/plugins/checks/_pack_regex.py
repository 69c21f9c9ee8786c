"""Regular expressions that a pack supplies, matched under a time limit.

A pack's pattern is untrusted input to the matcher: a nested quantifier such as
``(a|a)+$`` backtracks exponentially on text like ``"aaaa…a!"``. Python's ``re`` cannot be
interrupted (a thread does not help: it holds the GIL), so a single adversarial response
would stall the event loop for minutes and cost the whole batch its deadline. The
``regex`` library (mrab) takes a ``timeout`` on every matching call and raises
``TimeoutError`` when it runs out; ``concurrent=True`` releases the GIL while it matches,
so threads (blocking checks, judge I/O) keep running meanwhile.

Patterns written by rewardsmith itself stay on ``re``: they are reviewed and linear.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import regex

from rewardsmith.core.errors import ComponentError, ErrorKind

DEFAULT_MATCH_TIMEOUT_S = 0.05

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


def search(pattern: PackPattern, text: str, *, timeout_s: float, where: str) -> Any:
    """``pattern.search(text)`` bounded by ``timeout_s``; a timeout is a ComponentError."""
    try:
        return pattern.search(text, concurrent=True, timeout=timeout_s)
    except TimeoutError:
        raise _timed_out(pattern, where, timeout_s, len(text)) from None


def finditer(pattern: PackPattern, text: str, *, timeout_s: float, where: str) -> Iterator[Any]:
    """All matches; ``timeout_s`` bounds the whole scan, not each match."""
    try:
        yield from pattern.finditer(text, concurrent=True, timeout=timeout_s)
    except TimeoutError:
        raise _timed_out(pattern, where, timeout_s, len(text)) from None
