"""JSON Schema validators whose ``pattern`` keywords run under a time limit.

``jsonschema`` matches ``pattern`` and ``patternProperties`` with Python's ``re``, which
cannot be interrupted: a schema from a pack (json-schema check) or a dataset's tool
definitions (tool-call-valid) with a nested quantifier such as ``^(a+)+$`` lets a
30-character candidate string stall the event loop for a minute. :func:`with_timed_patterns`
swaps those keywords (and ``additionalProperties``, which re-matches
``patternProperties`` to find the extras) for versions that match with the ``regex``
library under a timeout; running out raises ``ComponentError(kind=ErrorKind.REGEX_TIMEOUT)``.

Not covered: ``unevaluatedProperties`` next to ``patternProperties`` (2019-09+) still
matches with ``re`` inside ``jsonschema``'s own property walk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError

from rewardsmith.plugins.checks._pack_regex import (
    DEFAULT_MATCH_TIMEOUT_S,
    PackPattern,
    compile_pack_pattern,
    search,
)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> PackPattern:
    return compile_pack_pattern(pattern, 0, "JSON Schema pattern")


@lru_cache(maxsize=64)
def with_timed_patterns(cls: Any, timeout_s: float = DEFAULT_MATCH_TIMEOUT_S) -> Any:
    """``cls`` (a jsonschema validator class) with time-limited pattern keywords."""

    def matches(pattern: str, text: str, keyword: str) -> bool:
        return search(_compiled(pattern), text, timeout_s=timeout_s,
                      where=f"JSON Schema {keyword!r}") is not None

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not matches(patrn, instance, "pattern"):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(validator: Any, pattern_properties: Mapping[str, Any],
                           instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in pattern_properties.items():
            for key, value in instance.items():
                if matches(patrn, key, "patternProperties"):
                    yield from validator.descend(value, subschema, path=key,
                                                 schema_path=patrn)

    def additional_properties(validator: Any, additional: Any, instance: Any,
                              schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        properties = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        extras = [key for key in instance if key not in properties
                  and not any(matches(p, key, "patternProperties") for p in patterns)]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            # Same messages as jsonschema's own keyword.
            names = ", ".join(repr(each) for each in sorted(extras, key=str))
            if patterns:
                verb = "does" if len(extras) == 1 else "do"
                regexes = ", ".join(repr(each) for each in sorted(patterns))
                yield ValidationError(f"{names} {verb} not match any of the regexes: {regexes}")
            else:
                verb = "was" if len(extras) == 1 else "were"
                yield ValidationError(
                    f"Additional properties are not allowed ({names} {verb} unexpected)"
                )

    replacements = {"pattern": pattern, "patternProperties": pattern_properties,
                    "additionalProperties": additional_properties}
    return validators.extend(
        cls, {k: v for k, v in replacements.items() if k in cls.VALIDATORS}
    )
