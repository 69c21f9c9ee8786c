"""Samples: the RFT wire shapes, parsed once into one immutable object.

Accepts exactly what trainers send (see shared reference): ``messages`` ending with the
generated assistant turn, ``reference_answer`` at top level or under ``metadata``, roles
``assistant``/``nova_assistant``/``bot`` for the response, ``content`` as a string or a list
of blocks, and every other key kept as metadata.
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



@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call normalised from OpenAI ``tool_calls`` or Converse ``toolUse`` blocks.

    ``arguments`` is the decoded object, or the raw string when it was not valid JSON
    (``arguments_error`` then says why) so a validity check can report it.
    """

    name: str
    arguments: Any
    arguments_error: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()


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
        calls.append(ToolCall(str(fn.get("name", "")), args, err))
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
            calls.append(ToolCall(str(use.get("name", "")), args, err))
    return tuple(calls)


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
    return Message(
        role=_ROLE_ALIASES.get(role, role),
        content=_content_text(raw.get("content"), where),
        tool_calls=_tool_calls(raw),
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

    messages = raw.get("messages")
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
    )
