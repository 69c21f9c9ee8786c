"""Getting a schema-valid verdict out of whatever a model wrote.

Models wrap JSON in prose, code fences, ``<think>`` sections and second thoughts. The rule
here: drop reasoning sections, then take the LAST complete JSON object in the text (a
model that corrects itself corrects towards the end), then validate it against the
request's schema with ``jsonschema``. When that fails the backend sends one repair turn
built by :func:`repair_message`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import orjson
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators

from rewardsmith.core.errors import ErrorKind
from rewardsmith.core.judging import judge_error
from rewardsmith.core.sample import strip_reasoning as strip_sections

# Texts longer than this are not scanned for JSON (a verdict is short; this bounds the
# quadratic worst case of trying every brace).
MAX_SCAN_CHARS = 200_000
_MAX_ERRORS_SHOWN = 5

_DECODER = json.JSONDecoder()


def strip_reasoning(text: str) -> str:
    """Remove ``<think>``/``<thinking>``/``<reasoning>`` sections: closed ones, a closing
    tag whose opening was in the prompt template, and one cut off by ``max_tokens``."""
    return strip_sections(text, ("think", "thinking", "reasoning"), drop_unclosed=True)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The last complete JSON object in ``text`` after reasoning is stripped, or None.

    Scans left to right, decoding at each ``{``; a decoded object is skipped over whole,
    so objects nested inside it are not counted separately. Code fences need no special
    handling: their body is found like any other object.
    """
    text = strip_reasoning(text)
    if len(text) > MAX_SCAN_CHARS:
        text = text[-MAX_SCAN_CHARS:]
    last: dict[str, Any] | None = None
    position = text.find("{")
    while position != -1:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            last = value
        position = text.find("{", end)
    return last


class SchemaValidators:
    """Compiled validators by schema, checked once (a bad schema is a config bug)."""

    def __init__(self) -> None:
        self._cache: dict[bytes, Any] = {}
        self._lock = threading.Lock()

    def get(self, schema: dict[str, Any]) -> Any:
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        with self._lock:
            validator = self._cache.get(key)
        if validator is not None:
            return validator
        cls = validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema_exceptions.SchemaError as exc:
            raise judge_error(ErrorKind.JUDGE_CONFIG,
                              f"the verdict schema is not a valid JSON Schema: "
                              f"{exc.message}") from None
        validator = cls(schema)
        with self._lock:
            self._cache[key] = validator
        return validator


_VALIDATORS = SchemaValidators()


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Human-readable reasons ``value`` does not match ``schema`` (empty when it does)."""
    validator = _VALIDATORS.get(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors[:_MAX_ERRORS_SHOWN]:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        out.append(f"at {where}: {err.message}")
    if len(errors) > _MAX_ERRORS_SHOWN:
        out.append(f"... and {len(errors) - _MAX_ERRORS_SHOWN} more")
    return out


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ``judge_config`` if ``schema`` itself is not a valid JSON Schema."""
    _VALIDATORS.get(schema)


def verdict_from_text(text: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(verdict, "") when ``text`` holds a valid one, else (None, what was wrong)."""
    value = extract_json_object(text)
    if value is None:
        return None, "the reply contains no JSON object"
    return verdict_from_value(value, schema)


def verdict_from_value(value: Any, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if not isinstance(value, dict):
        return None, f"the verdict must be a JSON object, got {type(value).__name__}"
    errors = schema_errors(value, schema)
    if errors:
        return None, "the JSON object does not match the schema: " + "; ".join(errors)
    return value, ""


def schema_text(schema: dict[str, Any]) -> str:
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode()


def json_instructions(schema: dict[str, Any], name: str) -> str:
    """Appended to the system prompt when the model is asked for JSON in plain text.

    The schema sits between ``<verdict_schema>`` tags so that it is unambiguous where it
    starts and ends (the simulators read it from there, too).
    """
    return (
        f"\n\nAnswer with one JSON object named {name!r} that validates against the JSON "
        f"Schema below. You may reason first, but end your reply with the JSON object and "
        f"nothing after it.\n<verdict_schema>{schema_text(schema)}</verdict_schema>"
    )


def repair_message(problem: str, schema: dict[str, Any]) -> str:
    """The corrective user turn sent after a malformed verdict (one repair only)."""
    return (
        f"Your previous reply could not be used: {problem}. Reply again with only one JSON "
        f"object that validates against this JSON Schema, with no other text:\n"
        f"<verdict_schema>{schema_text(schema)}</verdict_schema>"
    )
