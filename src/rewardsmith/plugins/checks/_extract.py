"""Finding "the JSON in the response", one way for every check.

Strict by default: the whole response (surrounding whitespace aside) must be one JSON
value. A pack opts into tolerance step by step with ``extract``:

- ``"think"``: drop reasoning sections (``<think>``, ``<thinking>``, ``<reasoning>``,
  ``<|begin_of_thought|>``; ``<|begin_of_solution|>`` wrappers) first, outside JSON strings
  only (a ``</think>`` inside a string value is text); a section that never closes (cut off
  by a token limit) is dropped with everything after it: a draft in unfinished reasoning is
  not the answer;
- ``"fences"``: if the text is not JSON, take a Markdown code fence that is: ```` ```json ````
  (and ``jsonc``/``json5``, which count as ``json``) fences first, then untagged ones, then
  ``javascript``/``js``; other languages (```` ```text ````, ```` ```python ````) only when the
  pack lists them in ``fence_languages``; Pandoc's ```` ```{.json} ```` reads as ``json``;
- ``"first_object"`` / ``"first_array"``: if still not JSON, take the first non-empty
  ``{…}`` / ``[…]`` value embedded in surrounding prose (an empty ``{}`` mentioned in prose
  is taken only when no non-empty value follows). Every brace is tried, in linear time.

When the check wants one top-level type (``json-valid``'s ``require_type``, a schema's
top-level ``type``), fences and embedded values of the other type are passed over: a
```` ```json ```` block holding an example array is not the object answer that follows.

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
from rewardsmith.core.json_text import (
    REASONING_TAGS,
    Malformed,
    iter_containers,
    json_type,
    split_reasoning,
)
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks.tool_calls import call_arguments, is_blank_arguments

ExtractStep = Literal["think", "fences", "first_object", "first_array"]

# A fence line: optional text before it (a model may open a fence after prose, or close one
# right after the last line of its body), a run of 3+ backticks or tildes, an info string.
_FENCE_LINE_RE = re.compile(r"^(?P<pre>[^`~]*)(?P<run>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
# Deeper JSON is refused: the checks walk values recursively, and no extraction task
# needs 100 levels of nesting (a degenerate "[[[[..." output does).
MAX_DEPTH = 100
# JSON-tagged fences, then untagged, then JavaScript: a strict-JSON body under any of these
# tags is the answer; only bodies that parse as strict JSON are taken.
DEFAULT_FENCE_LANGUAGES = ("json", "", "javascript", "js")
# Fence tags that name JSON dialects; the body must still be strict JSON to be taken.
_JSON_DIALECTS = {"jsonc": "json", "json5": "json"}
# Pandoc's attribute form of an info string: ```{.json} or ```{.json .numberLines}.
_PANDOC_INFO_RE = re.compile(r"^\{\s*\.([\w+-]+)")
Wanted = Literal["object", "array"] | None


class JsonInputConfig(ComponentConfig):
    """Config fields shared by every check that reads JSON out of the response."""

    extract: tuple[ExtractStep, ...] = Field(
        default=(),
        description="Tolerance steps, in order: 'think' strips reasoning tags, 'fences' "
        "takes a ``` code fence, 'first_object'/'first_array' take the first embedded "
        "{...}/[...] from surrounding prose. Empty: the whole response must be JSON.",
    )
    fence_languages: tuple[str, ...] = Field(
        default=DEFAULT_FENCE_LANGUAGES,
        description="With 'fences': the code-fence language tags read, in order of "
        "preference; \"\" is an untagged fence. The default reads ```json fences first, "
        "then untagged ones, never ```text, ```python and the like (a draft or an example "
        "is not the answer).",
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


def fences(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every Markdown code fence in ``text``, in order.

    A CommonMark-style line scan (https://spec.commonmark.org/0.31.2/#fenced-code-blocks):
    a run of three or more backticks or tildes opens a fence, its info string's first word
    (lower-cased; "" when there is none) is the language, and a run of the same character,
    at least as long, closes it. Leniencies for model output: prose may precede the opening
    run on its line, and the closing run may follow the body's last line directly. A fence
    that never closes runs to the end. Linear: each line is read once.
    """
    found: list[tuple[str, str]] = []
    run = ""
    language = ""
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE_LINE_RE.match(line) if ("```" in line or "~~~" in line) else None
        if not run:
            if match is not None:
                run = match.group("run")
                info = match.group("info").split()
                language = info[0].lower() if info else ""
                pandoc = _PANDOC_INFO_RE.match(match.group("info"))
                if pandoc is not None:
                    language = pandoc.group(1).lower()
                language = _JSON_DIALECTS.get(language, language)
                body = []
            continue
        closes = match is not None and match.group("run")[0] == run[0] and \
            len(match.group("run")) >= len(run) and not match.group("info")
        if closes:
            assert match is not None
            if match.group("pre").strip():
                body.append(match.group("pre"))
            found.append((language, "\n".join(body)))
            run = ""
        else:
            body.append(line)
    if run:
        found.append((language, "\n".join(body)))
    return found


def _from_fences(text: str, languages: Sequence[str], want: Wanted) -> Extraction | None:
    by_language: dict[str, list[str]] = {}
    for language, body in fences(text):
        by_language.setdefault(language, []).append(body.strip())
    for wanted in languages:
        tag = wanted.lower()
        for body in by_language.get(_JSON_DIALECTS.get(tag, tag), ()):
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue
            if want is None or json_type(value) == want:
                return Extraction(True, value, "fence", text=body)
    return None


def _embedded(text: str, opener: str, typed: bool = False) -> Extraction | Malformed | None:
    """The first non-empty JSON container opened by ``opener`` in ``text``; an empty one
    (``{}`` mentioned in prose) only when no non-empty one follows. None when there is no
    complete container; the first malformed one that got past its first key otherwise,
    for the error message. ``typed``: the caller wants this type at the top level, so a
    value nested in a container of the other type (an object inside an example array) is
    not taken.

    Every opener is tried (no cap on attempts): :mod:`rewardsmith.core.json_text`
    recognises each position once, so brace-heavy prose (LaTeX) stays linear.
    """
    empty: Extraction | None = None
    broken: Malformed | None = None
    for outcome in iter_containers(text, "{[" if typed else opener):
        if text[outcome.start] != opener:
            continue  # a container of the other type, skipped whole
        if isinstance(outcome, Malformed):
            if broken is None and outcome.first_key is not None:
                broken = outcome
            continue
        body = text[outcome.start:outcome.end]
        if outcome.height > MAX_DEPTH:
            return Extraction(False, error=f"JSON is nested deeper than {MAX_DEPTH} levels",
                              text=body)
        try:
            value = _DECODER.decode(body)
        except ValueError:  # a lone surrogate or a constant the recogniser let through
            continue
        found = Extraction(True, value, "prose", text=body)
        if value:
            return found
        empty = empty or found
    return empty or broken


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


def extract_json(text: str, steps: Sequence[ExtractStep] = (),
                 fence_languages: Sequence[str] = DEFAULT_FENCE_LANGUAGES,
                 want: Wanted = None) -> Extraction:
    """Parse the JSON in ``text`` following the configured tolerance ``steps``.

    ``fence_languages``: the fence tags the ``fences`` step reads, in order of preference
    (``""`` is an untagged fence). ``want``: the top-level type the caller needs; the
    ``fences`` and ``first_*`` steps pass over values of the other type (the whole text,
    when it is JSON, is returned whatever its type: it is the answer).
    """
    return _checked(_extract(text, steps, fence_languages, want))


def _extract(text: str, steps: Sequence[ExtractStep],
             fence_languages: Sequence[str], want: Wanted) -> Extraction:
    # A leading byte order mark is an encoding signature, not content: RFC 8259 section 8.1
    # lets a parser ignore it (orjson refuses it).
    text = text.removeprefix("\ufeff")
    if "think" in steps:
        # Tags inside JSON strings are text ({"note": "ends with </think>"} survives).
        text = split_reasoning(text, tags=REASONING_TAGS, drop_unclosed=True,
                               openers="{[").text(text)
    stripped = text.strip()
    try:
        # orjson is strict (no NaN/Infinity, no trailing commas) and fast.
        return Extraction(True, orjson.loads(stripped), "raw", text=stripped)
    except orjson.JSONDecodeError as exc:
        first_error = _describe(exc, stripped)

    if "fences" in steps:
        fenced = _from_fences(text, fence_languages, want)
        if fenced is not None:
            return fenced
    for step, opener in (("first_object", "{"), ("first_array", "[")):
        if step in steps and want in (None, step.split("_")[1]):
            found = _embedded(text, opener, typed=want is not None)
            if isinstance(found, Extraction):
                return found
            if found is not None:
                first_error += f"; the {step.split('_')[1]} at char {found.start} is " \
                               f"malformed: {found.describe()}"
    return Extraction(False, error=first_error, text=stripped)


def response_json(sample: Sample, config: JsonInputConfig, want: Wanted = None) -> Extraction:
    """The JSON a check reads from a sample: its first structured tool call when configured
    (and present), else the response text under the configured ``extract`` steps;
    ``want`` as for :func:`extract_json`."""
    if config.json_from == "tool_call" and sample.tool_calls:
        call = sample.tool_calls[0]
        arguments, error = call_arguments(call)
        if error is not None:  # arguments that are not JSON are not JSON here either
            return Extraction(False, error=f"tool call {call.name or '?'!r}: {error}",
                              source="tool_call",
                              text=call.arguments if isinstance(call.arguments, str) else "")
        value = {"name": call.name, "arguments": arguments}
        return Extraction(True, value, "tool_call", text=orjson.dumps(value).decode())
    found = extract_json(sample.response, config.extract, config.fence_languages, want)
    if config.json_from == "tool_call" and found.ok:
        return _normalised_text_call(found)
    return found


def _normalised_text_call(found: Extraction) -> Extraction:
    """A call written into the text (``<tool_call>{"name": ...}</tool_call>``) whose
    arguments are blank (missing, null, ``""``, whitespace, or the string ``"{}"``) reads
    as ``{"name": ..., "arguments": {}}``, as a structured call's blank arguments do
    (``call_arguments``): every component reading ``json_from = "tool_call"`` then sees
    one shape whatever way a call without arguments was written. Other keys are kept (the
    envelope check judges them), and a non-empty JSON *string* of arguments stays a
    string: the prompt asks for an object (pack suite case ``arguments-as-json-string``,
    docs/decisions.md)."""
    value = found.value
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return found
    if "arguments" not in value and "parameters" in value:
        return found  # a differently named envelope: left for the checks to judge
    raw = value.get("arguments")
    if is_blank_arguments(raw):
        arguments: Any = {}
    elif isinstance(raw, str):
        try:
            arguments = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return found  # not JSON: the checks report it as the string it is
        if arguments != {}:
            return found
    else:
        return found
    value = {**value, "arguments": arguments}
    return Extraction(True, value, found.source, text=orjson.dumps(value).decode())


def require_response_json(sample: Sample, config: JsonInputConfig,
                          want: Wanted = None) -> Extraction:
    """Like :func:`response_json` but raise ``ComponentError(kind=ErrorKind.INVALID_JSON)``.

    Checks downstream of JSON validity (schema, fields, grounding) cannot say anything
    about a response that is not JSON; they fail with a kind so the pack's failure policy
    (or a ``json-valid`` gate in front of them) decides what that costs.
    """
    extraction = response_json(sample, config, want)
    if not extraction.ok:
        raise ComponentError(f"response is not JSON: {extraction.error}",
                             kind=ErrorKind.INVALID_JSON)
    return extraction

