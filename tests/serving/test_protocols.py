"""Each protocol of ``rewardsmith serve``, driven by a real HTTP client (httpx) against a real
uvicorn server on a loopback port, with the peers' exact request and answer shapes.

Shapes are taken from the peers' sources:

* OpenRLHF 0.11.0 ``openrlhf/utils/agent.py`` (``SingleTurnAgentExecutor._fetch_rewards_via_http``
  posts ``{"query", "prompts", "labels"}``, one sample per request; ``query`` is the decoded
  prompt + response with special tokens) and ``openrlhf/cli/serve_rm.py`` (the answer
  ``{"rewards", "scores", "extra_logs"}``); older ``openrlhf/utils/remote_rm_utils.py``
  posts ``{"query"}`` alone.
* slime ``slime/rollout/rm_hub/__init__.py`` (``remote_rm`` posts ``{"prompt", "response",
  "label"}`` and keeps the JSON answer as the reward) and ``slime/utils/types.py``
  (``get_reward_value``: the answer itself or ``answer[args.reward_key]``).
* NVIDIA-NeMo/Gym ``nemo_gym/base_resources_server.py`` (``BaseVerifyRequest``:
  ``responses_create_params`` + ``response``; ``BaseVerifyResponse``: the request plus
  ``reward``, ``mask_sample``, ``failure_kind``, ``failure_reason``;
  ``BaseMultiRewardVerifyResponse``: ``reward_components``) and ``nemo_gym/failure_kinds.py``.
* The reward Lambda: ``POST /v1/score`` answers what ``rewardsmith.aws_lambda`` answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.support.serving import (
    REFERENCE_PACK,
    TOY_PACK,
    chat,
    make_scorer,
    running,
)

from rewardsmith import Scorer, load_pack
from rewardsmith.aws_lambda import make_handler
from rewardsmith.serving.app import ServeConfig

ROOT = Path(__file__).resolve().parents[2]
TOY_KEYS = ["nonempty", "yes", "o", "sample_failed", "gated", "judge_unavailable"]


def _chatml(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def test_openrlhf_get_reward_exact_shape(tmp_path: Path) -> None:
    """OpenRLHF 0.11.0 posts one sample per request; the answer has one entry per query."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    prompt = _chatml("Say yes.")
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        answer = client.post("/get_reward", json={
            "query": [prompt + "yes<|im_end|>"], "prompts": [prompt], "labels": ["yes"]})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body == {
            "rewards": [0.5],
            "scores": [0.75],  # the reward mapped from [-1, 1] onto [0, 1]
            "extra_logs": {"nonempty": [1.0], "yes": [1.0], "o": [0.0],
                           "sample_failed": [0.0], "gated": [0.0],
                           "judge_unavailable": [0.0]},
        }

        # A batch in one request (OpenRLHF shards across servers this way), every kind.
        responses = ["yes", "no", "   ", "yo yes<|endoftext|>"]
        body = client.post("/get_reward", json={
            "query": [prompt + r for r in responses], "prompts": [prompt] * 4,
            "labels": [None] * 4}).json()
        assert body["rewards"] == [0.5, -0.5, -1.0, 1.0]
        assert body["scores"] == [0.75, 0.25, 0.0, 1.0]
        assert list(body["extra_logs"]) == TOY_KEYS
        assert body["extra_logs"]["gated"] == [0.0, 0.0, 1.0, 0.0]
        # a component skipped after the gate is logged as 0.0, never dropped
        assert body["extra_logs"]["yes"] == [1.0, 0.0, 0.0, 1.0]
        assert all(len(v) == 4 for v in body["extra_logs"].values())


def test_openrlhf_query_only_is_split_after_the_assistant_header(tmp_path: Path) -> None:
    """Older ``openrlhf/utils/remote_rm_utils.py`` posts ``{"query": [...]}`` alone, the
    chat-templated prompt + response (tester report: the whole query, template tokens
    included, was scored as the response). The response starts after the last assistant
    header; a query with none fails alone, never scored whole."""
    llama3 = ("<|start_header_id|>user<|end_header_id|>\n\nSay yes.<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n")
    multi_turn = _chatml("Say yes.") + "no<|im_end|>\n" + _chatml("Again.")
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        queries = [_chatml("Say yes.") + "no<|im_end|>", llama3 + "yo yes<|eot_id|>",
                   multi_turn + "yes<|im_end|>", "Say yes. no"]
        alone = client.post("/get_reward", json={"query": queries}).json()
        # scored whole, the prompt's "Say yes." would have passed the "yes" check
        assert alone["rewards"] == [-0.5, 1.0, 0.5, -1.0]
        assert alone["extra_logs"]["yes"] == [0.0, 1.0, 1.0, 0.0]
        assert alone["extra_logs"]["sample_failed"] == [0.0, 0.0, 0.0, 1.0]
        # the same rewards as when OpenRLHF 0.11 sends the prompts
        prompts = [_chatml("Say yes."), llama3, multi_turn]
        with_prompts = client.post("/get_reward", json={
            "query": queries[:3], "prompts": prompts}).json()
        assert with_prompts["rewards"] == alone["rewards"][:3]
        # the refused item is named, and the failure is in the metrics too
        metrics = client.get("/metrics").text
        assert 'rewardsmith_serve_samples_total{status="failed"} 1.0' in metrics


def test_openrlhf_bad_items_fail_alone(tmp_path: Path) -> None:
    """An item that is not a string, or a query that does not start with its prompt,
    fails by itself."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        body = client.post("/get_reward", json={
            "query": ["P: yes", 7, "Q: yes"], "prompts": ["P: ", "P: ", "P: "]}).json()
        assert body["rewards"] == [0.5, -1.0, -1.0]  # failure reward for the two bad items
        assert body["extra_logs"]["sample_failed"] == [0.0, 1.0, 1.0]


def test_openrlhf_labels_reach_the_reference(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, REFERENCE_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        body = client.post("/get_reward", json={
            "query": ["Q? 42", "Q? 41"], "prompts": ["Q? ", "Q? "],
            "labels": ["42", "42"]}).json()
        assert body["rewards"] == [1.0, 0.0]


@pytest.mark.parametrize("route", ["/slime", "/miles"])
def test_slime_single_sample_object_and_number(tmp_path: Path, route: str) -> None:
    """slime ``remote_rm`` posts one ``{"prompt", "response", "label"}``; with
    ``--reward-key reward`` it reads ``answer["reward"]``, without it the answer itself."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        payload = {"prompt": "Say yes.", "response": "yes", "label": "yes"}
        answer = client.post(route, json=payload)
        assert answer.status_code == 200
        assert answer.json() == {"nonempty": 1.0, "yes": 1.0, "o": 0.0, "sample_failed": 0.0,
                                 "gated": 0.0, "judge_unavailable": 0.0, "reward": 0.5}
        assert client.post(f"{route}?reply=number", json=payload).json() == 0.5

        # the prompt as chat messages (multi-turn samples)
        messages = [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Say yes."}]
        answer = client.post(f"{route}?reply=number",
                             json={"prompt": messages, "response": "yo yes", "label": None})
        assert answer.json() == 1.0


def _agent_scorer() -> Scorer:
    return Scorer(load_pack(str(ROOT / "examples/agents/support-agent-checks.toml")))


def test_slime_carries_tools_metadata_and_final_state(tmp_path: Path) -> None:
    """Tester report: a support-agent sample posted to /slime scored ``calls`` 0.333 and
    0.933 overall against 1.0 via /v1/score, its ``tools`` (top level or in ``metadata``,
    where slime's ``Sample`` keeps task fields) and top-level ``final_state`` dropped."""
    sample = json.loads((ROOT / "examples/rollouts/support-agent.jsonl").open().readline())
    messages = sample["messages"]
    slime = {"prompt": messages[:-1], "response": messages[-1]["content"],
             "label": sample["reference_answer"]}
    with running(_agent_scorer()) as live, httpx.Client(base_url=live.url) as client:
        lambda_row = client.post("/v1/score", json=[sample]).json()[0]
        assert lambda_row["aggregate_reward_score"] == 1.0
        for carried in ({"tools": sample["tools"], "final_state": sample["final_state"]},
                        {"metadata": {"tools": sample["tools"],
                                      "final_state": sample["final_state"]}}):
            answer = client.post("/slime", json={**slime, **carried}).json()
            assert answer["calls"] == 1.0
            assert answer["outcome"] == 1.0
            assert answer["reward"] == 1.0
        answer = client.post("/slime", json={**slime, "tools": {"name": "x"}})
        assert answer.status_code == 422
        assert answer.json()["where"] == "body.tools"
        answer = client.post("/slime", json={**slime, "metadata": {"tools": "x"}})
        assert answer.json()["where"] == "body.metadata.tools"


def _nemo_gym_request(text: str, **task: object) -> dict[str, object]:
    return {
        "responses_create_params": {
            "instructions": "Be brief.",
            "input": [{"role": "user", "content": "Say yes."},
                      {"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "Please."}]}],
            "tools": [],
        },
        "response": {
            "id": "resp_1", "object": "response", "created_at": 1.0, "model": "policy",
            "parallel_tool_calls": False, "tool_choice": "auto", "tools": [],
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [
                    {"type": "summary_text", "text": "no thinking aloud counted"}]},
                {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": text, "annotations": []}]},
            ],
        },
        **task,
    }


def test_nemo_gym_verify_echoes_the_request_with_reward(tmp_path: Path) -> None:
    """``BaseVerifyResponse``: the request echoed, plus ``reward`` and ``reward_components``."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        request = _nemo_gym_request("yes", expected_answer="yes", _ng_rollout_id="r-1")
        answer = client.post("/verify", json=request)
        assert answer.status_code == 200
        body = answer.json()
        assert body == {**request, "reward": 0.5,
                        "reward_components": {"nonempty": 1.0, "yes": 1.0, "o": 0.0}}
        # reasoning output items are not part of the judged answer: "no" is not in "yes"
        assert client.post("/verify", json=_nemo_gym_request("")).json()["reward"] == -1.0


def test_nemo_gym_reference_key_and_failed_sample_is_masked(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, REFERENCE_PACK)
    config = ServeConfig(reference_key="expected_answer")
    with running(scorer, config) as live, httpx.Client(base_url=live.url) as client:
        body = client.post("/verify", json=_nemo_gym_request(
            "42", expected_answer="42")).json()
        assert body["reward"] == 1.0 and "mask_sample" not in body

    # A response over the pack's max_response_chars cannot be scored: masked, not a zero.
    limited = TOY_PACK.replace('failure_reward = -1.0', 'failure_reward = -1.0\n'
                               'max_response_chars = 10')
    with running(make_scorer(tmp_path, limited, "toy.toml")) as live, httpx.Client(
            base_url=live.url) as client:
        body = client.post("/verify", json=_nemo_gym_request("yes " * 20)).json()
        assert body["reward"] == -1.0
        assert body["mask_sample"] is True
        assert body["failure_kind"] == "verifier_error"
        assert body["failure_reason"].startswith("oversized_response: ")
        assert client.post("/verify", json=_nemo_gym_request("yes")).json()["reward"] == 0.5


def test_v1_score_answers_what_the_lambda_answers(tmp_path: Path) -> None:
    """The server is a local stand-in for the reward Lambda: same event shapes, same rows."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    samples = [chat("Say yes.", r, f"s{i}") for i, r in enumerate(["yes", "no", " ", "yo yes"])]
    samples.append({"id": "broken", "messages": "not a list"})
    handler = make_handler(make_scorer(tmp_path, TOY_PACK, "again.toml"))
    expected = handler(samples, None)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        for event in (samples, {"samples": samples}, {"body": samples}):
            answer = client.post("/v1/score", json=event)
            assert answer.status_code == 200
            assert answer.json() == expected
        assert [row["aggregate_reward_score"] for row in expected] == [0.5, -0.5, -1.0, 1.0,
                                                                      -1.0]
        assert [row["id"] for row in expected] == ["s0", "s1", "s2", "s3", "broken"]

        # Where the Lambda answers [] to OpenRLHF's payload, the server says why (422).
        answer = client.post("/v1/score", json={"query": ["x"], "prompts": ["p"]})
        assert answer.status_code == 422
        assert "no samples" in answer.json()["error"]
        assert client.post("/v1/score", json=[]).json() == []


def test_v1_score_reads_nan_and_infinity_as_the_lambda_runtime_does(tmp_path: Path) -> None:
    """Tester report: ``"reference_answer": NaN`` got 400 "body is not valid JSON" while the
    Lambda's Python runtime (``json.loads``) and ``rewardsmith score`` accept it."""
    scorer = make_scorer(tmp_path, REFERENCE_PACK)
    raw = ('[{"id": "n", "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant",'
           ' "content": "42"}], "reference_answer": NaN},'
           ' {"id": "i", "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant",'
           ' "content": "Infinity"}], "reference_answer": Infinity},'
           ' {"id": "ok", "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant",'
           ' "content": "42"}], "reference_answer": "42"}]')
    handler = make_handler(make_scorer(tmp_path, REFERENCE_PACK, "again.toml"))
    expected = handler(json.loads(raw), None)  # what the Lambda runtime hands the handler
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        answer = client.post("/v1/score", content=raw.encode(),
                             headers={"content-type": "application/json"})
        assert answer.status_code == 200
        assert answer.json() == expected
        assert [row["id"] for row in expected] == ["n", "i", "ok"]
        assert expected[2]["aggregate_reward_score"] == 1.0


def test_v1_score_echoes_ids_beyond_64_bits_and_duplicate_ids(tmp_path: Path) -> None:
    """orjson would read 2**64 + 1 as a float (and cannot write it): the id comes back
    digit for digit; a repeated id is scored and echoed, each row with its own."""
    big = 18446744073709551617
    scorer = make_scorer(tmp_path, TOY_PACK)
    samples = [chat("Say yes.", "yes", big), chat("Say yes.", "no", -big),
               chat("Say yes.", "yes", "dup"), chat("Say yes.", "no", "dup")]
    body = json.dumps(samples).encode()
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        answer = client.post("/v1/score", content=body,
                             headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert b"18446744073709551617" in answer.content and b"e+19" not in answer.content
    rows = json.loads(answer.content)
    assert [row["id"] for row in rows] == [big, -big, "dup", "dup"]
    assert [row["aggregate_reward_score"] for row in rows] == [0.5, -0.5, 0.5, -0.5]
