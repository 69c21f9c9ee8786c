"""Key paths into sample metadata and JSON replies, and turning what they hold into a number."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rewardsmith.core.errors import ComponentError, ErrorKind

# Error kinds a product metric reports; the component's on_error policy then applies.

KeyPath = tuple[str, ...]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def parse_key_path(path: str | Sequence[str]) -> KeyPath:
    """``"outcomes.accepted"`` or ``["outcomes", "accepted"]`` (for keys containing dots).

    A segment of digits indexes a list (``"scores.0"``).
    """
    parts = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise ValueError(f"key path {path!r} has an empty segment")
    return parts


def checked_key_path(value: str | Sequence[str]) -> str | list[str]:
    """A pack field's key path kept as written (a sequence as a list) once it parses.

    Raises ``ValueError`` (pydantic reports it on the field) for an empty segment.
    """
    parse_key_path(value)
    return value if isinstance(value, str) else list(value)


def format_key_path(path: KeyPath) -> str:
    return ".".join(path)


def lookup(data: Any, path: KeyPath) -> Any:
    """The value at ``path``, or ``MISSING``. JSON ``null`` counts as missing: an outcome
    that is not known yet is not a zero.
    """
    current = data
    for part in path:
        if isinstance(current, Mapping):
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, list | tuple) and part.isdigit():
            index = int(part)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return MISSING if current is None else current


def number_at(data: Any, path: KeyPath, where: str, *, default: float | None = None,
              missing_from: str = "") -> float:
    """The number at ``path`` in ``data`` (as :func:`as_number` reads it), or ``default``
    when the value is absent or null.

    Raises ComponentError: ``metric_missing`` ("``where`` is missing``missing_from``") when
    it is absent and there is no default; ``metric_invalid`` when it is not a number.
    """
    value = lookup(data, path)
    if value is not MISSING:
        return as_number(value, where)
    if default is not None:
        return default
    raise ComponentError(f"{where} is missing{missing_from}", kind=ErrorKind.METRIC_MISSING)


def as_number(value: Any, what: str) -> float:
    """A finite float from a metric value; booleans count as 1/0 (``accepted = true``).

    Strings are rejected rather than parsed: a number that arrives as text usually means
    the producer is wrong, and guessing would hide it.
    """
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise ComponentError(
            f"{what} is {type(value).__name__} {_preview(value)}, not a number",
            kind=ErrorKind.METRIC_INVALID,
        )
    try:
        number = float(value)
    except OverflowError:
        raise ComponentError(f"{what} is an integer too large for a float",
                             kind=ErrorKind.METRIC_INVALID) from None
    if not math.isfinite(number):
        raise ComponentError(f"{what} is {number}, not a finite number",
                             kind=ErrorKind.METRIC_INVALID)
    return number


def _preview(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
