from __future__ import annotations

from typing import Any

import pytest

from rewardsmith.core.errors import SampleError
from rewardsmith.core.sample import parse_sample, strip_reasoning


def test_reference_at_top_level_and_under_metadata() -> None:
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    top = parse_sample({"id": "1", "messages": msgs, "reference_answer": {"x": 1}}, 0)
    nested = parse_sample({"id": "2", "messages": msgs,
                           "metadata": {"reference_answer": "ref", "doc": "d"}}, 1)
    assert top.reference_answer == {"x": 1}
    assert top.reference_text == '{"x":1}'
    assert nested.reference_answer == "ref"
    assert nested.metadata == {"doc": "d"}


def test_nova_assistant_block_content_and_extra_keys_as_metadata() -> None:
    raw = {
        "id": 7,
        "messages": [
            {"role": "developer", "content": "sys"},
            {"role": "user", "content": [{"text": "hello "}, {"text": "world"}]},
            {"role": "nova_assistant",
             "content": [{"reasoningContent": {"text": "hmm"}}, {"text": "answer"}]},
        ],
        "task": "qa",
    }
    s = parse_sample(raw, 0)
    assert s.id == 7
    assert s.response == "answer"
    assert [m.role for m in s.prompt] == ["system", "user"]
    assert s.prompt_text() == "sys\n\nhello world"
    assert s.metadata == {"task": "qa"}


def test_response_is_the_last_assistant_turn() -> None:
    raw = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a1"},
                        {"role": "user", "content": "more"}, {"role": "bot", "content": "a2"},
                        {"role": "tool", "content": "trailing tool output"}]}
    s = parse_sample(raw, 3)
    assert s.response == "a2"
    assert len(s.prompt) == 3
    assert s.id == 3  # no id: the position stands in


def test_tool_calls_openai_and_converse_shapes() -> None:
    openai_style = {"messages": [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "get", "arguments": '{"a": 1}'}},
                       {"type": "function", "function": {"name": "bad", "arguments": "{oops"}}]}]}
    s = parse_sample(openai_style, 0)
    assert (s.tool_calls[0].name, s.tool_calls[0].arguments) == ("get", {"a": 1})
    assert s.tool_calls[1].arguments_error is not None
    converse_style = {"messages": [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "get",
                                                      "input": {"a": 2}}}]}]}
    assert parse_sample(converse_style, 0).tool_calls[0].arguments == {"a": 2}


def test_samples_sharing_a_prompt_share_a_group() -> None:
    def s(resp: str, prompt: str):
        return parse_sample({"messages": [{"role": "user", "content": prompt},
                                          {"role": "assistant", "content": resp}]}, 0)

    assert s("a", "p").group_key == s("b", "p").group_key
    assert s("a", "p").group_key != s("a", "q").group_key


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"id": "x"}, "missing 'messages'"),
        ({"id": "x", "messages": "hi"}, "'messages' must be a list"),
        ({"id": "x", "messages": []}, "'messages' is empty"),
        ({"id": "x", "messages": [{"role": "user", "content": "q"}]}, "no assistant turn"),
        ({"id": "x", "messages": [{"content": "q"}]}, "messages[0]: missing or non-string 'role'"),
        ({"id": "x", "messages": [{"role": "assistant", "content": 5}]}, "'content' must be"),
        ({"id": "x", "messages": [3]}, "messages[0]: expected an object"),
        ({"id": "x", "messages": [{"role": "assistant", "content": "a"}], "metadata": []},
         "'metadata' must be an object"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_samples_name_what_and_where(raw: object, fragment: str) -> None:
    with pytest.raises(SampleError) as info:
        parse_sample(raw, 4)
    assert fragment in str(info.value)
    assert "sample #4" in str(info.value)


def test_oversized_response_is_a_sample_error_with_its_own_kind() -> None:
    raw = {"messages": [{"role": "assistant", "content": "x" * 101}]}
    with pytest.raises(SampleError) as info:
        parse_sample(raw, 0, max_response_chars=100)
    assert info.value.kind == "oversized_response"


def test_strip_reasoning_wrappers() -> None:
    assert strip_reasoning("<think>plan</think>\n{\"a\": 1}") == '{"a": 1}'
    assert strip_reasoning("plan only</think>answer") == "answer"
    assert strip_reasoning("<|begin_of_solution|>42<|end_of_solution|>") == "42"
    assert strip_reasoning("no wrappers") == "no wrappers"


def test_strip_reasoning_other_tags_and_truncated_sections() -> None:
    text = "<reasoning>r</reasoning>{\"v\": 1}<thinking>cut off by max_tokens"
    tags = ("think", "thinking", "reasoning")
    assert strip_reasoning(text, tags, drop_unclosed=True) == '{"v": 1}'
    assert strip_reasoning(text, tags).endswith("cut off by max_tokens")
    # a flood of unclosed tags is one forward scan, not a rescan per tag
    assert strip_reasoning("<think>" * 100_000 + "x").endswith("x")


def test_lone_surrogates_are_data_not_a_crash() -> None:
    raw = {"id": "s", "messages": [{"role": "user", "content": "bad \ud800 text"},
                                   {"role": "assistant", "content": "x\udfff"}]}
    s = parse_sample(raw, 0)
    assert len(s.group_key) == 24 and s.response == "x\udfff"


@pytest.mark.parametrize(("text", "expected"), [
    # a tag named inside a JSON string of the answer is text (same kind as real-world-1 D1)
    ('{"note": "ends with </think> ok", "a": 1}', '{"note": "ends with </think> ok", "a": 1}'),
    ('{"note": "a <think>b</think> c"}', '{"note": "a <think>b</think> c"}'),
    ('<think>plan</think>{"note": "<think> inside", "a": 1}', '{"note": "<think> inside", "a": 1}'),
    ('["x </think> y"]', '["x </think> y"]'),
    ('{"note": "raw\nline break </think> then"}', '{"note": "raw\nline break </think> then"}'),
    # tags outside strings still wrap reasoning
    ('<think>{"draft": 1}</think>{"a": 2}', '{"a": 2}'),
    ('the plan</think>{"a": "</think>"}', '{"a": "</think>"}'),
])
def test_pack_level_strip_reasoning_leaves_json_strings_alone(text: str, expected: str) -> None:
    assert strip_reasoning(text) == expected
    raw = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    assert parse_sample(raw, 0, strip_reasoning_wrappers=True).response == expected


@pytest.mark.parametrize(("message", "error"), [
    ({"tool_calls": [{"id": "c", "type": "function", "function": None}]},
     "tool_calls[0].function is not an object (NoneType)"),
    ({"tool_calls": ["get_time()"]}, "tool_calls[0] is not an object (str)"),
    ({"tool_calls": [{"id": "c", "function": ["get_time"]}]},
     "tool_calls[0].function is not an object (list)"),
    ({"content": [{"text": "ok"}, {"toolUse": None}]}, "content[1].toolUse is not an object"),
])
def test_an_entry_that_is_not_a_tool_call_is_kept_with_its_error(message: dict[str, Any],
                                                                 error: str) -> None:
    raw = {"messages": [{"role": "user", "content": "q"},
                        {"role": "assistant", "content": None, **message}]}
    (call,) = parse_sample(raw, 0).tool_calls
    assert call.name == "" and call.arguments_error is not None
    assert call.arguments_error.startswith(error)


def test_blank_string_arguments_are_no_arguments_not_broken_json() -> None:
    raw = {"messages": [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "now", "arguments": " \n"}}]}]}
    (call,) = parse_sample(raw, 0).tool_calls
    assert call.arguments == " \n" and call.arguments_error is None
