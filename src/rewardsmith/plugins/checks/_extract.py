"""Finding "the JSON in the response", one way for every check.

Strict by default: the whole response (surrounding whitespace aside) must be one JSON
value. A pack opts into tolerance step by step with ``extract``:

- ``"think"``: drop ``<think>…</think>`` (and ``<|begin_of_solution|>`` wrappers) first;
- ``"fences"``: if the text is not JSON, take the first Markdown code fence that is;
- ``"first_object"`` / ``"first_array"``: if still not JSON, take the first ``{…}`` /
  ``[…]`` value embedded in surrounding prose.

Every check that reads JSON (json-valid, json-schema, required-fields, reference-match,
repetition items, grounding fields) takes the same ``extract`` list, so one pack setting
means the same thing everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import Field

from rewardsmith.core.component import ComponentConfig
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.sample import Sample, strip_reasoning

ExtractStep = Literal["think", "fences", "first_object", "first_array"]

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)(?:\r?\n)?[ \t]*```",
                       re.DOTALL)
# Scanning prose for an embedded value tries at most this many start positions, so a
# response made of thousands of stray braces cannot make extraction quadratic.
_MAX_EMBEDDED_STARTS = 64
# Deeper JSON is refused: the checks walk values recursively, and no extraction task
# needs 100 levels of nesting (a degenerate "[[[[..." output does).
MAX_DEPTH = 100


class JsonInputConfig(ComponentConfig):
    """Config fields shared by every check that reads JSON out of the response."""

    extract: tuple[ExtractStep, ...] = Field(
        default=(),
        description="Tolerance steps, in order: 'think' strips reasoning tags, 'fences' "
        "takes a ``` code fence, 'first_object'/'first_array' take the first embedded "
        "{...}/[...] from surrounding prose. Empty: the whole response must be JSON.",
    )
    json_from: Literal["text", "tool_call"] = Field(
        default="text",
        description="'tool_call': read the response's first structured tool call (OpenAI "
        "tool_calls, Converse toolUse) as {\"name\", \"arguments\"}; a response without "
        "one is read from its text as with 'text' (e.g. <tool_call>{...}</tool_call>).",
    )


@dataclass(frozen=True, slots=True)
class Extraction:
    """The outcome of looking for JSON: ``ok`` with ``value``, or ``error``."""

    ok: bool
    value: Any = None
    source: str = "raw"  # raw | fence | prose: where the JSON was found
    error: str = ""
    text: str = ""  # the JSON text that was parsed (or the text that failed)


def _rejecting_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_rejecting_constant)


def _describe(exc: ValueError, text: str) -> str:
    if not text:
        return "response is empty"
    if isinstance(exc, json.JSONDecodeError):  # orjson's error subclasses it
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def _embedded(text: str, opener: str) -> tuple[Any, str] | None:
    start = text.find(opener)
    tries = 0
    while start != -1 and tries < _MAX_EMBEDDED_STARTS:
        tries += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except RecursionError:
            return None  # nested beyond the interpreter's limit: not usable JSON anyway
        except ValueError:
            start = text.find(opener, start + 1)
            continue
        return value, text[start:end]
    return None


def _too_deep(text: str, value: Any) -> bool:
    """True when ``value`` nests deeper than MAX_DEPTH (walked only if the text could)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def _checked(found: Extraction) -> Extraction:
    if found.ok and _too_deep(found.text, found.value):
        return Extraction(False, error=f"JSON is nested deeper than {MAX_DEPTH} levels",
                          text=found.text)
    return found


def extract_json(text: str, steps: Sequence[ExtractStep] = ()) -> Extraction:
    """Parse the JSON in ``text`` following the configured tolerance ``steps``."""
    return _checked(_extract(text, steps))


def _extract(text: str, steps: Sequence[ExtractStep]) -> Extraction:
    if "think" in steps:
        text = strip_reasoning(text)
    stripped = text.strip()
    try:
        # orjson is strict (no NaN/Infinity, no trailing commas) and fast.
        return Extraction(True, orjson.loads(stripped), "raw", text=stripped)
    except orjson.JSONDecodeError as exc:
        first_error = _describe(exc, stripped)

    if "fences" in steps:
        for match in _FENCE_RE.finditer(text):
            body = match.group(2).strip()
            try:
                return Extraction(True, orjson.loads(body), "fence", text=body)
            except orjson.JSONDecodeError:
                continue
    for step, opener in (("first_object", "{"), ("first_array", "[")):
        if step in steps:
            found = _embedded(text, opener)
            if found is not None:
                return Extraction(True, found[0], "prose", text=found[1])
    return Extraction(False, error=first_error, text=stripped)


def response_json(sample: Sample, config: JsonInputConfig) -> Extraction:
    """The JSON a check reads from a sample: its first structured tool call when configured
    (and present), else the response text under the configured ``extract`` steps."""
    if config.json_from == "tool_call" and sample.tool_calls:
        call = sample.tool_calls[0]
        value = {"name": call.name, "arguments": call.arguments}
        return Extraction(True, value, "tool_call", text=orjson.dumps(value).decode())
    return extract_json(sample.response, config.extract)


def require_response_json(sample: Sample, config: JsonInputConfig) -> Extraction:
    """Like :func:`response_json` but raise ``ComponentError(kind=ErrorKind.INVALID_JSON)``.

    Checks downstream of JSON validity (schema, fields, grounding) cannot say anything
    about a response that is not JSON; they fail with a kind so the pack's failure policy
    (or a ``json-valid`` gate in front of them) decides what that costs.
    """
    extraction = response_json(sample, config)
    if not extraction.ok:
        raise ComponentError(f"response is not JSON: {extraction.error}",
                             kind=ErrorKind.INVALID_JSON)
    return extraction


def type_name(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
