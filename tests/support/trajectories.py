"""Trajectory samples in every shape the parser accepts, shared by core and runtime tests.

Each builder returns one wire-format sample dict with a known number of assistant turns.
"""

from __future__ import annotations

from typing import Any

TOOLS = [
    {"type": "function", "function": {
        "name": "lookup_order", "description": "Status and contents of an order.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "pattern": "^NW-\\d{6}$"}},
            "required": ["order_id"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "refund_order", "description": "Refund an order.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "pattern": "^NW-\\d{6}$"},
            "reason": {"type": "string"}},
            "required": ["order_id", "reason"], "additionalProperties": False}}},
]


def openai_chat(final: str = "Your refund for NW-100200 is on its way.") -> dict[str, Any]:
    """Three assistant turns: lookup, refund, answer (OpenAI chat tool calling)."""
    return {"id": "chat", "messages": [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Please refund order NW-100200, it arrived broken."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {
                "name": "lookup_order", "arguments": '{"order_id": "NW-100200"}'}}]},
        {"role": "tool", "tool_call_id": "c1",
         "content": '{"status": "delivered", "total": 42.5}'},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c2", "type": "function", "function": {
                "name": "refund_order",
                "arguments": '{"order_id": "NW-100200", "reason": "damaged"}'}}]},
        {"role": "tool", "tool_call_id": "c2", "content": '{"refund_id": "R-9"}'},
        {"role": "assistant", "content": final},
    ], "tools": TOOLS, "final_state": {"refunds": ["NW-100200"]}}


def converse() -> dict[str, Any]:
    """Two assistant turns in Bedrock Converse blocks; the tool answers with an error."""
    return {"id": "converse", "messages": [
        {"role": "user", "content": [{"text": "Where is NW-100200?"}]},
        {"role": "assistant", "content": [
            {"text": "Let me check."},
            {"toolUse": {"toolUseId": "t1", "name": "lookup_order",
                         "input": {"order_id": "NW-100200"}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "t1", "status": "error",
                            "content": [{"json": {"error": "backend timeout"}}]}}]},
        {"role": "assistant", "content": [{"text": "The order system is down; try later."}]},
    ], "tools": TOOLS}


def responses_items() -> list[dict[str, Any]]:
    """OpenAI Responses items: two turns (reasoning + call, then the answer)."""
    return [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "Status of NW-100200?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "fc1", "name": "lookup_order",
         "arguments": '{"order_id": "NW-100200"}'},
        {"type": "function_call_output", "call_id": "fc1", "output": '{"status": "shipped"}'},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "It has shipped."}]},
    ]


def responses() -> dict[str, Any]:
    return {"id": "responses", "messages": responses_items(), "tools": TOOLS}


def responses_input_output() -> dict[str, Any]:
    items = responses_items()
    return {"id": "responses-io", "input": items[:1], "output": items[1:], "tools": TOOLS}


def rft_single_turn() -> dict[str, Any]:
    """The existing RFT wire shape: one generated assistant turn."""
    return {"id": "rft", "messages": [{"role": "user", "content": "Say hi"},
                                      {"role": "assistant", "content": "hi"}],
            "reference_answer": "hi"}


def malformed_call_id() -> dict[str, Any]:
    """Three assistant turns, but a tool result names a call no turn made."""
    sample = openai_chat()
    sample["id"] = "bad-call-id"
    sample["messages"][5] = {"role": "tool", "tool_call_id": "nope", "content": "{}"}
    return sample


def malformed_message() -> dict[str, Any]:
    """Two assistant turns and a message that is not an object."""
    return {"id": "bad-message", "messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, 7,
        {"role": "assistant", "content": "b"}]}


#: (builder, number of assistant turns)
SHAPES = [(openai_chat, 3), (converse, 2), (responses, 2), (responses_input_output, 2),
          (rft_single_turn, 1), (malformed_call_id, 3), (malformed_message, 2)]


def chat(turns: list[tuple[str, list[tuple[str, dict[str, Any], str, bool]]]], *,
         sid: str = "t", user: str = "Please refund order NW-100200, it arrived broken.",
         final_state: Any = None, **extra: Any) -> dict[str, Any]:
    """An OpenAI-chat trajectory from ``(text, [(tool, arguments, result, is_error)])`` per
    assistant turn; call ids are generated, results follow their turn."""
    import json

    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a Northwind support agent."},
        {"role": "user", "content": user}]
    n = 0
    for text, calls in turns:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        results = []
        if calls:
            message["tool_calls"] = []
            for name, args, result, is_error in calls:
                n += 1
                message["tool_calls"].append({"id": f"call{n}", "type": "function", "function": {
                    "name": name, "arguments": json.dumps(args)}})
                entry: dict[str, Any] = {"role": "tool", "tool_call_id": f"call{n}",
                                         "content": result}
                if is_error:
                    entry["is_error"] = True
                results.append(entry)
        messages.append(message)
        messages.extend(results)
    sample: dict[str, Any] = {"id": sid, "messages": messages, "tools": TOOLS, **extra}
    if final_state is not None:
        sample["final_state"] = final_state
    return sample


LOOKUP = ("lookup_order", {"order_id": "NW-100200"}, '{"status": "delivered"}', False)
REFUND = ("refund_order", {"order_id": "NW-100200", "reason": "damaged"},
          '{"refund_id": "R-9"}', False)
