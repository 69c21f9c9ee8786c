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


# -- real-world-1.md C4: blank arguments mean {} -------------------------------------------
NO_PARAMS = {"type": "object", "properties": {}, "additionalProperties": False}
OPENAI_NO_PARAMS = [{"type": "function", "function": {"name": "list_orders",
                                                      "parameters": NO_PARAMS}}]
CONVERSE_NO_PARAMS = [{"toolSpec": {"name": "list_orders", "inputSchema": {"json": NO_PARAMS}}}]
_MISSING = object()


def _openai_blank(raw):
    fn = {"name": "list_orders"} if raw is _MISSING else {"name": "list_orders",
                                                           "arguments": raw}
    return {"id": "c1", "type": "function", "function": fn}


@pytest.mark.parametrize("raw", ["", None, "   \n", _MISSING, "{}"],
                         ids=["empty", "null", "whitespace", "missing", "braces"])
@pytest.mark.parametrize("tools", [OPENAI_NO_PARAMS, CONVERSE_NO_PARAMS],
                         ids=["openai", "converse"])
def test_c4_blank_arguments_are_an_empty_object(build, sample, raw, tools):
    score = build(ToolCallValid).score(sample("", tools=tools, tool_calls=[_openai_blank(raw)]))
    assert score.passed and score.value == 1.0, score.rationale


@pytest.mark.parametrize("raw", [None, _MISSING], ids=["null", "missing"])
def test_c4_blank_converse_tool_use_input(build, sample, raw):
    from rewardsmith.core.sample import parse_sample

    use = {"toolUseId": "t1", "name": "list_orders"}
    if raw is not _MISSING:
        use["input"] = raw
    parsed = parse_sample({"id": "x", "tools": CONVERSE_NO_PARAMS, "messages": [
        {"role": "user", "content": "orders?"},
        {"role": "assistant", "content": [{"toolUse": use}]}]}, 0)
    assert build(ToolCallValid).score(parsed).passed


@pytest.mark.parametrize("body", ['{"name": "list_orders", "arguments": ""}',
                                  '{"name": "list_orders", "arguments": null}',
                                  '{"name": "list_orders"}',
                                  '{"name": "list_orders", "arguments": " "}'])
def test_c4_blank_arguments_in_text_calls(build, sample, body):
    text = f"<tool_call>{body}</tool_call>"
    score = build(ToolCallValid, embedded=True).score(sample(text, tools=OPENAI_NO_PARAMS))
    assert score.passed and score.measurements["calls"] == 1


@pytest.mark.parametrize("raw", ["", None, _MISSING])
def test_blank_arguments_still_miss_required_properties(build, sample, raw):
    score = build(ToolCallValid).score(sample("", tools=OPENAI_TOOLS,
                                              tool_calls=[{"type": "function", "function": {
                                                  "name": "get_weather",
                                                  **({} if raw is _MISSING else
                                                     {"arguments": raw})}}]))
    assert score.passed is False
    assert "'city' is a required property" in score.rationale


def test_blank_arguments_read_as_json_from_tool_call(sample):
    from rewardsmith.plugins.checks._extract import JsonInputConfig, response_json

    got = response_json(sample("", tools=OPENAI_NO_PARAMS, tool_calls=[_openai_blank("")]),
                        JsonInputConfig(type="t", id="c", json_from="tool_call"))
    assert got.ok and got.value == {"name": "list_orders", "arguments": {}}


# -- unseen instances of real-world-1 C4's kind (issue 9, round 2) ---------------------------
NO_PARAMS = {"type": "object", "properties": {}}
NO_PARAM_TOOLS = {
    "openai": [{"type": "function", "function": {"name": "now", "parameters": NO_PARAMS}}],
    "converse": [{"toolSpec": {"name": "now", "inputSchema": {"json": NO_PARAMS}}}],
}


def _openai_message(**function: object) -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "now", **function}}]}


def _converse_message(**tool_use: object) -> dict:
    return {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t", "name": "now", **tool_use}}]}


@pytest.mark.parametrize("tools", ["openai", "converse"])
@pytest.mark.parametrize(("message", "passed"), [
    (_openai_message(arguments="{}"), True),
    (_openai_message(arguments="null"), True),
    (_openai_message(arguments={}), True),
    (_openai_message(arguments=None), True),
    (_openai_message(), True),
    (_openai_message(arguments=" \n\t"), True),
    (_converse_message(input=None), True),
    (_converse_message(), True),
    (_converse_message(input="{}"), True),
    (_converse_message(input={}), True),
    # the flat shape some logs use: no "function" wrapper
    ({"role": "assistant", "content": None,
      "tool_calls": [{"id": "c", "name": "now", "arguments": "{}"}]}, True),
    # not calls at all: invalid, never silently "no tool calls"
    ({"role": "assistant", "content": None,
      "tool_calls": [{"id": "c", "type": "function", "function": None}]}, False),
    ({"role": "assistant", "content": None, "tool_calls": ["now()"]}, False),
    ({"role": "assistant", "content": [{"toolUse": None}]}, False),
    (_openai_message(arguments="[]"), False),
    (_openai_message(arguments='"now"'), False),
])
def test_unseen_argument_spellings(build, tools, message, passed):
    from rewardsmith.core.sample import parse_sample

    raw = {"id": "x", "tools": NO_PARAM_TOOLS[tools],
           "messages": [{"role": "user", "content": "time?"}, message]}
    score = build(ToolCallValid).score(parse_sample(raw, 0))
    assert score.passed is passed, score.rationale
    assert score.measurements["calls"] == 1


def test_null_arguments_to_a_tool_that_requires_one_name_the_missing_property(build):
    from rewardsmith.core.sample import parse_sample

    tools = [{"type": "function", "function": {"name": "now", "parameters": {
        "type": "object", "required": ["tz"], "properties": {"tz": {"type": "string"}}}}}]
    raw = {"id": "x", "tools": tools, "messages": [{"role": "user", "content": "time?"},
                                                   _openai_message(arguments="null")]}
    score = build(ToolCallValid).score(parse_sample(raw, 0))
    assert score.passed is False and "'tz' is a required property" in score.rationale
