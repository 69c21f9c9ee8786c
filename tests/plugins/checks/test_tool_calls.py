"""tool-call-valid: OpenAI and Converse tool specs, native and embedded calls."""

from __future__ import annotations

import json

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.tool_calls import ToolCallValid

WEATHER_SCHEMA = {"type": "object", "required": ["city"], "additionalProperties": False,
                  "properties": {"city": {"type": "string"},
                                 "unit": {"enum": ["C", "F"]}}}
OPENAI_TOOLS = [{"type": "function", "function": {"name": "get_weather",
                                                  "parameters": WEATHER_SCHEMA}}]
CONVERSE_TOOLS = [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER_SCHEMA}}}]


def openai_call(name, args):
    raw = args if isinstance(args, str) else json.dumps(args)
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": raw}}


@pytest.mark.parametrize("tools", [OPENAI_TOOLS, CONVERSE_TOOLS])
def test_valid_call_for_both_tool_shapes(build, sample, tools):
    s = sample("", tools=tools, tool_calls=[openai_call("get_weather", {"city": "Oslo"})])
    score = build(ToolCallValid).score(s)
    assert score.passed and score.value == 1.0 and score.measurements["calls"] == 1


def test_converse_tool_use_blocks_are_read(build, sample):
    from rewardsmith.core.sample import parse_sample
    raw = {"id": "x", "tools": CONVERSE_TOOLS, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": 5}}}]}]}
    score = build(ToolCallValid).score(parse_sample(raw, 0))
    assert score.passed is False and "city" in score.rationale


@pytest.mark.parametrize(("call", "fragment"), [
    (openai_call("get_wether", {"city": "Oslo"}), "unknown tool"),
    (openai_call("get_weather", {"unit": "C"}), "'city' is a required property"),
    (openai_call("get_weather", {"city": "Oslo", "town": "Oslo"}), "'town' was unexpected"),
    (openai_call("get_weather", {"city": "Oslo", "unit": "K"}), "unit"),
    (openai_call("get_weather", '{"city": "Oslo"'), "not valid JSON"),
    (openai_call("get_weather", ["Oslo"]), "not of type 'object'"),
])
def test_invalid_calls(build, sample, call, fragment):
    score = build(ToolCallValid).score(sample("", tools=OPENAI_TOOLS, tool_calls=[call]))
    assert score.passed is False and score.value == 0.0
    assert fragment in score.rationale


def test_partial_credit_across_calls(build, sample):
    calls = [openai_call("get_weather", {"city": "Oslo"}), openai_call("nope", {})]
    score = build(ToolCallValid).score(sample("", tools=OPENAI_TOOLS, tool_calls=calls))
    assert score.value == 0.5 and score.measurements["invalid"] == 1


def test_no_calls(build, sample):
    assert build(ToolCallValid).score(sample("It is sunny.", tools=OPENAI_TOOLS)).passed
    required = build(ToolCallValid, require_call=True)
    assert required.score(sample("It is sunny.", tools=OPENAI_TOOLS)).value == 0.0


def test_calls_without_declared_tools_are_invalid(build, sample):
    score = build(ToolCallValid).score(sample("", tool_calls=[openai_call("x", {})]))
    assert score.passed is False and "none declared" in score.rationale


def test_embedded_tool_calls_only_when_configured(build, sample):
    text = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": 3}}\n' \
           "</tool_call>"
    assert build(ToolCallValid).score(sample(text, tools=OPENAI_TOOLS)).passed
    score = build(ToolCallValid, embedded=True).score(sample(text, tools=OPENAI_TOOLS))
    assert score.passed is False and score.measurements["calls"] == 1
    broken = "<tool_call>{not json}</tool_call>"
    assert "not JSON" in build(ToolCallValid, embedded=True).score(
        sample(broken, tools=OPENAI_TOOLS)).rationale


def test_expected_tool_from_reference(build, sample):
    tools = [*OPENAI_TOOLS, {"name": "get_time", "parameters": {"type": "object"}}]
    check = build(ToolCallValid, expected_tool_path="tool")
    call = [openai_call("get_time", {})]
    assert check.score(sample("", tools=tools, tool_calls=call,
                              reference={"tool": "get_time"})).passed
    wrong = check.score(sample("", tools=tools, tool_calls=call,
                               reference={"tool": "get_weather"}))
    assert wrong.value == 0.0 and "expected a call to 'get_weather'" in wrong.rationale
    whole = build(ToolCallValid, expected_tool_path="$")
    assert whole.score(sample("", tools=tools, tool_calls=call, reference="get_time")).passed
    with pytest.raises(ComponentError) as info:
        check.score(sample("", tools=tools, tool_calls=call, reference={"x": 1}))
    assert info.value.kind == "bad_reference"


def test_max_calls(build, sample):
    calls = [openai_call("get_weather", {"city": c}) for c in ("a", "b", "c", "d")]
    score = build(ToolCallValid, max_calls=2).score(
        sample("", tools=OPENAI_TOOLS, tool_calls=calls))
    assert score.passed is False and score.value == 0.5


def test_broken_tool_schema_is_a_sample_error(build, sample):
    tools = [{"type": "function", "function": {"name": "f",
                                               "parameters": {"type": "objekt"}}}]
    with pytest.raises(ComponentError) as info:
        build(ToolCallValid).score(sample("", tools=tools, tool_calls=[openai_call("f", {})]))
    assert info.value.kind == "bad_tools"
