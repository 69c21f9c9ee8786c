"""Compiled JSON Schema validators for verdict schemas, built and checked once per schema.

A judge sends the same verdict schema on every call; compiling a validator (and checking
the schema against its metaschema) per call cost ~22% of the event-loop thread in the
issue-13 profile. :func:`compiled_validator` looks a schema up by identity first (the judges
keep one schema object per rubric), then by content (a schema rebuilt per call, or one
read back from the verdict cache), and compiles only a schema it has never seen.

Validators are ``jsonschema`` validators chosen by the schema's ``$schema``
(``jsonschema.validators.validator_for``, https://python-jsonschema.readthedocs.io/en/stable/
api/jsonschema/validators/#jsonschema.validators.validator_for).
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators

from rewardsmith.core.errors import RewardsmithError

# Schemas seen by identity: bounded, since a caller may build a new dict per call.
_MAX_BY_ID = 512


class InvalidVerdictSchema(RewardsmithError):
    """The verdict schema itself is not a valid JSON Schema; ``message`` names why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Validators:
    def __init__(self) -> None:
        self._by_content: dict[bytes, Any] = {}
        # id(schema) -> (schema, validator): the schema is held so its id is never reused.
        self._by_id: dict[int, tuple[dict[str, Any], Any]] = {}
        self._lock = threading.Lock()

    def get(self, schema: dict[str, Any]) -> Any:
        entry = self._by_id.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        with self._lock:
            validator = self._by_content.get(key)
        if validator is None:
            cls = validators.validator_for(schema)
            try:
                cls.check_schema(schema)
            except jsonschema_exceptions.SchemaError as exc:
                raise InvalidVerdictSchema(exc.message) from None
            validator = cls(schema)
        with self._lock:
            self._by_content[key] = validator
            if len(self._by_id) >= _MAX_BY_ID:
                self._by_id.clear()
            self._by_id[id(schema)] = (schema, validator)
        return validator


_VALIDATORS = _Validators()


def compiled_validator(schema: dict[str, Any]) -> Any:
    """The ``jsonschema`` validator for ``schema``, compiled on first sight.

    Raises:
        InvalidVerdictSchema: ``schema`` is not a valid JSON Schema (checked once).
    """
    return _VALIDATORS.get(schema)
