"""JSON checks: validity, JSON Schema conformance, required fields."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from jsonschema import exceptions as schema_exceptions
from jsonschema import validators
from pydantic import ConfigDict, Field, model_validator

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.json_text import json_type
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._extract import (
    JsonInputConfig,
    require_response_json,
    response_json,
)
from rewardsmith.plugins.checks._paths import MISSING, is_empty, lookup, parse_path
from rewardsmith.plugins.checks._schema_regex import with_timed_patterns

_MAX_LISTED_ERRORS = 3


class JsonValid(Component["JsonValid.Config"]):
    """The response parses as JSON (optionally of a given top-level type)."""

    summary = "Response parses as JSON; fences/think tags/prose tolerated only if configured."

    class Config(JsonInputConfig):
        type: Literal["json-valid"] = "json-valid"
        require_type: Literal["object", "array"] | None = Field(
            default=None, description="Top-level JSON type the response must have."
        )

    def score(self, sample: Sample) -> Score:
        extraction = response_json(sample, self.config, self.config.require_type)
        measured = {"extracted": extraction.ok and extraction.source != "raw"}
        if not extraction.ok:
            return Score(0.0, False, f"not JSON: {extraction.error}",
                         {"valid": 0, **measured})
        found = json_type(extraction.value)
        wanted = self.config.require_type
        if wanted is not None and found != wanted:
            return Score(0.0, False, f"JSON is {found}, expected {wanted}",
                         {"valid": 0, **measured})
        where = "" if extraction.source == "raw" else f" (from {extraction.source})"
        return Score(1.0, True, f"valid JSON {found}{where}", {"valid": 1, **measured},
                     {"source": extraction.source})


def _error_path(error: schema_exceptions.ValidationError) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return parts.lstrip(".") or "$"


def _count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count_nodes(v) for v in value)
    return 1


class JsonSchema(Component["JsonSchema.Config"]):
    """The response's JSON validates against a JSON Schema (any draft jsonschema knows)."""

    summary = "Response JSON validates against a JSON Schema (inline or file)."

    class Config(JsonInputConfig):
        # 'schema' shadows a BaseModel attribute, so the field is schema_ with the alias
        # 'schema'; accepting both spellings lets a dumped config load again.
        model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True,
                                  validate_by_alias=True)
        type: Literal["json-schema"] = "json-schema"
        schema_: dict[str, Any] | None = Field(
            default=None, alias="schema", description="The schema, inline."
        )
        schema_file: str | None = Field(
            default=None, description="A schema file, relative to the pack file."
        )
        mode: Literal["pass_fail", "fraction"] = Field(
            default="pass_fail",
            description="'pass_fail': 1 or 0. 'fraction': the share of JSON nodes (objects, "
            "arrays, scalars) with no validation error at their own path.",
        )
        check_formats: bool = Field(
            default=True, description="Enforce 'format' (date, email, uri...) where known."
        )

        @model_validator(mode="after")
        def _one_source(self) -> JsonSchema.Config:
            if (self.schema_ is None) == (self.schema_file is None):
                raise ValueError("give exactly one of 'schema' (inline) or 'schema_file'")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        where = "inline schema"
        schema = config.schema_
        if config.schema_file is not None:
            where = f"schema_file {config.schema_file!r}"
            try:
                schema = orjson.loads(context.read_text(config.schema_file))
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{where} is not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise ValueError(f"{where} must be a JSON object, got {json_type(schema)}")
        cls = with_timed_patterns(validators.validator_for(schema))
        try:
            cls.check_schema(schema)
        except schema_exceptions.SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise ValueError(f"{where} is not a valid JSON Schema at {path}: "
                             f"{exc.message}") from None
        checker = cls.FORMAT_CHECKER if config.check_formats else None
        self._validator = cls(schema, format_checker=checker)
        # A schema whose top level is one type tells extraction which values to pass over.
        top = schema.get("type")
        self._want: Literal["object", "array"] | None = top if top in ("object", "array") \
            else None

    def score(self, sample: Sample) -> Score:
        value = require_response_json(sample, self.config, self._want).value
        errors = sorted(self._validator.iter_errors(value),
                        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if not errors:
            return Score(1.0, True, "matches the schema", {"errors": 0})
        listed = "; ".join(f"{_error_path(e)}: {e.message[:120]}"
                           for e in errors[:_MAX_LISTED_ERRORS])
        more = f" (+{len(errors) - _MAX_LISTED_ERRORS} more)" if len(errors) > \
            _MAX_LISTED_ERRORS else ""
        value_out = 0.0
        nodes = _count_nodes(value)
        if self.config.mode == "fraction":
            bad = len({tuple(e.absolute_path) for e in errors})
            value_out = max(0.0, 1.0 - bad / nodes)
        return Score(value_out, False, f"{len(errors)} schema error(s): {listed}{more}",
                     {"errors": len(errors), "nodes": nodes},
                     {"error_paths": [_error_path(e) for e in errors[:20]]})


class RequiredFields(Component["RequiredFields.Config"]):
    """Given field paths exist in the response JSON (and optionally are non-empty)."""

    summary = "Required keys/paths (a.b, items[].name) present in the response JSON."

    class Config(JsonInputConfig):
        type: Literal["required-fields"] = "required-fields"
        fields: list[str] = Field(min_length=1, description="Paths: a.b, items[].name, rows[0].")
        non_empty: bool = Field(
            default=False,
            description="Also require values to be non-empty (not null, '', [] or {}); a "
            "'[]' path over an empty array then fails too.",
        )

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._paths = [parse_path(f) for f in config.fields]

    def score(self, sample: Sample) -> Score:
        data = require_response_json(sample, self.config).value
        non_empty = self.config.non_empty
        total = 0.0
        missing: list[str] = []
        for path in self._paths:
            found = lookup(data, path)
            if not found:  # '[]' over an empty array: vacuous unless emptiness matters
                total += 0.0 if non_empty else 1.0
                if non_empty:
                    missing.append(f"{path.text} (empty array)")
                continue
            bad = [where for where, v in found if v is MISSING or (non_empty and is_empty(v))]
            total += 1.0 - len(bad) / len(found)
            missing.extend(bad)
        value = total / len(self._paths)
        ok = not missing
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        rationale = "all required fields present" if ok else f"missing or empty: {shown}"
        return Score(value, ok, rationale, {"missing": len(missing)})
