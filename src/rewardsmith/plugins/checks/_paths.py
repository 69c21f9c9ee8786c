"""Field paths into decoded JSON: ``vendor.name``, ``line_items[].amount``, ``rows[0].id``.

A path is dot-separated keys; ``[]`` fans out over every element of an array and ``[N]``
picks one element. Paths are parsed once, at pack load, so a typo fails there.
Keys containing ``.`` or ``[`` cannot be addressed (a deliberate simplification).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

EACH = object()  # the ``[]`` segment
MISSING = object()  # what a lookup yields where the path does not exist

_PART_RE = re.compile(r"^(?P<key>[^.\[\]]*)(?P<idx>(?:\[\d*\])*)$")
_IDX_RE = re.compile(r"\[(\d*)\]")


@dataclass(frozen=True, slots=True)
class FieldPath:
    text: str
    segments: tuple[Any, ...]  # str keys, int indices, EACH

    @property
    def fans_out(self) -> bool:
        return EACH in self.segments


def parse_path(text: str) -> FieldPath:
    """Parse ``text``; raise ``ValueError`` naming the bad part."""
    if not text or text != text.strip():
        raise ValueError(f"field path {text!r} is empty or has surrounding spaces")
    segments: list[Any] = []
    for n, part in enumerate(text.split(".")):
        match = _PART_RE.match(part)
        if match is None or (not match.group("key") and not (n == 0 and match.group("idx"))):
            raise ValueError(
                f"field path {text!r}: bad segment {part!r} (use keys separated by '.', "
                "with '[]' for every array element or '[N]' for one)"
            )
        if match.group("key"):
            segments.append(match.group("key"))
        for idx in _IDX_RE.findall(match.group("idx")):
            segments.append(EACH if idx == "" else int(idx))
    return FieldPath(text, tuple(segments))


def _join(prefix: str, segment: Any) -> str:
    if isinstance(segment, int):
        return f"{prefix}[{segment}]"
    return f"{prefix}.{segment}" if prefix else str(segment)


def lookup(value: Any, path: FieldPath) -> list[tuple[str, Any]]:
    """Every ``(concrete_path, value)`` the path reaches; ``MISSING`` where it breaks off.

    ``[]`` over an empty array reaches nothing (an empty list back for that branch).
    """
    current: list[tuple[str, Any]] = [("", value)]
    for segment in path.segments:
        step: list[tuple[str, Any]] = []
        for where, node in current:
            if node is MISSING:
                step.append((_join(where, segment) if segment is not EACH else where, MISSING))
            elif segment is EACH:
                if isinstance(node, list):
                    step.extend((_join(where, i), item) for i, item in enumerate(node))
                else:
                    step.append((where + "[]", MISSING))
            elif isinstance(segment, int):
                ok = isinstance(node, list) and -len(node) <= segment < len(node)
                step.append((_join(where, segment), node[segment] if ok else MISSING))
            else:
                ok = isinstance(node, dict) and segment in node
                step.append((_join(where, segment), node[segment] if ok else MISSING))
        current = step
    return current


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar in ``value`` with its concrete path (empty containers count as leaves)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, _join(prefix, str(key)))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, _join(prefix, i))
    else:
        yield prefix, value


def is_empty(value: Any) -> bool:
    """Null, a blank string, or an empty array/object."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False
