"""One object for equal small values across a batch's outcomes (issue 10: memory).

Checks over 100,000 small samples return the same rationale ("valid JSON object") and the
same measurements (``{"valid": 1, "extracted": 0}``) again and again; held per sample,
those copies were a third of the engine's peak memory. :class:`ValueSharer` hands back the
first equal object it saw. Outcomes are read, never mutated in place, after scoring (a
copy is made wherever the engine adds to them), so sharing is safe.
"""

from __future__ import annotations

from typing import Any

# Sharing stops adding once this many distinct values are held (memory bound of its own).
_LIMIT = 50_000
# Dicts larger than this are rarely equal across samples; not worth the key.
_MAX_ITEMS = 8


class ValueSharer:
    """``text(s)`` and ``mapping(d)`` return an equal object seen before, else their input."""

    __slots__ = ("_mappings", "_texts")

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._mappings: dict[tuple[Any, ...], dict[str, Any]] = {}

    def text(self, value: str) -> str:
        shared = self._texts.get(value)
        if shared is not None:
            return shared
        if len(self._texts) < _LIMIT:
            self._texts[value] = value
        return value

    def mapping(self, value: dict[str, Any]) -> dict[str, Any]:
        if not value or len(value) > _MAX_ITEMS:
            return value
        # the type is part of the key: 1, 1.0 and True are equal but encode differently
        key = tuple((k, type(v), v) for k, v in value.items())
        try:
            shared = self._mappings.get(key)
        except TypeError:  # an unhashable value (a list): kept as it is
            return value
        if shared is not None:
            return shared
        if len(self._mappings) < _LIMIT:
            self._mappings[key] = value
        return value
