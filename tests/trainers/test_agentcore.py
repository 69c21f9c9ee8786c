"""agentcore-rl-toolkit adapter: the toolkit's ``RewardFunction`` call shape
(``__call__(**kwargs) -> float | list[float]``), per-turn lists and outcomes."""

from __future__ import annotations

import math

import pytest
from tests.support import trajectories as tj
from tests.support.trajectories import LOOKUP, REFUND

from rewardsmith import Scorer, load_pack
from rewardsmith.trainers.agentcore import PackReward, trajectory_sample

PACK = """
[pack]
name = "agentcore-test"
version = "1"

[trajectory]
assign = "final"

[[components]]
id = "calls"
type = "tool-call-valid"
scope = "turn"

[[components]]
id = "outcome"
type = "task-success"
checks = [{ path = "refunded_orders", op = "eq", reference = "refunded_orders" }]
weight = 3
"""

DONE = "Refund R-9 for NW-100200 is issued."


@pytest.fixture
def reward(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PACK)
    fn = PackReward(str(path))
    yield fn
    fn.close()


def _messages(bad_first_call: bool = False):
    first = ("lookup_order", {"order_id": "100200"}, "{}", True) if bad_first_call else LOOKUP
    return tj.chat([("", [first]), ("", [REFUND]), (DONE, [])])["messages"]


def test_per_turn_list_from_messages(reward) -> None:
    out = reward(messages=_messages(bad_first_call=True), tools=tj.TOOLS,
                 ground_truth={"refunded_orders": ["NW-100200"]},
                 final_state={"refunded_orders": ["NW-100200"]})
    assert out == [0.0, 1.0, 1.0]  # turn 0's call breaks the schema; outcome at the end
    assert reward.last_result is not None and reward.last_result.status == "ok"


def test_outcome_as_a_single_element_list(tmp_path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PACK)
    fn = PackReward(Scorer(load_pack(path)), per_turn=False)
    try:
        out = fn(messages=_messages(), tools=tj.TOOLS,
                 ground_truth={"refunded_orders": ["NW-100200"]},
                 final_state={"refunded_orders": []})
    finally:
        fn.close()
    assert out == [pytest.approx(0.25)]  # calls 1.0 (w 1), outcome 0.0 (w 3)


def test_converse_messages_and_extra_kwargs_become_metadata(reward) -> None:
    out = reward(messages=tj.converse()["messages"], tools=tj.TOOLS, task="status",
                 final_state={"refunded_orders": []},
                 ground_truth={"refunded_orders": []})
    assert len(out) == 2 and all(math.isfinite(v) for v in out)
    assert trajectory_sample(messages=[], task="status", id="x") == {
        "messages": [], "task": "status", "id": "x"}


def test_malformed_trajectory_gets_a_finite_list_of_its_length(reward) -> None:
    out = reward(sample=tj.malformed_call_id())
    assert out == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="needs messages"):
        reward(response_text="hi")


@pytest.mark.parametrize(("messages", "why"), [
    ([], "'messages' is empty"),
    ([{"role": "user", "content": "Refund NW-100200"}], "no assistant turn"),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
     "no assistant turn"),
])
def test_a_rollout_with_no_turn_to_reward_gets_the_failure_reward_as_the_outcome(
    reward, messages, why,
) -> None:
    """The toolkit's RewardFunction returns per-turn rewards or a single-element outcome
    list, never ``[]``: such a rollout gets ``[failure reward]``, its error on the result."""
    out = reward(messages=messages, tools=tj.TOOLS)
    assert out == [reward.scorer.pack.failure_reward] and math.isfinite(out[0])
    assert reward.last_result is not None and reward.last_result.status == "failed"
    assert why in (reward.last_result.error or "")


@pytest.mark.parametrize("messages", ["x", b"x", {"role": "assistant", "content": "hi"}])
def test_messages_that_are_not_a_list_of_messages_raise(reward, messages) -> None:
    with pytest.raises(TypeError, match="messages must be a list of messages"):
        reward(messages=messages)
