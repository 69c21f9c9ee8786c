"""Trajectories as samples: every accepted shape, turns identified, tool log, final state."""

from __future__ import annotations

import pytest
from tests.support import trajectories as tj

from rewardsmith.core.errors import SampleError
from rewardsmith.core.sample import count_assistant_turns, parse_sample


@pytest.mark.parametrize(("build", "turns"), tj.SHAPES, ids=lambda v: getattr(v, "__name__", v))
def test_the_lenient_turn_count_matches_the_shape(build, turns: int) -> None:
    assert count_assistant_turns(build()) == turns


@pytest.mark.parametrize(("build", "turns"), [s for s in tj.SHAPES
                                              if "malformed" not in s[0].__name__])
def test_every_shape_parses_to_its_turns(build, turns: int) -> None:
    sample = parse_sample(build(), 0)
    assert len(sample.turns) == turns == count_assistant_turns(build())
    assert [t.index for t in sample.turns] == list(range(turns))
    assert sample.turns[-1].message is sample.response_message
    for turn in sample.turns:
        assert sample.messages[turn.message_index] is turn.message


def test_openai_chat_trajectory() -> None:
    sample = parse_sample(tj.openai_chat(), 0)
    first, second, last = sample.turns
    assert [c.name for c in first.calls] == ["lookup_order"]
    assert first.calls[0].id == "c1"
    assert first.calls[0].arguments == {"order_id": "NW-100200"}
    assert [(r.call_id, r.name, r.is_error) for r in first.results] == [
        ("c1", "lookup_order", False)]
    assert second.results[0].content == '{"refund_id": "R-9"}'
    assert last.results == () and last.calls == ()
    assert sample.response == "Your refund for NW-100200 is on its way."
    assert [(t, c.name, r.call_id if r else None) for t, c, r in sample.tool_log] == [
        (0, "lookup_order", "c1"), (1, "refund_order", "c2")]
    assert sample.final_state == {"refunds": ["NW-100200"]}
    # the prompt is still everything before the response (single-turn readers unchanged)
    assert len(sample.prompt) == 6


def test_converse_tool_use_and_error_result() -> None:
    sample = parse_sample(tj.converse(), 0)
    first, last = sample.turns
    assert first.text == "Let me check."
    assert first.calls[0].id == "t1" and first.calls[0].arguments == {"order_id": "NW-100200"}
    (result,) = first.results
    assert result.is_error and result.name == "lookup_order"
    assert result.content == '{"error":"backend timeout"}'
    assert last.text == "The order system is down; try later."


@pytest.mark.parametrize("build", [tj.responses, tj.responses_input_output])
def test_responses_items_merge_one_turn(build) -> None:
    sample = parse_sample(build(), 0)
    first, last = sample.turns
    assert first.text == ""
    assert [(c.name, c.id) for c in first.calls] == [("lookup_order", "fc1")]
    assert first.results[0].content == '{"status": "shipped"}'
    assert last.text == "It has shipped."
    assert sample.prompt_text() == "Status of NW-100200?"


def test_final_state_under_metadata() -> None:
    raw = tj.rft_single_turn()
    raw["metadata"] = {"final_state": {"done": True}}
    assert parse_sample(raw, 0).final_state == {"done": True}


def test_turn_view_is_the_sample_at_that_turn() -> None:
    sample = parse_sample(tj.openai_chat(), 0)
    view = sample.turn_view(1)
    assert view.tool_calls[0].name == "refund_order"
    assert len(view.prompt) == 4 and len(view.turns) == 2
    assert view.tools == sample.tools and view.group_key == sample.group_key


def test_a_result_for_a_call_never_made_is_a_clear_error() -> None:
    with pytest.raises(SampleError, match=r"messages\[5\]: tool result for call 'nope', but "
                       r"turn 1 made no call with that id \(malformed trajectory\)"):
        parse_sample(tj.malformed_call_id(), 0)


def test_an_unknown_responses_item_is_a_clear_error() -> None:
    raw = tj.responses()
    raw["messages"].insert(1, {"type": "web_search_call", "id": "ws"})
    with pytest.raises(SampleError, match=r"messages\[1\]: Responses item type "
                                          r"'web_search_call' is not supported"):
        parse_sample(raw, 0)


def test_tool_result_block_that_is_not_an_object() -> None:
    raw = tj.converse()
    raw["messages"][2]["content"][0]["toolResult"] = "x"
    with pytest.raises(SampleError, match=r"messages\[2\]: content\[0\]\.toolResult is not"):
        parse_sample(raw, 0)


@pytest.mark.parametrize("raw", [None, 3, {"messages": "x"}, {"input": 5}, {}])
def test_turn_count_never_raises(raw) -> None:
    assert count_assistant_turns(raw) == 0
