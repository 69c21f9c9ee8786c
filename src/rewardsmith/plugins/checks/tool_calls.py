"""Tool-call validity: each call names a declared tool and its arguments fit its schema."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import orjson
from jsonschema import exceptions as schema_exceptions
from jsonschema import validators
from pydantic import Field

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample, ToolCall
from rewardsmith.plugins.checks._paths import MISSING, lookup, parse_path
from rewardsmith.plugins.checks._schema_regex import with_timed_patterns

# Hermes/Qwen-style calls written into the text: <tool_call>{"name": ..., "arguments": ...}
_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _tool_entry(tool: Any, index: int) -> tuple[str, Any]:
    """(name, parameters schema) from an OpenAI, legacy-function, Anthropic or Converse spec."""
    if not isinstance(tool, Mapping):
        raise ComponentError(f"tools[{index}] is not an object", kind=ErrorKind.BAD_TOOLS)
    if isinstance(tool.get("toolSpec"), Mapping):
        spec = tool["toolSpec"]
        schema = (spec.get("inputSchema") or {}).get("json", _ANY_OBJECT)
    elif isinstance(tool.get("function"), Mapping):
        spec = tool["function"]
        schema = spec.get("parameters", _ANY_OBJECT)
    else:
        spec = tool
        schema = tool.get("parameters", tool.get("input_schema", _ANY_OBJECT))
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ComponentError(f"tools[{index}] has no name", kind=ErrorKind.BAD_TOOLS)
    if isinstance(schema, str):  # some datasets store the schema as a JSON string
        try:
            schema = orjson.loads(schema)
        except orjson.JSONDecodeError:
            raise ComponentError(f"tool {name!r}: parameters schema is not JSON",
                                 kind=ErrorKind.BAD_TOOLS) from None
    return name, schema


def declared_key_sets(schema: Any) -> list[frozenset[str]]:
    """The property-name sets of every object schema in ``schema`` (JSON Schema), nested
    ones included (``properties``, ``items``, ``additionalProperties``, ``anyOf``/``oneOf``/
    ``allOf``, ``$defs``/``definitions``): the keys a JSON object built to that schema may
    hold. Shapes: ``schema`` a mapping (anything else yields ``[]``)."""
    found: list[frozenset[str]] = []
    stack, seen = [schema], 0
    while stack and seen < 1000:  # a bound against pathological schemas
        node = stack.pop()
        seen += 1
        if not isinstance(node, Mapping):
            continue
        props = node.get("properties")
        if isinstance(props, Mapping) and props:
            found.append(frozenset(str(k) for k in props))
            stack.extend(props.values())
        for key in ("items", "additionalProperties", "not"):
            stack.append(node.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        for key in ("$defs", "definitions"):
            if isinstance(node.get(key), Mapping):
                stack.extend(node[key].values())
    return found


def tool_parameter_key_sets(tools: tuple[Any, ...]) -> list[frozenset[str]]:
    """:func:`declared_key_sets` of every tool's parameter schema in ``tools`` (OpenAI,
    Anthropic, Converse specs). A malformed tool entry is skipped here: the
    ``tool-call-valid`` check is the one that reports it."""
    found: list[frozenset[str]] = []
    for i, tool in enumerate(tools):
        try:
            _, schema = _tool_entry(tool, i)
        except ComponentError:
            continue
        found.extend(declared_key_sets(schema))
    return found


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    schema = orjson.loads(schema_json)
    cls = with_timed_patterns(validators.validator_for(schema))
    cls.check_schema(schema)
    return cls(schema)


def _tool_validators(tools: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, tool in enumerate(tools):
        name, schema = _tool_entry(tool, i)
        if not isinstance(schema, Mapping | bool):
            raise ComponentError(f"tool {name!r}: parameters schema must be an object",
                                 kind=ErrorKind.BAD_TOOLS)
        try:
            out[name] = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())
        except schema_exceptions.SchemaError as exc:
            raise ComponentError(f"tool {name!r}: invalid parameters schema: {exc.message}",
                                 kind=ErrorKind.BAD_TOOLS) from None
    return out


def _blocks(text: str) -> list[str]:
    """Bodies of complete <tool_call> blocks, found with str.find: a regex with a lazy body
    rescans the rest of the text from every unclosed opening tag (quadratic)."""
    bodies: list[str] = []
    start = text.find(_OPEN)
    while start != -1:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end == -1:
            break
        bodies.append(text[start + len(_OPEN):end].strip())
        start = text.find(_OPEN, end + len(_CLOSE))
    return bodies


def is_blank_arguments(raw: Any) -> bool:
    """Whether ``raw`` is a call's "no arguments": missing/null, or a string that is empty
    or only whitespace. Providers and datasets write a parameterless call all these ways
    (OpenAI ``"arguments": ""`` or ``"{}"``, Converse ``"input": {}``, null in logs)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def call_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """A call's arguments and their decoding error, blank arguments read as ``{}``.

    ``{}`` is then validated like any other arguments: valid for a tool whose parameters
    require nothing, and a real "'x' is a required property" error otherwise. A call that
    already carries an error (an entry that is not a call object) keeps it.
    """
    if call.arguments_error is not None:
        return call.arguments, call.arguments_error
    if is_blank_arguments(call.arguments):
        return {}, None
    return call.arguments, call.arguments_error


def embedded_calls(text: str) -> list[ToolCall]:
    """Tool calls written as ``<tool_call>{json}</tool_call>`` blocks in the text."""
    calls: list[ToolCall] = []
    for body in _blocks(text):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            calls.append(ToolCall("", body, f"<tool_call> body is not JSON: {exc}"))
            continue
        if not isinstance(data, dict):
            calls.append(ToolCall("", data, "<tool_call> body is not an object"))
            continue
        args = data.get("arguments", data.get("parameters"))
        error = None
        if is_blank_arguments(args):
            args = {}
        elif isinstance(args, str):
            try:
                args = orjson.loads(args)
            except orjson.JSONDecodeError as exc:
                error = f"arguments are not valid JSON: {exc}"
        calls.append(ToolCall(str(data.get("name", "")), args, error))
    return calls


class ToolCallValid(Component["ToolCallValid.Config"]):
    """Share of tool calls that name a declared tool with schema-valid arguments."""

    summary = "Tool calls name a tool in sample.tools; arguments validate against its schema."

    class Config(ComponentConfig):
        type: Literal["tool-call-valid"] = "tool-call-valid"
        require_call: bool = Field(default=False, description="Fail when there is no call.")
        embedded: bool = Field(
            default=False, description="Also read <tool_call>{...}</tool_call> in the text."
        )
        expected_tool: str | None = Field(
            default=None, description="A tool that must be among the calls."
        )
        expected_tool_path: str | None = Field(
            default=None,
            description="Path in an object reference_answer naming the expected tool; '$' "
            "means the reference answer itself is the tool name.",
        )
        max_calls: int | None = Field(default=None, ge=1)

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        path = config.expected_tool_path
        self._expected_path = parse_path(path) if path not in (None, "$") else None

    def _expected(self, sample: Sample) -> str | None:
        if self.config.expected_tool is not None:
            return self.config.expected_tool
        if self.config.expected_tool_path is None:
            return None
        ref = sample.reference_answer
        if self._expected_path is None:
            found: list[Any] = [ref]
        else:
            found = [v for _, v in lookup(ref, self._expected_path) if v is not MISSING]
        if len(found) != 1 or not isinstance(found[0], str):
            raise ComponentError(f"reference_answer has no tool name at "
                                 f"{self.config.expected_tool_path!r}",
                                 kind=ErrorKind.BAD_REFERENCE)
        return found[0]

    def score(self, sample: Sample) -> Score:
        calls = list(sample.tool_calls)
        if self.config.embedded:
            calls.extend(embedded_calls(sample.response))
        expected = self._expected(sample)
        if not calls:
            ok = not self.config.require_call and expected is None
            why = "no tool calls" + ("" if ok else f", but {expected or 'one'} was required")
            return Score.from_bool(ok, why, calls=0, invalid=0)
        tools = _tool_validators(sample.tools)
        problems: list[str] = []
        valid = 0
        for i, call in enumerate(calls):
            label = f"call {i} ({call.name or '?'})"
            arguments, arguments_error = call_arguments(call)
            if arguments_error is not None:
                problems.append(f"{label}: {arguments_error}")
            elif call.name not in tools:
                known = ", ".join(sorted(tools)) or "none declared"
                problems.append(f"{label}: unknown tool (tools: {known})")
            else:
                error = next(iter(tools[call.name].iter_errors(arguments)), None)
                if error is None:
                    valid += 1
                else:
                    where = "/".join(map(str, error.absolute_path)) or "arguments"
                    problems.append(f"{label}: {where}: {error.message[:120]}")
        value = valid / len(calls)
        if expected is not None and all(c.name != expected for c in calls):
            problems.append(f"expected a call to {expected!r}")
            value = 0.0
        if self.config.max_calls is not None and len(calls) > self.config.max_calls:
            problems.append(f"{len(calls)} calls, more than {self.config.max_calls}")
            value = min(value, self.config.max_calls / len(calls))
        rationale = "; ".join(problems[:4]) if problems else f"{valid} valid tool call(s)"
        return Score(value, not problems, rationale,
                     {"calls": len(calls), "invalid": len(calls) - valid})
