"""JSON Schema ``pattern`` keywords from packs and tool specs run under a time limit."""

from __future__ import annotations

import json

import pytest
from jsonschema import validators

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks._schema_regex import with_timed_patterns
from rewardsmith.plugins.checks.json_checks import JsonSchema
from rewardsmith.plugins.checks.tool_calls import ToolCallValid

# Exponential in the ``regex`` engine too (see test_text_patterns.py).
CATASTROPHIC = "^(a|a)+$"
ADVERSARIAL = "a" * 40 + "!"


def test_pattern_in_a_pack_schema_times_out_as_regex_timeout(build, sample):
    check = build(JsonSchema, schema={"type": "object",
                                      "properties": {"code": {"type": "string",
                                                              "pattern": CATASTROPHIC}}})
    with pytest.raises(ComponentError, match="JSON Schema 'pattern'") as err:
        check.score(sample(json.dumps({"code": ADVERSARIAL})))
    assert err.value.kind == "regex_timeout"
    assert check.score(sample('{"code": "aaa"}')).passed
    bad = check.score(sample('{"code": "b"}'))
    assert bad.passed is False and "does not match" in bad.rationale


def test_pattern_properties_keys_time_out_too(build, sample):
    check = build(JsonSchema, schema={"type": "object", "additionalProperties": False,
                                      "patternProperties": {CATASTROPHIC: {"type": "integer"}}})
    with pytest.raises(ComponentError) as err:
        check.score(sample(json.dumps({ADVERSARIAL: 1})))
    assert err.value.kind == "regex_timeout"


def test_tool_schema_pattern_times_out(build, sample):
    schema = {"type": "object", "properties": {"city": {"type": "string",
                                                        "pattern": CATASTROPHIC}}}
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    call = {"id": "c1", "type": "function",
            "function": {"name": "f", "arguments": json.dumps({"city": ADVERSARIAL})}}
    with pytest.raises(ComponentError) as err:
        build(ToolCallValid).score(sample("", tools=tools, tool_calls=[call]))
    assert err.value.kind == "regex_timeout"


SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"}},
    "patternProperties": {"^x-": {"type": "integer"}, "^meta_": {"type": "string"}},
    "additionalProperties": False,
}


@pytest.mark.parametrize("instance", [
    {"id": "ABC-12"}, {"id": "abc"}, {"id": "ABC-1", "x-n": 1}, {"id": "ABC-1", "x-n": "one"},
    {"id": "ABC-1", "meta_a": "s", "other": 1, "more": 2}, {"id": "ABC-1", "other": 1},
])
def test_same_errors_as_jsonschema_itself(instance):
    cls = validators.validator_for(SCHEMA)
    plain = sorted((e.message, list(e.absolute_path)) for e in cls(SCHEMA).iter_errors(instance))
    timed_cls = with_timed_patterns(cls)
    timed = sorted((e.message, list(e.absolute_path))
                   for e in timed_cls(SCHEMA).iter_errors(instance))
    assert timed == plain


def test_additional_properties_schema_applies_to_the_extras_only():
    schema = {"type": "object", "patternProperties": {"^x-": {}},
              "additionalProperties": {"type": "integer"}}
    cls = with_timed_patterns(validators.validator_for(schema))
    errors = list(cls(schema).iter_errors({"x-a": "s", "n": 1, "m": "s"}))
    assert [list(e.absolute_path) for e in errors] == [["m"]]
