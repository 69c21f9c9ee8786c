"""The simulators themselves: wire format, faults, verdict policy, concurrency, shutdown."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.simulators import (
    ConverseSimulator,
    FaultPolicy,
    OpenAISimulator,
    VerdictRequest,
    schema_instance,
)
from rewardsmith.simulators.faults import FaultPlan

BODY = {"modelId": "openai.gpt-oss-120b-1:0",
        "messages": [{"role": "user", "content": [{"text": "hello"}]}]}


def client(sim: ConverseSimulator, **config: Any) -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=sim.endpoint_url,
                        config=Config(retries={"total_max_attempts": 1}, **config))


@pytest.mark.parametrize(("fault", "code", "status"), [
    ("throttle", "ThrottlingException", 429),
    ("server_error", "ServiceUnavailableException", 503),
    ("model_timeout", "ModelTimeoutException", 408),
    ("model_error", "ModelErrorException", 424),
    ("validation", "ValidationException", 400),
    ("access_denied", "AccessDeniedException", 403),
    ("not_found", "ResourceNotFoundException", 404),
])
def test_errors_parse_as_boto3_client_errors(
    converse_simulator: ConverseSimulator, fault: str, code: str, status: int,
) -> None:
    converse_simulator.script(fault)
    with pytest.raises(ClientError) as info:
        client(converse_simulator).converse(**BODY)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_response_shape_with_reasoning(converse_simulator: ConverseSimulator) -> None:
    converse_simulator.configure(reasoning=True)
    response = client(converse_simulator).converse(**BODY)
    content = response["output"]["message"]["content"]
    assert "reasoningContent" in content[0] and content[1]["text"] == "Simulated judge answer."
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert "latencyMs" in response["metrics"]


@pytest.mark.parametrize(("messages", "complaint"), [
    ([{"role": "user", "content": [{"text": "  "}]}], "blank"),
    ([{"role": "assistant", "content": [{"text": "x"}]}], "starting with user"),
    ([{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}],
     "alternate"),
])
def test_invalid_requests_are_rejected_like_bedrock(
    converse_simulator: ConverseSimulator, messages: list[Any], complaint: str,
) -> None:
    with pytest.raises(ClientError) as info:
        client(converse_simulator).converse(modelId="m", messages=messages)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert complaint in info.value.response["Error"]["Message"]


def test_forced_tool_must_exist(converse_simulator: ConverseSimulator) -> None:
    with pytest.raises(ClientError, match="not in tools"):
        client(converse_simulator).converse(**BODY, toolConfig={
            "tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": VERDICT_SCHEMA}}}],
            "toolChoice": {"tool": {"name": "b"}}})


def test_handles_100_concurrent_connections(converse_simulator: ConverseSimulator) -> None:
    # Every answer waits until 100 requests are inside the server at once: this only
    # completes if the server really serves 100 connections concurrently.
    barrier = threading.Barrier(100, timeout=20)

    def policy(request: VerdictRequest) -> str:
        barrier.wait()
        return "ok"

    converse_simulator.set_policy(policy)
    boto = client(converse_simulator, max_pool_connections=100, read_timeout=30)
    with ThreadPoolExecutor(100) as pool:
        responses = list(pool.map(lambda _: boto.converse(**BODY), range(100)))
    assert all(r["output"]["message"]["content"][0]["text"] == "ok" for r in responses)
    assert converse_simulator.max_in_flight == 100


def test_stop_wakes_hanging_answers() -> None:
    sim = ConverseSimulator(faults=FaultPolicy(hang_rate=1.0, hang_s=60)).start()
    boto = boto3.client("bedrock-runtime", endpoint_url=sim.endpoint_url,
                        aws_access_key_id="a", aws_secret_access_key="b",
                        region_name="us-east-1",
                        config=Config(retries={"total_max_attempts": 1}, read_timeout=0.2))
    with pytest.raises(ReadTimeoutError):
        boto.converse(**BODY)
    stopper = threading.Thread(target=sim.stop)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive()  # the 60 s hang did not hold the shutdown


def test_requests_are_recorded_exactly(converse_simulator: ConverseSimulator) -> None:
    client(converse_simulator).converse(**BODY, system=[{"text": "sys"}])
    [received] = converse_simulator.requests
    assert received.method == "POST"
    assert received.body == {"messages": BODY["messages"], "system": [{"text": "sys"}]}
    assert received.fault == "ok"


def test_random_fault_rates_are_seeded() -> None:
    def run() -> dict[str, int]:
        with ConverseSimulator(faults=FaultPolicy(throttle_rate=0.3, seed=5)) as sim:
            boto = boto3.client("bedrock-runtime", endpoint_url=sim.endpoint_url,
                                aws_access_key_id="a", aws_secret_access_key="b",
                                region_name="us-east-1",
                                config=Config(retries={"total_max_attempts": 1}))
            for _ in range(40):
                with contextlib.suppress(ClientError):
                    boto.converse(**BODY)
            return sim.faults_served()

    first, second = run(), run()
    assert first == second
    assert 0 < first["throttle"] < 40


def test_fault_policy_rejects_impossible_rates() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultPolicy(throttle_rate=0.7, server_error_rate=0.5)
    with pytest.raises(ValueError, match="unknown faults"):
        ConverseSimulator().script("explode")


def test_an_outage_serves_its_fault_for_its_length_from_the_first_request() -> None:
    now = [100.0]
    plan = FaultPlan(clock=lambda: now[0])
    plan.script("server_error")
    plan.outage("throttle", 3.0)
    now[0] = 150.0  # time before the first request does not count
    assert plan.draw()[0] == "throttle"
    now[0] = 152.9
    assert plan.draw()[0] == "throttle"
    now[0] = 153.0
    assert plan.draw()[0] == "server_error"  # the script resumes after the outage
    assert plan.draw()[0] == "ok"
    plan.outage("hang", 1.0)
    plan.clear()
    assert plan.draw()[0] == "ok"
    with pytest.raises(ValueError, match="unknown fault"):
        plan.outage("explode", 1.0)
    with pytest.raises(ValueError, match="positive"):
        plan.outage("throttle", 0)


def test_default_verdict_markers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "criteria": {"type": "object", "properties": {
                "grounded": {"type": "object", "properties": {
                    "verdict": {"enum": ["pass", "fail"]}, "why": {"type": "string"}}},
                "actionable": {"type": "object", "properties": {
                    "verdict": {"enum": ["pass", "fail"]}}},
            }},
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "winner": {"enum": ["A", "B", "tie"]},
        },
    }
    verdict = schema_instance(schema, "[[PASS]] [[FAIL:actionable]] [[CHOOSE:B]]")
    assert verdict["criteria"]["grounded"]["verdict"] == "pass"
    assert verdict["criteria"]["actionable"]["verdict"] == "fail"
    assert verdict["score"] == 5 and verdict["winner"] == "B"
    assert schema_instance(schema, "[[SCORE:2]]")["score"] == 2
    unmarked = schema_instance(schema, "plain text")
    assert unmarked == schema_instance(schema, "plain text")  # deterministic
    assert 1 <= unmarked["score"] <= 5


def test_default_verdict_follows_refs() -> None:
    schema = {"$defs": {"v": {"type": "boolean"}}, "type": "object",
              "properties": {"ok": {"$ref": "#/$defs/v"}}, "required": ["ok"]}
    assert schema_instance(schema, "[[FAIL]]") == {"ok": False}


def test_openai_simulator_wire_format(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.configure(retry_after_s=2)
    openai_simulator.script("throttle")
    url = f"{openai_simulator.base_url}/chat/completions"
    throttled = httpx.post(url, json={"model": "m", "messages": [{"role": "user",
                                                                    "content": "hi"}]})
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "2"
    assert throttled.json()["error"]["code"] == "rate_limit_exceeded"
    ok = httpx.post(url, json={"model": "m", "messages": [{"role": "user", "content": "[[PASS]]"}],
                               "response_format": {"type": "json_schema", "json_schema": {
                                   "name": "v", "schema": VERDICT_SCHEMA}}})
    data = ok.json()
    assert data["choices"][0]["finish_reason"] == "stop"
    content = data["choices"][0]["message"]["content"]
    assert content == '{"passed": true, "reason": "simulated reason"}'
    assert data["usage"]["total_tokens"] > 0


def test_recording_is_bounded_but_counters_are_not(aws_dummy_env: None) -> None:
    with ConverseSimulator(max_recorded=3) as sim:
        sim.script("throttle")
        boto = boto3.client("bedrock-runtime", endpoint_url=sim.endpoint_url,
                            config=Config(retries={"total_max_attempts": 1}))
        for i in range(6):
            with contextlib.suppress(ClientError):
                boto.converse(**{**BODY, "messages": [
                    {"role": "user", "content": [{"text": f"n{i}"}]}]})
        assert sim.request_count == 6
        assert sim.faults_served() == {"throttle": 1, "ok": 5}
        assert [r.body["messages"][0]["content"][0]["text"] for r in sim.requests] == \
            ["n3", "n4", "n5"]
        assert sim.stats()["request_count"] == 6
