"""The rubric judge over a trajectory and per turn: delimited data, the task sent once,
long tool outputs truncated by the declared budget."""

from __future__ import annotations

import pytest
from tests.support import trajectories as tj
from tests.support.judges import read_blocks, rubric_policy
from tests.support.trajectories import LOOKUP, REFUND

from rewardsmith import Scorer

DONE = "Your refund R-9 for NW-100200 is on its way."

JUDGE = """
[[components]]
id = "conduct"
type = "rubric-judge"
scope = "{scope}"
include_prompt = true
max_tool_output_chars = 40
criteria = [{{ id = "looked_up", pass_if = "The agent looked the order up." }}]
"""


def _run(pack_factory, scope: str, raw):
    rules = {"looked_up": lambda text: "-> call lookup_order" in text}
    pack, recorder = pack_factory(rubric_policy(rules), JUDGE.format(scope=scope))
    scorer = Scorer(pack)
    try:
        (result,) = scorer.score([raw]).results
    finally:
        scorer.close()
    return result, recorder


def test_trajectory_scope_renders_every_turn_once(pack_factory) -> None:
    big = ("lookup_order", LOOKUP[1], '{"history": "' + "x" * 5000 + '"}', False)
    result, recorder = _run(pack_factory, "trajectory", tj.chat([("", [big]), ("", [REFUND]),
                                                                 (DONE, [])]))
    (request,) = recorder.requests
    blocks = read_blocks(request.user)
    assert list(blocks) == ["prompt", "candidate"]
    assert blocks["prompt"] == ("system: You are a Northwind support agent.\n\n"
                                "user: Please refund order NW-100200, it arrived broken.")
    candidate = blocks["candidate"]
    assert candidate.count("## turn") == 3
    assert '-> call lookup_order {"order_id":"NW-100200"}' in candidate
    assert "[truncated: 4,975 of 5,015 characters not shown]" in candidate
    assert "x" * 41 not in candidate
    assert "<- result refund_order (ok): {\"refund_id\": \"R-9\"}" in candidate
    assert "Please refund order" not in candidate  # the task goes once, in its own block
    assert "the agent's trajectory to evaluate" in request.system
    assert result.reward == 1.0 and result.turn_rewards == (0.0, 0.0, 1.0)


def test_turn_scope_judges_each_turn_with_its_history(pack_factory) -> None:
    result, recorder = _run(pack_factory, "turn", tj.chat([("", [LOOKUP]), ("", [REFUND]),
                                                           (DONE, [])]))
    assert len(recorder.requests) == 3
    first, second, third = (read_blocks(r.user) for r in recorder.requests)
    assert "history" not in first and first["candidate"].startswith("## turn 0")
    assert second["history"].startswith("## turn 0") and "## turn 1" not in second["history"]
    assert third["candidate"] == f"## turn 2 (assistant)\n{DONE}"
    # every request carries the task once, never the other turns' task copies
    assert all(b["prompt"].count("Please refund order") == 1 for b in (first, second, third))
    assert result.components["conduct"].turn_values == [1.0, 0.0, 0.0]
    assert result.turn_rewards == (1.0, 0.0, 0.0)
    assert result.reward == pytest.approx(1 / 3)


def test_error_results_are_marked_for_the_judge(pack_factory) -> None:
    _, recorder = _run(pack_factory, "trajectory", tj.converse())
    candidate = read_blocks(recorder.requests[0].user)["candidate"]
    assert '<- result lookup_order (error): {"error":"backend timeout"}' in candidate


def test_response_scope_is_unchanged(pack_factory) -> None:
    _, recorder = _run(pack_factory, "response", tj.chat([("", [LOOKUP]), (DONE, [])]))
    blocks = read_blocks(recorder.requests[0].user)
    assert blocks["candidate"] == DONE
    assert "rubric-judge.explicit/1]" in recorder.requests[0].system


def test_turn_scope_sums_the_judge_cost_over_turns(pack_factory) -> None:
    result, recorder = _run(pack_factory, "turn", tj.chat([("", [LOOKUP]), (DONE, [])]))
    measurements = result.components["conduct"].measurements
    assert len(recorder.requests) == 2 and measurements["turns"] == 2
    per_call = [(len(r.system) + len(r.user)) // 4 for r in recorder.requests]
    assert measurements["input_tokens"] == sum(per_call)


def test_turn_scope_averages_criterion_values_over_turns(pack_factory) -> None:
    """A criterion's metric stays a 0/1 verdict rate (s5 tester F11: summed to 3.0 over
    four turns), while calls and tokens add up over the turns."""
    turns = [("", [LOOKUP]), ("", [LOOKUP]), ("", [REFUND]), (DONE, [])]
    result, recorder = _run(pack_factory, "turn", tj.chat(turns))
    outcome = result.components["conduct"]
    assert outcome.turn_values == [1.0, 1.0, 0.0, 0.0]
    assert outcome.measurements["looked_up"] == 0.5
    assert outcome.measurements["criteria_passed"] == 0.5
    assert outcome.measurements["judge_calls"] == len(recorder.requests) == 4
