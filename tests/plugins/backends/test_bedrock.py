"""The bedrock backend with a real boto3 client against the Converse simulator."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from structlog.testing import capture_logs
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.backend_pool import BackendPool
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.telemetry import BatchTelemetry
from rewardsmith.plugins.backends._verdict import PREVIOUS_REPLY_PLACEHOLDER
from rewardsmith.plugins.backends.bedrock import BedrockBackend, BedrockConfig
from rewardsmith.simulators import ConverseSimulator
from rewardsmith.simulators.wiring import bedrock_settings

PASS_REQUEST = JudgeRequest("You are a strict grader.", "Response: fine [[PASS]]", VERDICT_SCHEMA)
FAIL_REQUEST = JudgeRequest("You are a strict grader.", "Response: bad [[FAIL]]", VERDICT_SCHEMA)


def make(sim: ConverseSimulator, **overrides: Any) -> BedrockBackend:
    return BedrockBackend(BedrockConfig.model_validate(bedrock_settings(sim.endpoint_url,
                                                                        **overrides)))


async def test_verdicts_follow_the_candidate_text(converse_simulator: ConverseSimulator) -> None:
    backend = make(converse_simulator)
    passed = await backend.complete(PASS_REQUEST)
    failed = await backend.complete(FAIL_REQUEST)
    assert passed.parsed["passed"] is True
    assert failed.parsed["passed"] is False
    assert passed.stop_reason == "tool_use"  # gpt-oss starts with forced tool use
    assert passed.input_tokens > 0 and passed.output_tokens > 0
    await backend.aclose()


async def test_client_is_created_lazily(host: Any, converse_simulator: ConverseSimulator) -> None:
    pool = BackendPool(host)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    assert backend.inner._client is None and not backend.inner._http_decided
    assert converse_simulator.request_count == 0
    await backend.complete(PASS_REQUEST)
    # the asyncio transport signs with botocore's session: no boto3 client is ever made
    assert backend.inner._http is not None and backend.inner._client is None
    await pool.aclose()


async def test_boto3_transport_makes_its_client_lazily(
    host: Any, converse_simulator: ConverseSimulator,
) -> None:
    pool = BackendPool(host)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url, transport="boto3"))
    assert backend.inner._client is None
    await backend.complete(PASS_REQUEST)
    assert backend.inner._client is not None and backend.inner._http is None
    await pool.aclose()


async def test_throttling_is_retried_by_botocore_then_succeeds(
    converse_simulator: ConverseSimulator,
) -> None:
    # botocore's retries act only in boto3's transport (the http one has none of its own)
    backend = make(converse_simulator, boto_max_attempts=3, max_retries=0, transport="boto3")
    converse_simulator.script("throttle", "ok")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert [r.fault for r in converse_simulator.requests] == ["throttle", "ok"]
    assert reply.extra["attempts"] == 1  # botocore retried inside one framework attempt
    await backend.aclose()


async def test_throttling_outlasting_botocore_is_retried_with_backoff(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=4)
    converse_simulator.script("throttle", "throttle", "throttle", "ok")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert converse_simulator.request_count == 4
    assert reply.extra["attempts"] == 4
    assert telemetry.judge_calls == 1 and telemetry.judge_failures == 0
    assert telemetry.judge_retries == {"judge_throttled": 3}


async def test_throttling_does_not_use_up_max_retries(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=1)
    converse_simulator.script("throttle", "throttle", "throttle", "server_error", "ok")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert reply.extra["attempts"] == 5  # three throttles and one 5xx (max_retries=1)
    assert telemetry.judge_retries == {"judge_throttled": 3, "judge_unavailable": 1}
    assert telemetry.judge_failures == 0


async def test_throttling_past_max_throttle_wait_is_judge_throttled(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=0, max_throttle_wait_s=0.1)
    converse_simulator.outage("throttle", 60)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_throttled"
    assert "max_throttle_wait_s is 0.1" in str(info.value)
    assert converse_simulator.request_count >= 2  # retried although max_retries is 0
    # one failed call, counted once, as a call: no sample was scored here (issue 14)
    assert telemetry.judge_failures == 1
    assert telemetry.judge_call_failures == {"judge_throttled": 1} and not telemetry.failures
    assert backend.resilience.breaker.state == "closed"
    assert backend.resilience.breaker.times_opened == 0


async def test_throttle_backoff_stops_at_the_batch_deadline(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    # Slow backoff (up to 1 s a sleep) and a deadline 0.3 s away: sleeps are clipped to
    # half of what is left, and the call gives up once the deadline leaves no time.
    backend = make(converse_simulator, retry_base_delay_s=1.0, retry_max_delay_s=1.0,
                   max_throttle_wait_s=600)
    converse_simulator.outage("throttle", 60)
    telemetry.deadline = time.monotonic() + 0.3
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_throttled"
    assert "deadline leaves no time" in str(info.value)


async def test_model_timeout_is_retried_by_the_framework(
    converse_simulator: ConverseSimulator,
) -> None:
    # botocore may retry up to 3 times, but does not retry ModelTimeoutException: the
    # second request can only come from the framework's own retry.
    backend = make(converse_simulator, boto_max_attempts=3, max_retries=2)
    converse_simulator.script("model_timeout", "model_error", "ok")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert [r.fault for r in converse_simulator.requests] == ["model_timeout", "model_error", "ok"]
    assert reply.extra["attempts"] == 3


async def test_validation_error_is_not_retried_and_logged_once(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, boto_max_attempts=3, max_retries=4)
    converse_simulator.script("validation", "validation", "validation")
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(ComponentError) as info:
                await backend.complete(PASS_REQUEST)
            assert info.value.kind == "judge_config"
            assert "ValidationException" in str(info.value)
    assert converse_simulator.request_count == 3  # one attempt per call
    config_events = [e for e in logs if e["event"] == "judge_config_error"]
    assert len(config_events) == 1
    assert config_events[0]["code"] == "ValidationException"
    assert config_events[0]["log_level"] == "error"
    assert telemetry.judge_failures == 3
    assert telemetry.judge_call_failures == {"judge_config": 3} and not telemetry.failures


@pytest.mark.parametrize("fault", ["access_denied", "not_found"])
async def test_access_and_missing_model_are_config_errors(
    converse_simulator: ConverseSimulator, fault: str,
) -> None:
    backend = make(converse_simulator, boto_max_attempts=3)
    converse_simulator.script(fault)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    assert converse_simulator.request_count == 1


@pytest.mark.parametrize("mode", ["tool", "output_config", "prompt"])
async def test_malformed_verdict_is_repaired_once(
    converse_simulator: ConverseSimulator, mode: str,
) -> None:
    backend = make(converse_simulator, structured_output=mode)
    converse_simulator.script("malformed", "ok")
    reply = await backend.complete(FAIL_REQUEST)
    assert reply.parsed == {"passed": False, "reason": "simulated reason"}
    assert reply.extra["repaired"] is True
    first, second = converse_simulator.requests
    assert len(first.body["messages"]) == 1
    roles = [m["role"] for m in second.body["messages"]]
    assert roles == ["user", "assistant", "user"]
    placeholder = second.body["messages"][1]["content"][0]["text"]
    repair = second.body["messages"][2]["content"][0]["text"]
    assert placeholder == PREVIOUS_REPLY_PLACEHOLDER  # what it wrote comes back as data only
    assert "could not be used" in repair and "<verdict_schema>" in repair
    assert ":previous_reply>>>" in repair and ":validation_error>>>" in repair


async def test_malformed_twice_is_judge_parse(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, structured_output="prompt")
    converse_simulator.script("malformed", "malformed", "ok")
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_parse"
    assert converse_simulator.request_count == 2  # exactly one repair
    assert telemetry.judge_failures == 1
    assert telemetry.judge_call_failures == {"judge_parse": 1} and not telemetry.failures


@pytest.mark.parametrize("mode", ["tool", "output_config", "prompt"])
async def test_reasoning_block_before_the_answer_is_skipped(
    converse_simulator: ConverseSimulator, mode: str,
) -> None:
    converse_simulator.configure(reasoning=True)
    backend = make(converse_simulator, structured_output=mode)
    reply = await backend.complete(PASS_REQUEST)
    content = converse_simulator.requests[0]
    assert content.fault == "ok"
    assert reply.parsed == {"passed": True, "reason": "simulated reason"}
    assert "decoy" not in reply.text


async def test_tool_mode_request_body(converse_simulator: ConverseSimulator) -> None:
    backend = make(
        converse_simulator, structured_output="tool", temperature=0.2, max_tokens=300,
        top_p=0.9, stop_sequences=["</end>"],
        additional_model_request_fields={"reasoning_effort": "low"},
    )
    request = JudgeRequest("Grade it.", "Candidate: [[PASS]]", VERDICT_SCHEMA,
                           schema_name="rubric verdict")
    reply = await backend.complete(request)
    assert reply.parsed["passed"] is True
    [received] = converse_simulator.requests
    assert received.model == "openai.gpt-oss-120b-1:0"
    assert received.path == "/model/openai.gpt-oss-120b-1%3A0/converse"
    assert received.body == {
        "messages": [{"role": "user", "content": [{"text": "Candidate: [[PASS]]"}]}],
        "system": [{"text": "Grade it."}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9,
                            "stopSequences": ["</end>"]},
        "additionalModelRequestFields": {"reasoning_effort": "low"},
        "toolConfig": {
            "tools": [{"toolSpec": {
                "name": "rubric_verdict",
                "description": "Record your verdict. Call this exactly once.",
                "inputSchema": {"json": VERDICT_SCHEMA},
            }}],
            "toolChoice": {"tool": {"name": "rubric_verdict"}},
        },
    }
    assert received.headers["Authorization"].startswith("AWS4-HMAC-SHA256")


async def test_output_config_mode_request_body(converse_simulator: ConverseSimulator) -> None:
    backend = make(converse_simulator, model="anthropic.claude-haiku-4-5-20251001-v1:0",
                   structured_output="output_config")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    [received] = converse_simulator.requests
    output_config = received.body["outputConfig"]
    structure = output_config["textFormat"]["structure"]["jsonSchema"]
    assert output_config["textFormat"]["type"] == "json_schema"
    assert structure["name"] == "verdict"
    assert isinstance(structure["schema"], str)  # a JSON string, not an object
    assert json.loads(structure["schema"]) == VERDICT_SCHEMA
    assert "toolConfig" not in received.body
    assert reply.cost_usd > 0  # Haiku is in the built-in price table


async def test_auto_steps_down_and_remembers_the_mode(
    converse_simulator: ConverseSimulator,
) -> None:
    converse_simulator.configure(unsupported_modes=frozenset({"output_config"}))
    backend = make(converse_simulator, model="vendor.some-model-v1:0")
    assert backend.structured_mode() == "output_config"
    with capture_logs() as logs:
        first = await backend.complete(PASS_REQUEST)
        second = await backend.complete(FAIL_REQUEST)
    assert first.parsed["passed"] is True and second.parsed["passed"] is False
    bodies = [r.body for r in converse_simulator.requests]
    assert len(bodies) == 3  # rejected output_config, then tool twice
    assert "outputConfig" in bodies[0]
    assert "toolConfig" in bodies[1] and "toolConfig" in bodies[2]
    assert backend.structured_mode() == "tool"
    assert [e["event"] for e in logs].count("judge_structured_output_fallback") == 1
    assert not [e for e in logs if e["event"] == "judge_config_error"]


async def test_auto_falls_back_to_prompted_json(converse_simulator: ConverseSimulator) -> None:
    converse_simulator.configure(unsupported_modes=frozenset({"output_config", "tool"}))
    backend = make(converse_simulator, model="vendor.plain-model-v1:0")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert reply.extra["mode"] == "prompt"
    last = converse_simulator.requests[-1].body
    assert "toolConfig" not in last and "outputConfig" not in last
    assert "<verdict_schema>" in last["system"][0]["text"]


async def test_explicit_unsupported_mode_is_a_config_error(
    converse_simulator: ConverseSimulator,
) -> None:
    converse_simulator.configure(unsupported_modes=frozenset({"tool"}))
    backend = make(converse_simulator, structured_output="tool")
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    assert "structured_output='tool'" in str(info.value)


async def test_refusal_is_judge_refused(converse_simulator: ConverseSimulator) -> None:
    backend = make(converse_simulator)
    converse_simulator.script("refuse")
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_refused"
    assert converse_simulator.request_count == 1


async def test_circuit_opens_after_consecutive_failures_and_recovers(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=0, circuit_failure_threshold=3,
                   circuit_cooldown_s=30)
    now = [1000.0]
    backend.resilience.breaker._clock = lambda: now[0]  # cool-downs without sleeping
    # A deadline too close to wait out a 30 s cool-down: callers fail fast.
    telemetry.deadline = time.monotonic() + 20
    converse_simulator.script("server_error", "server_error", "server_error")
    for _ in range(3):
        with pytest.raises(ComponentError) as info:
            await backend.complete(PASS_REQUEST)
        assert info.value.kind == "judge_unavailable"
    for _ in range(5):
        with pytest.raises(ComponentError) as info:
            await backend.complete(PASS_REQUEST)
        assert info.value.kind == "circuit_open"
        assert "last failure: ServiceUnavailableException" in str(info.value)  # the cause
    assert converse_simulator.request_count == 3  # failing fast: nothing was sent
    assert backend.resilience.breaker.state == "open"
    # the kind as the call failed with it (no invented "judge_circuit_open")
    assert telemetry.judge_call_failures == {"judge_unavailable": 3, "circuit_open": 5}
    assert telemetry.judge_failures == 8 and not telemetry.failures
    now[0] += 30
    assert backend.resilience.breaker.state == "half_open"
    converse_simulator.script("model_error")
    with pytest.raises(ComponentError):
        await backend.complete(PASS_REQUEST)  # the probe fails: open for another cool-down
    assert backend.resilience.breaker.state == "open"
    now[0] += 30
    reply = await backend.complete(PASS_REQUEST)  # this probe succeeds
    assert reply.parsed["passed"] is True
    assert backend.resilience.breaker.state == "closed"
    assert converse_simulator.request_count == 5


async def test_callers_wait_for_the_probe_when_the_deadline_allows(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=0, circuit_failure_threshold=2,
                   circuit_cooldown_s=0.3)
    telemetry.deadline = time.monotonic() + 60
    converse_simulator.script("server_error", "server_error")
    for _ in range(2):
        with pytest.raises(ComponentError):
            await backend.complete(PASS_REQUEST)
    assert backend.resilience.breaker.state == "open"
    # Five callers find the circuit open: one becomes the probe, the others wait for it,
    # and all are answered once it succeeds.
    replies = await asyncio.gather(*(backend.complete(PASS_REQUEST) for _ in range(5)))
    assert all(r.parsed["passed"] is True for r in replies)
    assert converse_simulator.request_count == 7
    assert backend.resilience.breaker.state == "closed"
    assert backend.resilience.breaker.times_opened == 1
    assert "judge_circuit_open" not in telemetry.failures


async def test_waiters_fail_when_the_probe_fails_and_later_callers_fail_fast(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, max_retries=0, circuit_failure_threshold=2,
                   circuit_cooldown_s=0.3)
    breaker = backend.resilience.breaker
    converse_simulator.outage("server_error", 600)  # a dead service (no deadline at all)
    for _ in range(2):
        with pytest.raises(ComponentError):
            await backend.complete(PASS_REQUEST)
    outcomes = await asyncio.gather(*(backend.complete(PASS_REQUEST) for _ in range(4)),
                                    return_exceptions=True)
    kinds = sorted(o.kind for o in outcomes if isinstance(o, ComponentError))
    assert kinds == ["circuit_open"] * 3 + ["judge_unavailable"]  # the probe, and its waiters
    assert converse_simulator.request_count == 3
    assert breaker.confirmed_down and breaker.times_opened == 2
    # The outage is confirmed: a newcomer does not wait out another cool-down (the clock
    # is frozen so the cool-down cannot end under a slow machine).
    frozen = time.monotonic()
    breaker._clock = lambda: frozen
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "circuit_open"
    assert converse_simulator.request_count == 3


async def test_hanging_model_times_out(converse_simulator: ConverseSimulator) -> None:
    converse_simulator.configure(hang_s=30)
    backend = make(converse_simulator, timeout_s=0.3, max_retries=0)
    converse_simulator.script("hang")
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_timeout"
    await backend.aclose()


async def test_endpoint_from_the_aws_environment(
    converse_simulator: ConverseSimulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", converse_simulator.endpoint_url)
    backend = BedrockBackend(BedrockConfig(model="openai.gpt-oss-20b-1:0", boto_max_attempts=1))
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert converse_simulator.requests[0].model == "openai.gpt-oss-20b-1:0"
    await backend.aclose()


async def test_concurrency_limit_is_respected(converse_simulator: ConverseSimulator) -> None:
    converse_simulator.configure(latency_s=0.05)
    backend = make(converse_simulator, max_concurrency=4)
    requests = [JudgeRequest("s", f"candidate {i}", VERDICT_SCHEMA) for i in range(24)]
    replies = await asyncio.gather(*(backend.complete(r) for r in requests))
    assert all(r.parsed is not None for r in replies)
    assert converse_simulator.request_count == 24
    assert converse_simulator.max_in_flight <= 4
    await backend.aclose()


async def test_telemetry_counts_tokens_and_cost(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(converse_simulator, price_per_1k_input=1.0, price_per_1k_output=2.0)
    reply = await backend.complete(PASS_REQUEST)
    assert telemetry.judge_calls == 1
    assert telemetry.input_tokens == reply.input_tokens > 0
    assert telemetry.output_tokens == reply.output_tokens > 0
    expected = reply.input_tokens / 1000 * 1.0 + reply.output_tokens / 1000 * 2.0
    assert reply.cost_usd == pytest.approx(expected)
    assert telemetry.cost_usd == pytest.approx(expected)


async def test_text_reply_without_schema(converse_simulator: ConverseSimulator) -> None:
    backend = make(converse_simulator)
    reply = await backend.complete(JudgeRequest("s", "Say something."))
    assert reply.parsed is None
    assert reply.text == "Simulated judge answer."
    assert "toolConfig" not in converse_simulator.requests[0].body


async def test_invalid_schema_is_a_config_error(converse_simulator: ConverseSimulator) -> None:
    backend = make(converse_simulator)
    with pytest.raises(ComponentError) as info:
        await backend.complete(JudgeRequest("s", "u", {"type": "not-a-type"}))
    assert info.value.kind == "judge_config"
    assert converse_simulator.request_count == 0


def test_read_timeout_budget_is_checked() -> None:
    with pytest.raises(ValueError, match="read_timeout_s"):
        BedrockConfig(model="m", timeout_s=10, read_timeout_s=5, boto_max_attempts=3)
    assert BedrockConfig(model="m", timeout_s=9, boto_max_attempts=3) \
        .effective_read_timeout_s == 3


async def test_old_botocore_without_output_config_degrades_to_tool_use(
    converse_simulator: ConverseSimulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = BedrockBackend._make_client

    def without_output_config(self: BedrockBackend) -> Any:
        client = original(self)
        self._output_config_supported = False  # as with botocore < 1.42.42
        return client

    monkeypatch.setattr(BedrockBackend, "_make_client", without_output_config)
    # only boto3's transport depends on botocore's service model
    backend = make(converse_simulator, model="vendor.some-model-v1:0", transport="boto3")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.extra["mode"] == "tool"
    assert all("outputConfig" not in r.body for r in converse_simulator.requests)
    assert converse_simulator.request_count == 1
    await backend.aclose()


def test_every_error_kind_is_documented() -> None:
    import rewardsmith.core.judging as contract

    for kind in contract.JUDGE_ERROR_KINDS:
        assert f"``{kind}``" in (contract.__doc__ or ""), kind


async def test_context_window_exceeded_is_not_repaired(
    converse_simulator: ConverseSimulator,
) -> None:
    backend = make(converse_simulator)
    original = converse_simulator._answer

    def overflowing(request: Any, body: Any, fault: str) -> Any:
        answer = original(request, body, fault)
        answer["stopReason"] = "model_context_window_exceeded"
        return answer

    converse_simulator._answer = overflowing  # type: ignore[method-assign]
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    assert converse_simulator.request_count == 1


async def test_a_sent_then_cancelled_call_is_a_failed_call_and_frees_its_slot(
    converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    # s5 tester F3: the server received it, so it is a call (and a failure); cancelled
    # outside a batch deadline, it is over its component's timeout_s.
    converse_simulator.configure(latency_s=0.3)
    backend = make(converse_simulator, max_concurrency=1)
    task = asyncio.create_task(backend.complete(PASS_REQUEST))
    while converse_simulator.request_count == 0:
        await asyncio.sleep(0.01)
    waiting = asyncio.create_task(backend.complete(FAIL_REQUEST))  # no slot: never sent
    await asyncio.sleep(0.05)
    task.cancel()
    waiting.cancel()
    for cancelled in (task, waiting):
        with pytest.raises(asyncio.CancelledError):
            await cancelled
    assert telemetry.judge_calls == 1 and telemetry.judge_attempts == 1
    assert telemetry.judge_call_failures == {"timeout": 1}
    converse_simulator.configure(latency_s=0.0)
    reply = await backend.complete(FAIL_REQUEST)  # the only slot was given back
    assert reply.parsed["passed"] is False
    assert telemetry.judge_calls == 2 and telemetry.judge_failures == 1
    assert converse_simulator.request_count == 2
    await backend.aclose()


async def test_invalid_endpoint_is_a_config_error(aws_dummy_env: None) -> None:
    backend = BedrockBackend(BedrockConfig(model="m", endpoint_url="not a url"))
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    assert "Invalid endpoint" in str(info.value)
