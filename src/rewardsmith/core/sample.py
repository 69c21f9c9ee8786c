"""Samples: the RFT wire shapes, parsed once into one immutable object.

Accepts exactly what trainers send (see shared reference): ``messages`` ending with the
generated assistant turn, ``reference_answer`` at top level or under ``metadata``, roles
``assistant``/``nova_assistant``/``bot`` for the response, ``content`` as a string or a list
of blocks, and every other key kept as metadata.

Trajectories (several assistant turns with tool calls and results) come in the same
``messages`` list, in any of these shapes (mixed freely):

* OpenAI chat: ``tool_calls`` on assistant messages, results as ``role: "tool"`` messages
  with ``tool_call_id`` (https://platform.openai.com/docs/api-reference/chat/create);
* Bedrock Converse: ``toolUse`` blocks in assistant content, ``toolResult`` blocks
  (``toolUseId``, ``content`` of ``text``/``json`` blocks, ``status: "error"``) in user
  content (botocore ``bedrock-runtime`` service model, ``ToolResultBlock``);
* OpenAI Responses items: ``{"type": "message"}``, ``function_call`` (``call_id``, ``name``,
  ``arguments``), ``function_call_output`` (``call_id``, ``output``), ``reasoning``;
  consecutive output items form one assistant turn
  (https://platform.openai.com/docs/api-reference/responses/object). A sample may also give
  them as ``input`` (+ ``output``) instead of ``messages``.

Each assistant message is one :class:`Turn`, numbered from 0, holding the tool results
that answer it. The task's final environment state, when the trainer sends it as
``final_state`` (top level or under ``metadata``), is :attr:`Sample.final_state`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from rewardsmith.core.errors import ErrorKind, SampleError
from rewardsmith.core.json_text import split_reasoning

ASSISTANT_ROLES = frozenset({"assistant", "nova_assistant", "bot"})
# Dataset role spellings folded onto the four roles components reason about.
_ROLE_ALIASES = {"developer": "system", "nova_assistant": "assistant", "bot": "assistant"}
_KNOWN_KEYS = frozenset({"id", "messages", "reference_answer", "tools", "metadata"})
# OpenAI Responses items produced by the model (one turn when consecutive) and the
# results the environment feeds back.
_RESPONSES_CALLS = frozenset({"function_call", "custom_tool_call"})
_RESPONSES_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})
_RESPONSES_SILENT = frozenset({"reasoning"})


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call normalised from OpenAI ``tool_calls`` or Converse ``toolUse`` blocks.

    ``arguments`` is the decoded object, or the raw string when it was not valid JSON
    (``arguments_error`` then says why) so a validity check can report it.
    """

    name: str
    arguments: Any
    arguments_error: str | None = None
    #: The call's id (OpenAI ``id``/``call_id``, Converse ``toolUseId``), when given.
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What the environment answered to a tool call.

    ``call_id`` names the call it answers (None when the shape gave none); ``name`` is the
    tool's name (from the result, or the matching call once turns are built); ``is_error``
    is Converse ``status: "error"``, or ``is_error: true`` / ``status: "error"`` on an
    OpenAI tool message or a Responses output item.
    """

    call_id: str | None
    content: str
    is_error: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: ``role`` (system, user, assistant, tool), its text, and the tool
    calls it makes or the tool results it carries, in order."""

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """One assistant turn of a trajectory: ``index`` counts assistant turns from 0,
    ``message_index`` is its position in :attr:`Sample.messages`, ``results`` the tool
    results that came back before the next assistant turn (in order)."""

    index: int
    message_index: int
    message: Message
    results: tuple[ToolResult, ...] = ()

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        return self.message.tool_calls

    @property
    def text(self) -> str:
        return self.message.content


@dataclass(frozen=True, slots=True)
class Sample:
    """One rollout to score. ``response`` is the text of the last assistant turn."""

    id: Any
    index: int
    prompt: tuple[Message, ...]
    response_message: Message
    reference_answer: Any = None
    tools: tuple[Any, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    group_key: str = ""
    #: Every message in order (the prompt, the response and what follows it).
    messages: tuple[Message, ...] = ()
    #: The assistant turns, in order; the last one is the response.
    turns: tuple[Turn, ...] = ()
    #: The task's final environment state, when the trainer sent ``final_state``.
    final_state: Any = None

    def turn_view(self, index: int) -> Sample:
        """The sample as it stood at assistant turn ``index``: that turn is the response,
        the messages before it the prompt; ``turns`` ends at it. Raises ``IndexError``."""
        turn = self.turns[index]
        return Sample(
            id=self.id, index=self.index, prompt=self.messages[:turn.message_index],
            response_message=turn.message, reference_answer=self.reference_answer,
            tools=self.tools, metadata=self.metadata, group_key=self.group_key,
            messages=self.messages[:turn.message_index + 1], turns=self.turns[:index + 1],
            final_state=self.final_state)

    @property
    def tool_log(self) -> tuple[tuple[int, ToolCall, ToolResult | None], ...]:
        """Every tool call of the trajectory as ``(turn index, call, its result or None)``;
        a result is matched by call id, else by position within the turn."""
        log: list[tuple[int, ToolCall, ToolResult | None]] = []
        for turn in self.turns:
            by_id = {r.call_id: r for r in turn.results if r.call_id is not None}
            loose = [r for r in turn.results if r.call_id is None]
            for call in turn.calls:
                result = by_id.get(call.id) if call.id is not None else None
                if result is None and loose:
                    result = loose.pop(0)
                log.append((turn.index, call, result))
        return tuple(log)

    @property
    def response(self) -> str:
        return self.response_message.content

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.response_message.tool_calls

    def prompt_text(self, roles: Sequence[str] = ("system", "user")) -> str:
        """The concatenated text of prompt turns with the given roles."""
        return "\n\n".join(m.content for m in self.prompt if m.role in roles)

    @property
    def reference_text(self) -> str | None:
        """The reference answer as text (objects are serialised as compact JSON)."""
        ref = self.reference_answer
        if ref is None:
            return None
        if isinstance(ref, str):
            return ref
        return orjson.dumps(ref, option=orjson.OPT_SORT_KEYS).decode()


def strip_reasoning(text: str, tags: tuple[str, ...] = ("think",), *,
                    drop_unclosed: bool = False) -> str:
    """Remove reasoning sections (``<think>…</think>`` by default) and unwrap
    ``<|begin_of_solution|>…<|end_of_solution|>``; a pack opts into this.

    Text before a stray closing tag (its opening tag was in the prompt template) goes too;
    ``drop_unclosed`` also drops an opened section that never closes (cut off by a token
    limit). Tags are found only outside JSON strings: in ``{"note": "ends with </think>"}``
    the tag is text of the answer, not a wrapper (the rules and the linear-time walk are
    :func:`rewardsmith.core.json_text.split_reasoning`'s).
    """
    # "{[": a tag inside a string of a top-level array is text too. Lax strings: a model's
    # raw line break inside a string does not make the tags after it wrappers.
    sections = split_reasoning(text, tags=tags, drop_unclosed=drop_unclosed, openers="{[",
                               strict=False)
    return sections.text(text).strip()


def _where(index: int, sample_id: Any) -> str:
    return f"sample #{index}" + (f" (id={sample_id!r})" if sample_id is not None else "")


#: The shape errors about a sample's structure show (issue 15: say what was expected).
EXPECTED_SHAPE = ('a sample is {"messages": [{"role": "user", "content": "..."}, '
                  '{"role": "assistant", "content": "..."}], optional "id", '
                  '"reference_answer", "tools", "metadata"}')
#: Roles the parser knows; the response is the last turn with an assistant role.
KNOWN_ROLES = ("system", "developer", "user", "tool", *sorted(ASSISTANT_ROLES))


class LineSample(dict):  # type: ignore[type-arg]
    """A decoded sample that remembers its 1-based line in a JSONL file, so every error
    about it names that line (one numbering for a whole file; issue 15). Otherwise an
    ordinary dict."""

    __slots__ = ("line",)

    def __init__(self, value: Mapping[str, Any], line: int) -> None:
        super().__init__(value)
        self.line = line


def source_label(item: Any) -> str | None:
    """``"line N (id=...)"`` for a :class:`LineSample`, else None (batch positions)."""
    if not isinstance(item, LineSample):
        return None
    sample_id = item.get("id")
    return f"line {item.line}" + (f" (id={sample_id!r})" if sample_id != item.line else "")


def _content_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
                # reasoningContent, toolUse, images: not part of the response text
            else:
                raise SampleError(f"{where}: content block of type {type(block).__name__}")
        return "".join(parts)
    raise SampleError(
        f"{where}: 'content' must be a string or a list of blocks, got {type(content).__name__}"
    )


def _decode_arguments(raw: Any) -> tuple[Any, str | None]:
    # A blank string is "no arguments", not broken JSON: kept as is for the checks, which
    # read it as {} (plugins.checks.tool_calls.call_arguments).
    if isinstance(raw, str) and raw.strip():
        try:
            return orjson.loads(raw), None
        except orjson.JSONDecodeError as exc:
            return raw, f"arguments are not valid JSON: {exc}"
    return raw, None


def _call_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The message's tool calls; an entry that is not a call at all (``"function": null``,
    a bare string, ``"toolUse": null``) is kept as a nameless call with its error, so a
    validity check reports it instead of the call silently vanishing."""
    calls: list[ToolCall] = []
    for i, call in enumerate(message.get("tool_calls") or ()):
        if not isinstance(call, Mapping):
            calls.append(ToolCall("", call, f"tool_calls[{i}] is not an object "
                                            f"({type(call).__name__})"))
            continue
        fn = call.get("function", call)
        if not isinstance(fn, Mapping):
            calls.append(ToolCall("", fn, f"tool_calls[{i}].function is not an object "
                                          f"({type(fn).__name__})"))
            continue
        args, err = _decode_arguments(fn.get("arguments", fn.get("input")))
        calls.append(ToolCall(str(fn.get("name", "")), args, err,
                              _call_id(call.get("id", call.get("call_id")))))
    content = message.get("content")
    if isinstance(content, list):
        for i, block in enumerate(content):
            if not isinstance(block, Mapping) or "toolUse" not in block:
                continue
            use = block["toolUse"]
            if not isinstance(use, Mapping):
                calls.append(ToolCall("", use, f"content[{i}].toolUse is not an object "
                                               f"({type(use).__name__})"))
                continue
            args, err = _decode_arguments(use.get("input"))
            calls.append(ToolCall(str(use.get("name", "")), args, err,
                                  _call_id(use.get("toolUseId"))))
    return tuple(calls)


def _result_text(content: Any) -> str:
    """Text of a tool result's content: a string, or ``text``/``json`` blocks (JSON as
    compact text), anything else as compact JSON."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif isinstance(block, Mapping) and "json" in block:
                parts.append(_json_text(block["json"]))
            else:
                parts.append(block if isinstance(block, str) else _json_text(block))
        return "\n".join(parts)
    return _json_text(content)


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return str(value)


def _is_error_flag(raw: Mapping[str, Any]) -> bool:
    return raw.get("is_error") is True or (
        isinstance(raw.get("status"), str) and raw["status"].lower() == "error")


def _tool_results(raw: Mapping[str, Any], role: str, where: str) -> tuple[ToolResult, ...]:
    """Tool results a message carries: an OpenAI ``role: tool``/``function`` message is one;
    Converse ``toolResult`` blocks, one each."""
    if role in ("tool", "function"):
        call_id = raw.get("tool_call_id")
        if call_id is not None and not isinstance(call_id, str):
            raise SampleError(f"{where}: 'tool_call_id' must be a string, got "
                              f"{type(call_id).__name__}")
        name = raw.get("name")
        return (ToolResult(_call_id(call_id), _result_text(raw.get("content")),
                           _is_error_flag(raw), name if isinstance(name, str) else ""),)
    content = raw.get("content")
    if not isinstance(content, list):
        return ()
    results: list[ToolResult] = []
    for i, block in enumerate(content):
        if not isinstance(block, Mapping) or "toolResult" not in block:
            continue
        res = block["toolResult"]
        if not isinstance(res, Mapping):
            raise SampleError(f"{where}: content[{i}].toolResult is not an object "
                              f"({type(res).__name__})")
        results.append(ToolResult(_call_id(res.get("toolUseId")),
                                  _result_text(res.get("content")), _is_error_flag(res)))
    return tuple(results)


def _responses_item(item: Mapping[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """One OpenAI Responses item as ``(side, chat message)``: side "assistant" for what
    the model produced (merged into one turn when consecutive), "input" otherwise."""
    kind = item.get("type")
    if kind == "message" or (kind is None and "role" in item):
        role = item.get("role")
        side = "assistant" if isinstance(role, str) and role.strip().lower() in \
            ASSISTANT_ROLES else "input"
        return side, {"role": role, "content": item.get("content")}
    if kind in _RESPONSES_CALLS:
        args = item.get("arguments", item.get("input"))
        return "assistant", {"role": "assistant", "content": None, "tool_calls": [
            {"id": item.get("call_id"), "function": {"name": item.get("name"),
                                                     "arguments": args}}]}
    if kind in _RESPONSES_OUTPUTS:
        return "input", {"role": "tool", "tool_call_id": item.get("call_id"),
                         "content": item.get("output"), "status": item.get("status"),
                         "is_error": item.get("is_error")}
    if kind in _RESPONSES_SILENT:
        return "assistant", {"role": "assistant", "content": None}
    raise SampleError(f"{where}: Responses item type {kind!r} is not supported (expected "
                      "message, function_call, function_call_output, custom_tool_call, "
                      "custom_tool_call_output or reasoning)")


def _is_responses_item(item: Any) -> bool:
    # Chat messages carry no "type"; every Responses item does.
    return isinstance(item, Mapping) and isinstance(item.get("type"), str)


def _normalise(items: list[Any], where: str) -> list[tuple[int, Any]]:
    """``messages`` with Responses items turned into chat messages, consecutive model
    output items merged into one assistant message; each with its first source index."""
    out: list[tuple[int, Any]] = []
    merging = False  # the last entry is a merged Responses assistant turn
    for i, item in enumerate(items):
        if not _is_responses_item(item):
            out.append((i, item))
            merging = False
            continue
        side, msg = _responses_item(item, f"{where}: messages[{i}]")
        if side == "assistant" and merging:
            prev = out[-1][1]
            text = _content_text(msg.get("content"), f"{where}: messages[{i}]")
            if text:
                prev["content"] = (prev["content"] or "") + text
            prev["tool_calls"].extend(msg.get("tool_calls") or ())
            continue
        if side == "assistant":
            msg["content"] = _content_text(msg.get("content"), f"{where}: messages[{i}]") \
                or None
            msg["tool_calls"] = list(msg.get("tool_calls") or ())
        out.append((i, msg))
        merging = side == "assistant"
    return out


def count_assistant_turns(raw: Any) -> int:
    """The number of assistant turns :func:`parse_sample` would find in ``raw``, counted
    leniently so that a sample that fails to parse still has a turn count (its per-turn
    reward vector keeps that length). Never raises; 0 when there are no messages."""
    if not isinstance(raw, Mapping):
        return 0
    items = _raw_messages(raw)
    if not isinstance(items, list):
        return 0
    count, merging = 0, False
    for item in items:
        if _is_responses_item(item):
            kind = item.get("type")
            role = item.get("role")
            assistant = kind in _RESPONSES_CALLS or kind in _RESPONSES_SILENT or (
                kind == "message" and isinstance(role, str)
                and role.strip().lower() in ASSISTANT_ROLES)
            if assistant and not merging:
                count += 1
            merging = assistant
            continue
        merging = False
        role = item.get("role") if isinstance(item, Mapping) else None
        if isinstance(role, str) and role.strip().lower() in ASSISTANT_ROLES:
            count += 1
    return count


def _raw_messages(raw: Mapping[str, Any]) -> Any:
    """``messages``, or Responses ``input`` (+ ``output``) when there is no ``messages``."""
    if "messages" in raw or "input" not in raw:
        return raw.get("messages")
    items = raw.get("input")
    output = raw.get("output")
    if isinstance(items, list) and isinstance(output, list):
        return [*items, *output]
    return items


def _turns(messages: Sequence[Message], where: str,
           sources: Sequence[int]) -> tuple[Turn, ...]:
    """Assistant turns with the tool results that follow each; a result naming a call id
    that its turn did not make is a malformed trajectory."""
    if not any(m.tool_results for m in messages):  # no tool results: one turn a message
        return tuple(Turn(k, i, m) for k, (i, m) in enumerate(
            (i, m) for i, m in enumerate(messages) if m.role == "assistant"))
    turns: list[Turn] = []
    pending: list[ToolResult] = []
    current: tuple[int, Message] | None = None

    def close() -> None:
        if current is not None:
            turns.append(Turn(len(turns), current[0], current[1], tuple(pending)))

    for i, m in enumerate(messages):
        if m.role == "assistant":
            close()
            current, pending = (i, m), []
            continue
        for given in m.tool_results:
            result = given
            calls = current[1].tool_calls if current is not None else ()
            if result.call_id is not None:
                match = next((c for c in calls if c.id == result.call_id), None)
                if match is None:
                    turn = f"turn {len(turns)}" if current is not None else "no assistant turn"
                    raise SampleError(
                        f"{where}: messages[{sources[i]}]: tool result for call "
                        f"{result.call_id!r}, but {turn} made no call with that id "
                        "(malformed trajectory)")
                if not result.name:
                    result = ToolResult(result.call_id, result.content, result.is_error,
                                        match.name)
            if current is not None:
                pending.append(result)
    close()
    return tuple(turns)


def _message(raw: Any, where: str) -> Message:
    if not isinstance(raw, Mapping):
        raise SampleError(f"{where}: expected an object, got {type(raw).__name__}")
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise SampleError(f"{where}: missing or non-string 'role'")
    role = role.strip().lower()
    calls = raw.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise SampleError(f"{where}: 'tool_calls' must be a list, got {type(calls).__name__}")
    content = raw.get("content")
    return Message(
        role=_ROLE_ALIASES.get(role, role),
        content=_content_text(content, where),
        tool_calls=_tool_calls(raw),
        # only tool messages and block lists can carry results
        tool_results=_tool_results(raw, role, where)
        if role in ("tool", "function") or isinstance(content, list) else (),
    )


def prompt_key(prompt: Sequence[Message]) -> str:
    """A stable key for the prompt: samples sharing it are rollouts of one group."""
    digest = hashlib.blake2b(digest_size=12)
    for m in prompt:
        # surrogatepass: a lone surrogate ("\ud800" in JSON) is valid input, not a crash
        digest.update(m.role.encode("utf-8", "surrogatepass") + b"\x1e")
        digest.update(m.content.encode("utf-8", "surrogatepass") + b"\x1f")
    return digest.hexdigest()


def make_sample(
    prompt: str,
    response: str,
    *,
    reference: Any = None,
    metadata: Mapping[str, Any] | None = None,
    system: str | None = None,
    tools: Sequence[Any] | None = None,
    id: Any = None,  # the wire format's own key, shadowing the builtin on purpose
) -> dict[str, Any]:
    """One sample in the RFT wire shape from a prompt and a response (``rewardsmith.sample``).

    Returns ``{"messages": [system?, user, assistant], "id"?, "reference_answer"?, "tools"?,
    "metadata"?}``: what :meth:`Scorer.score` takes in a list, the reward Lambda receives and
    ``rewardsmith score`` reads one per line. Raises ``TypeError`` when ``prompt`` or
    ``response`` is not a string (a common slip: passing a message list).
    """
    for name, value in (("prompt", prompt), ("response", response), ("system", system)):
        if not isinstance(value, str) and not (name == "system" and value is None):
            raise TypeError(f"rewardsmith.sample: {name} must be a str, got "
                            f"{type(value).__name__}; for a whole conversation pass the "
                            "wire dict {'messages': [...]} to Scorer.score directly")
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": response})
    sample: dict[str, Any] = {"messages": messages}
    if id is not None:
        sample["id"] = id
    if reference is not None:
        sample["reference_answer"] = reference
    if tools is not None:
        sample["tools"] = list(tools)
    if metadata:
        sample["metadata"] = dict(metadata)
    return sample


def parse_sample(
    raw: Any,
    index: int = 0,
    *,
    max_response_chars: int | None = None,
    strip_reasoning_wrappers: bool = False,
    where: str | None = None,
) -> Sample:
    """Parse one wire-format sample into a :class:`Sample`.

    ``raw`` is a dict in the RFT wire shape (see :func:`make_sample`); ``index`` is only its
    position in a batch (0 for a lone sample), used as the id when ``raw`` has none and in
    error messages (``where`` replaces ``"sample #index"`` there, e.g. ``"line 7"``).
    Raises :class:`SampleError` naming what was wrong and, for a wrong structure, the
    expected shape and the known roles.
    """
    if not isinstance(raw, Mapping):
        raise SampleError(f"{where or f'sample #{index}'}: expected a JSON object, got "
                          f"{type(raw).__name__}; {EXPECTED_SHAPE}")
    sample_id = raw.get("id", index)
    where = where or _where(index, sample_id)

    messages = _raw_messages(raw)
    if messages is None:
        close = [k for k in raw if isinstance(k, str) and k.lower() in
                 {"message", "messsages", "conversation", "turns", "chat", "prompt"}]
        hint = f" (found {close[0]!r}: the key is 'messages')" if close else ""
        raise SampleError(f"{where}: missing 'messages'{hint}; {EXPECTED_SHAPE}")
    if not isinstance(messages, list):
        raise SampleError(f"{where}: 'messages' must be a list, got {type(messages).__name__};"
                          f" {EXPECTED_SHAPE}")
    if not messages:
        raise SampleError(f"{where}: 'messages' is empty; {EXPECTED_SHAPE}")
    # a cheap screen ("type" is a key no chat message needs); _normalise decides per item
    if any(isinstance(m, Mapping) and "type" in m for m in messages):
        normalised = _normalise(messages, where)
        sources: Sequence[int] = [i for i, _ in normalised]
        parsed = [_message(m, f"{where}: messages[{i}]") for i, m in normalised]
    else:  # plain chat messages (the common case): no copy
        sources = range(len(messages))
        parsed = [_message(m, f"{where}: messages[{i}]") for i, m in enumerate(messages)]
    last = max((i for i, m in enumerate(parsed) if m.role == "assistant"), default=None)
    if last is None:
        roles = sorted({m.role for m in parsed})
        raise SampleError(f"{where}: no assistant turn in 'messages' (the response to score; "
                          f"roles found: {', '.join(roles)}; the response is the last turn "
                          f"with role {', '.join(sorted(ASSISTANT_ROLES))}; known roles: "
                          f"{', '.join(KNOWN_ROLES)})")
    response = parsed[last]
    if strip_reasoning_wrappers:
        response = Message(response.role, strip_reasoning(response.content), response.tool_calls)
        parsed[last] = response
    if max_response_chars is not None and len(response.content) > max_response_chars:
        raise SampleError(
            f"{where}: response is {len(response.content):,} characters, over the pack's "
            f"limit of {max_response_chars:,}",
            kind=ErrorKind.OVERSIZED_RESPONSE,
        )

    nested = raw.get("metadata")
    if nested is not None and not isinstance(nested, Mapping):
        raise SampleError(f"{where}: 'metadata' must be an object, got {type(nested).__name__}")
    metadata: dict[str, Any] = dict(nested or {})
    metadata.update((k, v) for k, v in raw.items() if k not in _KNOWN_KEYS)
    reference = raw.get("reference_answer", metadata.pop("reference_answer", None))

    tools = raw.get("tools") or ()
    if not isinstance(tools, list | tuple):
        raise SampleError(f"{where}: 'tools' must be a list, got {type(tools).__name__}")

    final_state = raw.get("final_state", metadata.get("final_state"))
    turns = _turns(parsed, where, sources)
    prompt = tuple(parsed[:last])
    return Sample(
        id=sample_id,
        index=index,
        prompt=prompt,
        response_message=response,
        reference_answer=reference,
        tools=tuple(tools),
        metadata=metadata,
        group_key=prompt_key(prompt),
        messages=tuple(parsed),
        turns=turns,
        final_state=final_state,
    )
