"""Trajectories through ``rewardsmith serve``, driven by a real HTTP client (httpx) against a
real uvicorn server: ``POST /v1/score`` answers what the Lambda answers, per-turn vector
included, for every trajectory shape; ``POST /verify`` scores a NeMo Gym multi-step rollout
as a trajectory and answers its vector under ``turn_rewards``; single-turn answers keep
their bytes.

The multi-step rollout is what NeMo Gym v0.5.0's ``SimpleAgent.responses``
(``responses_api_agents/simple_agent/app.py``) hands to ``/verify``: one ``response`` whose
``output`` holds every step's model items followed by the ``function_call_output`` items
the agent added (``NeMoGymResponseFunctionToolCall``, ``NeMoGymFunctionCallOutput``,
``NeMoGymResponseOutputMessage`` in ``nemo_gym/openai_utils.py``); tools in the Responses
API's flat ``{"type": "function", "name", "parameters"}`` form.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.support import trajectories as tj
from tests.support.serving import TOY_PACK, make_scorer, running

from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.wire import TURN_REWARDS_KEY

# Tool calls checked per turn; 3 turns against a budget of 2 (to 0 at 4) give 0.5, assigned
# to every turn: a turn's reward is (calls at that turn + 0.5) / 2.
AGENT_PACK = """
[pack]
name = "serve-agent"
version = "1.0.0"

[trajectory]
assign = "every"

[[components]]
id = "calls"
type = "tool-call-valid"
scope = "turn"

[[components]]
id = "turns"
type = "turn-budget"
max_turns = 2
falloff = 2
"""

SHAPES = [(tj.openai_chat, 3), (tj.converse, 2), (tj.responses, 2),
          (tj.responses_input_output, 2), (tj.malformed_call_id, 3)]


@pytest.mark.parametrize(("build", "turns"), SHAPES, ids=[b.__name__ for b, _ in SHAPES])
def test_v1_score_answers_the_vector_for_every_trajectory_shape(tmp_path: Path, build: Any,
                                                                turns: int) -> None:
    sample = build()
    expected = make_handler(make_scorer(tmp_path, AGENT_PACK, "lambda.toml"))([sample], None)
    with running(make_scorer(tmp_path, AGENT_PACK)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        answer = client.post("/v1/score", json={"samples": [sample]})
    assert answer.status_code == 200
    (row,) = answer.json()
    assert answer.json() == expected
    vector = row[TURN_REWARDS_KEY]
    assert len(vector) == turns
    assert all(isinstance(v, float) for v in vector)


def test_v1_score_vector_values_and_single_turn_rows(tmp_path: Path) -> None:
    samples = [tj.openai_chat(), tj.converse(), tj.responses(), tj.malformed_call_id(),
               tj.rft_single_turn()]
    with running(make_scorer(tmp_path, AGENT_PACK)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        rows = {row["id"]: row for row in client.post("/v1/score", json=samples).json()}
    # chat: 3 turns (0.5 from the budget), every call valid
    assert rows["chat"][TURN_REWARDS_KEY] == [0.75, 0.75, 0.75]
    assert rows["chat"]["aggregate_reward_score"] == 0.75
    # converse and responses: 2 turns, within the budget, every call valid
    assert rows["converse"][TURN_REWARDS_KEY] == [1.0, 1.0]
    assert rows["responses"][TURN_REWARDS_KEY] == [1.0, 1.0]
    # malformed: the failure reward on each of its three turns
    assert rows["bad-call-id"][TURN_REWARDS_KEY] == [0.0, 0.0, 0.0]
    # an agentic pack gives a single-turn sample its one-entry vector, as the Lambda does
    assert rows["rft"][TURN_REWARDS_KEY] == [1.0]

    # Under a single-response pack, a single-turn row keeps exactly the Lambda's three keys
    # while a trajectory still gets its vector.
    with running(make_scorer(tmp_path, TOY_PACK, "toy.toml")) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        single, multi = client.post("/v1/score", json=[tj.rft_single_turn(),
                                                       tj.openai_chat()]).json()
    assert set(single) == {"id", "aggregate_reward_score", "metrics_list"}
    assert len(multi[TURN_REWARDS_KEY]) == 3


# -- NeMo Gym ---------------------------------------------------------------------------------
NEMO_TOOLS = [
    {"type": "function", "name": t["function"]["name"],
     "description": t["function"]["description"],
     "parameters": t["function"]["parameters"], "strict": True}
    for t in tj.TOOLS
]


def _rollout_request(output: list[dict[str, Any]], **task: Any) -> dict[str, Any]:
    """A ``BaseVerifyRequest`` as the simple agent posts it after a rollout."""
    return {
        "responses_create_params": {
            "input": [
                {"role": "system", "content": "You are a Northwind support agent."},
                {"role": "user", "content": "NW-100200 arrived broken, please refund it."}],
            "tools": NEMO_TOOLS, "parallel_tool_calls": False,
        },
        "response": {
            "id": "resp_rollout", "object": "response", "created_at": 1.0, "model": "policy",
            "parallel_tool_calls": False, "tool_choice": "auto", "tools": NEMO_TOOLS,
            "output": output,
        },
        **task,
    }


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id, "name": name,
            "arguments": json.dumps(arguments), "status": "completed"}


def _output(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _message(text: str) -> dict[str, Any]:
    return {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


# Step 1 reasons and looks the order up; step 2 calls refund with an id that breaks the
# tool's schema (the tool answers an error); step 3 answers.
ROLLOUT = [
    {"type": "reasoning", "id": "rs_1", "summary": [
        {"type": "summary_text", "text": "Look the order up first."}]},
    _call("call_1", "lookup_order", {"order_id": "NW-100200"}),
    _output("call_1", '{"status": "delivered", "total": 42.5}'),
    _call("call_2", "refund_order", {"order_id": "100200", "reason": "damaged"}),
    _output("call_2", '{"error": "invalid order id"}'),
    _message("I could not refund NW-100200; a colleague will follow up."),
]


def test_verify_scores_a_multi_step_rollout_as_a_trajectory(tmp_path: Path) -> None:
    request = _rollout_request(ROLLOUT, _ng_task_index=3)
    with running(make_scorer(tmp_path, AGENT_PACK)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        answer = client.post("/verify", json=request)
        assert answer.status_code == 200
        body = answer.json()
        # the same rollout sent to the Lambda route as a Responses sample (input + output)
        lambda_row = client.post("/v1/score", json=[{
            "id": "resp_rollout", "input": request["responses_create_params"]["input"],
            "output": ROLLOUT, "tools": NEMO_TOOLS}]).json()[0]
    # three steps: calls valid, invalid, none; 0.5 from the turn budget at every turn
    assert body[TURN_REWARDS_KEY] == [0.75, 0.25, 0.75]
    assert body["reward"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert body["reward_components"] == {"calls": pytest.approx(2 / 3), "turns": 0.5}
    assert "mask_sample" not in body
    # the request is echoed whole; the answer adds exactly these keys
    assert {k: v for k, v in body.items()
            if k not in ("reward", "reward_components", TURN_REWARDS_KEY)} == request
    assert body[TURN_REWARDS_KEY] == lambda_row[TURN_REWARDS_KEY]
    assert body["reward"] == lambda_row["aggregate_reward_score"]


def test_verify_trajectory_reads_final_state_and_fails_a_malformed_rollout_alone(
        tmp_path: Path) -> None:
    pack = AGENT_PACK + """
[[components]]
id = "outcome"
type = "task-success"
checks = [{ path = "refunded", op = "eq", value = true }]
"""
    finished = [*ROLLOUT[:3], _call("call_2", "refund_order",
                                    {"order_id": "NW-100200", "reason": "damaged"}),
                _output("call_2", '{"refund_id": "R-9"}'), _message("Refunded.")]
    broken = copy.deepcopy(finished)
    broken[4]["call_id"] = "call_9"  # answers a call no step made
    with running(make_scorer(tmp_path, pack)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        done = client.post("/verify", json=_rollout_request(
            finished, final_state={"refunded": True})).json()
        undone = client.post("/verify", json=_rollout_request(
            finished, final_state={"refunded": False})).json()
        bad = client.post("/verify", json=_rollout_request(broken)).json()
        after = client.post("/verify", json=_rollout_request(
            finished, final_state={"refunded": True})).json()
    assert done["reward_components"]["outcome"] == 1.0
    assert undone["reward_components"]["outcome"] == 0.0
    assert done[TURN_REWARDS_KEY][-1] > undone[TURN_REWARDS_KEY][-1]
    # a malformed rollout: masked, named, the failure reward on each of its three turns
    assert bad["mask_sample"] is True and bad["failure_kind"] == "verifier_error"
    assert "call_9" in bad["failure_reason"]
    assert "malformed trajectory" in bad["failure_reason"]
    assert bad["reward"] == 0.0 and bad[TURN_REWARDS_KEY] == [0.0, 0.0, 0.0]
    assert after == done  # one bad rollout costs nothing to the next


def test_verify_single_step_answers_keep_their_bytes(tmp_path: Path) -> None:
    """A response with one model step is read as before and answered with exactly the keys
    (and bytes) it had: the request echoed, ``reward`` and ``reward_components``."""
    one_message = _rollout_request([
        {"type": "reasoning", "id": "rs_1", "summary": []}, _message("yes")])
    # max_steps reached after one call: one step, its call and the agent's output item
    one_call = _rollout_request([_call("call_1", "lookup_order", {"order_id": "NW-100200"}),
                                 _output("call_1", '{"status": "delivered"}')])
    with running(make_scorer(tmp_path, TOY_PACK)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        first = client.post("/verify", json=one_message)
        second = client.post("/verify", json=one_call)
    assert first.content == orjson.dumps({
        **one_message, "reward": 0.5,
        "reward_components": {"nonempty": 1.0, "yes": 1.0, "o": 0.0}})
    # no text in the one step: the gate fails, as before the trajectory reading existed
    assert second.content == orjson.dumps({
        **one_call, "reward": -1.0,
        "reward_components": {"nonempty": 0.0, "yes": 0.0, "o": 0.0}})


def test_verify_rejects_a_non_object_output_item_by_name(tmp_path: Path) -> None:
    request = _rollout_request([*ROLLOUT[:3], "not an item", *ROLLOUT[3:]])
    with running(make_scorer(tmp_path, AGENT_PACK)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        answer = client.post("/verify", json=request)
    assert answer.status_code == 422
    assert answer.json() == {"error": "output item must be an object, got str",
                             "where": "body.response.output[3]"}
