"""A trajectory as judge data: the task once, then each turn, tool outputs within a budget.

Used by the rubric judge when its component has ``scope = "trajectory"`` (the whole
trajectory is the ``candidate`` block) or ``scope = "turn"`` (the turn is the candidate,
the turns before it go in the ``prompt`` block). The text produced here is untrusted data:
the judge's prompting layer delimits and escapes it like any other block.

Shared prefix once: the messages before the first assistant turn (system prompt, task) are
rendered once, as the ``prompt`` block, never repeated per turn. Long tool outputs are cut
to ``max_tool_output_chars`` with a note of how much was left out, so a tool that dumps a
database cannot blow the judge's input budget while the turns around it still show.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from rewardsmith.core.sample import Message, Sample, ToolCall, ToolResult, Turn


def _arguments(call: ToolCall) -> str:
    if isinstance(call.arguments, str):
        return call.arguments
    try:
        return orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return repr(call.arguments)


def truncate(text: str, budget: int) -> str:
    """``text`` cut to ``budget`` characters with a note of the characters left out."""
    if len(text) <= budget:
        return text
    return f"{text[:budget]}… [truncated: {len(text) - budget:,} of {len(text):,} characters " \
           "not shown]"


def _result_line(result: ToolResult, budget: int) -> str:
    status = "error" if result.is_error else "ok"
    return f"<- result {result.name or '?'} ({status}): {truncate(result.content, budget)}"


def render_turn(turn: Turn, budget: int) -> str:
    """One assistant turn: its text, each call and each result that came back."""
    lines = [f"## turn {turn.index} (assistant)"]
    if turn.text.strip():
        lines.append(turn.text)
    lines.extend(f"-> call {c.name or '?'} {_arguments(c)}" for c in turn.calls)
    lines.extend(_result_line(r, budget) for r in turn.results)
    return "\n".join(lines)


def _other(message: Message) -> str | None:
    """A non-assistant message between turns (a user follow-up), if it says anything
    besides carrying tool results."""
    if message.role == "tool" or not message.content.strip():
        return None
    return f"## {message.role}\n{message.content}"


def task_prefix(sample: Sample) -> str:
    """The messages before the first assistant turn, as ``role: text`` paragraphs."""
    first = sample.turns[0].message_index if sample.turns else len(sample.messages)
    return "\n\n".join(f"{m.role}: {m.content}" for m in sample.messages[:first]
                       if m.content.strip())


def render_turns(sample: Sample, turns: Sequence[Turn], budget: int) -> str:
    """``turns`` (a run of ``sample.turns``) with any user messages between them."""
    parts: list[str] = []
    for turn in turns:
        parts.append(render_turn(turn, budget))
        end = (sample.turns[turn.index + 1].message_index
               if turn.index + 1 < len(sample.turns) else len(sample.messages))
        for message in sample.messages[turn.message_index + 1:end]:
            if (text := _other(message)) is not None:
                parts.append(text)
    return "\n\n".join(parts)
