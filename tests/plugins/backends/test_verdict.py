"""Verdict extraction and validation: what a model writes around its JSON."""

from __future__ import annotations

import pytest
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.backends._verdict import (
    check_schema,
    extract_json_object,
    repair_message,
    schema_errors,
    verdict_from_text,
)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', {"a": 1}),
    ('Sure.\n```json\n{"a": 1}\n```\nDone.', {"a": 1}),
    ('First {"a": 1} then, on reflection, {"a": 2}', {"a": 2}),
    ('<think>maybe {"a": 0}</think>{"a": 3}', {"a": 3}),
    ('<think>{"a": 0}', None),  # reasoning never closed: nothing after it
    ('reasoning {"a": 0} </think> final {"a": 4}', {"a": 4}),  # opening tag in the template
    ('{"outer": {"inner": 1}}', {"outer": {"inner": 1}}),  # nested: the whole object
    ('a { brace and {"a": 5} and a trailing {', {"a": 5}),
    ('[1, 2] and "text"', None),
    ("no json at all", None),
])
def test_extract_last_object(text: str, expected: object) -> None:
    assert extract_json_object(text) == expected


def test_verdict_is_validated_against_the_schema() -> None:
    verdict, problem = verdict_from_text('{"passed": "yes", "reason": "x"}', VERDICT_SCHEMA)
    assert verdict is None
    assert "passed" in problem and "boolean" in problem
    verdict, problem = verdict_from_text('ok: {"passed": true, "reason": "x"}', VERDICT_SCHEMA)
    assert verdict == {"passed": True, "reason": "x"} and problem == ""


def test_schema_errors_name_the_place() -> None:
    errors = schema_errors({"passed": True, "reason": "x" * 300}, VERDICT_SCHEMA)
    assert errors == ["at reason: '" + "x" * 300 + "' is too long"]


def test_invalid_schema_is_a_config_error() -> None:
    with pytest.raises(ComponentError) as info:
        check_schema({"type": 12})
    assert info.value.kind == "judge_config"


def test_repair_message_carries_problem_and_schema() -> None:
    message = repair_message("the reply contains no JSON object", VERDICT_SCHEMA)
    assert "no JSON object" in message
    assert '"required":["passed","reason"]' in message
