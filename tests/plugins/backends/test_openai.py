"""The openai backend (httpx) against the OpenAI chat-completions simulator."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from structlog.testing import capture_logs
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.telemetry import BatchTelemetry
from rewardsmith.plugins.backends.openai import OpenAIBackend, OpenAIConfig
from rewardsmith.simulators import OpenAISimulator
from rewardsmith.simulators.wiring import openai_settings

PASS_REQUEST = JudgeRequest("You grade.", "Candidate: [[PASS]]", VERDICT_SCHEMA)


def make(sim: OpenAISimulator, **overrides: Any) -> OpenAIBackend:
    return OpenAIBackend(OpenAIConfig.model_validate(openai_settings(sim.base_url, **overrides)))


async def test_json_schema_request_and_verdict(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    backend = make(openai_simulator, temperature=0.1, extra_body={"reasoning_effort": "low"})
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed == {"passed": True, "reason": "simulated reason"}
    [received] = openai_simulator.requests
    assert received.path == "/v1/chat/completions"
    assert received.headers["Authorization"] == "Bearer sk-simulator-dummy"
    assert received.body == {
        "model": "sim-judge",
        "messages": [{"role": "system", "content": "You grade."},
                     {"role": "user", "content": "Candidate: [[PASS]]"}],
        "max_tokens": 1024,
        "temperature": 0.1,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "verdict", "schema": VERDICT_SCHEMA, "strict": True}},
        "reasoning_effort": "low",
    }
    assert telemetry.judge_calls == 1 and telemetry.input_tokens == reply.input_tokens > 0
    await backend.aclose()


async def test_think_section_with_decoy_is_skipped(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.configure(reasoning=True)
    for mode in ("json_schema", "prompt"):
        backend = make(openai_simulator, response_format=mode)
        reply = await backend.complete(JudgeRequest("s", "[[FAIL]]", VERDICT_SCHEMA))
        assert reply.parsed == {"passed": False, "reason": "simulated reason"}
        assert "<think>" in reply.text
        await backend.aclose()
    prompted = openai_simulator.requests[-1].body
    assert "response_format" not in prompted
    assert "<verdict_schema>" in prompted["messages"][0]["content"]


async def test_throttling_honours_retry_after(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.configure(retry_after_s=0.01)
    openai_simulator.script("throttle", "server_error", "ok")
    backend = make(openai_simulator)
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True
    assert reply.extra["attempts"] == 3
    assert [r.fault for r in openai_simulator.requests] == ["throttle", "server_error", "ok"]
    await backend.aclose()


async def test_retry_after_beyond_the_deadline_gives_up_at_once_naming_it(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    # A 429 asking for 120 s with 3 s of batch left: one request, not a retry every backoff
    # cap (the simulator settings cap backoff at 20 ms: 120+ requests before this fix).
    openai_simulator.configure(retry_after_s=120.0, throttle_rate=1.0)
    telemetry.deadline = time.monotonic() + 3.0
    backend = make(openai_simulator)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_throttled"
    assert "the service asked to retry after 120s and the batch deadline leaves" in \
        str(info.value)
    assert openai_simulator.request_count == 1
    await backend.aclose()


async def test_retry_after_beyond_the_throttle_budget_gives_up_at_once(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    openai_simulator.configure(retry_after_s=45.0, throttle_rate=1.0)
    backend = make(openai_simulator, max_throttle_wait_s=30.0)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert "retry after 45s, beyond max_throttle_wait_s 30" in str(info.value)
    assert openai_simulator.request_count == 1
    await backend.aclose()


async def test_auth_error_is_config_and_key_never_logged(
    openai_simulator: OpenAISimulator,
) -> None:
    openai_simulator.script("access_denied", "access_denied")
    backend = make(openai_simulator)
    with capture_logs() as logs:
        for _ in range(2):
            with pytest.raises(ComponentError) as info:
                await backend.complete(PASS_REQUEST)
            assert info.value.kind == "judge_config"
    assert openai_simulator.request_count == 2
    assert len([e for e in logs if e["event"] == "judge_config_error"]) == 1
    assert "sk-simulator-dummy" not in repr(logs) + str(info.value)
    await backend.aclose()


async def test_malformed_then_repaired_or_judge_parse(openai_simulator: OpenAISimulator) -> None:
    backend = make(openai_simulator)
    openai_simulator.script("malformed", "ok")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.extra["repaired"] is True and reply.parsed["passed"] is True
    repair_turns = openai_simulator.requests[1].body["messages"]
    assert [m["role"] for m in repair_turns] == ["system", "user", "assistant", "user"]
    openai_simulator.script("malformed", "malformed")
    with pytest.raises(ComponentError) as info:
        await backend.complete(JudgeRequest("s", "another", VERDICT_SCHEMA))
    assert info.value.kind == "judge_parse"
    await backend.aclose()


async def test_refusal_is_judge_refused(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.script("refuse")
    backend = make(openai_simulator)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_refused"
    await backend.aclose()


async def test_unreachable_server_is_unavailable() -> None:
    backend = OpenAIBackend(OpenAIConfig.model_validate(
        openai_settings("http://127.0.0.1:9/v1", max_retries=1)))
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_unavailable"
    await backend.aclose()


async def test_missing_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    backend = OpenAIBackend(OpenAIConfig(model="m", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    assert "pip install 'rewardsmith[openai]'" in str(info.value)


async def test_auto_steps_down_to_json_object_with_the_schema(
    openai_simulator: OpenAISimulator,
) -> None:
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}))
    backend = make(openai_simulator, response_format="auto")
    with capture_logs() as logs:
        first = await backend.complete(PASS_REQUEST)
        second = await backend.complete(JudgeRequest("s", "[[FAIL]]", VERDICT_SCHEMA))
    assert first.parsed["passed"] is True and second.parsed["passed"] is False
    assert first.extra["mode"] == "json_object" and backend.structured_mode() == "json_object"
    formats = [r.body["response_format"]["type"] for r in openai_simulator.requests]
    assert formats == ["json_schema", "json_object", "json_object"]  # rejected once
    stepped = openai_simulator.requests[1].body
    assert stepped["response_format"]["schema"] == VERDICT_SCHEMA
    assert "<verdict_schema>" in stepped["messages"][0]["content"]
    assert [e["event"] for e in logs] == ["judge_structured_output_fallback"]
    await backend.aclose()


async def test_auto_falls_back_to_prompted_json(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema", "json_object"}))
    backend = make(openai_simulator, response_format="auto")
    first = await backend.complete(PASS_REQUEST)
    second = await backend.complete(JudgeRequest("s", "[[FAIL]]", VERDICT_SCHEMA))
    assert first.parsed["passed"] is True and second.parsed["passed"] is False
    assert first.extra["mode"] == "prompt" and backend.structured_mode() == "prompt"
    formats = [(r.body.get("response_format") or {}).get("type")
               for r in openai_simulator.requests]
    assert formats == ["json_schema", "json_object", None, None]
    await backend.aclose()


async def test_the_mode_is_remembered_per_endpoint(openai_simulator: OpenAISimulator) -> None:
    """A second backend (another pack, other settings) on the same server and model starts
    from the mode the first found; another model on it starts from json_schema."""
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}))
    first = make(openai_simulator, response_format="auto")
    await first.complete(PASS_REQUEST)
    same = make(openai_simulator, response_format="auto", temperature=0.5)
    other = make(openai_simulator, response_format="auto", model="other-model")
    assert same.structured_mode() == "json_object"
    assert other.structured_mode() == "json_schema"
    for backend in (first, same, other):
        await backend.aclose()


# What real servers answer to a json_schema they cannot take: llama-cpp-python's server
# (pydantic through FastAPI's error handler, HTTP 500; issue 14) and a FastAPI validation
# error (HTTP 422).
LLAMA_CPP_PYTHON_500 = ("1 validation error for CreateChatCompletionRequest\n"
                        "response_format.type\n  Input should be 'text' or 'json_object' "
                        "[type=literal_error, input_value='json_schema', input_type=str]")
FASTAPI_422 = ("body.response_format.type: Input should be 'text' or 'json_object'")


@pytest.mark.parametrize(("status", "message"), [(500, LLAMA_CPP_PYTHON_500),
                                                 (422, FASTAPI_422)])
async def test_a_server_rejecting_json_schema_is_stepped_down_in_one_call(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry, status: int, message: str,
) -> None:
    """Must show (issue 14): one call steps down, the rejection is neither retried nor
    counted by the breaker, and the run's notices name the server's message."""
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}),
                               mode_rejection=(status, message))
    backend = make(openai_simulator, response_format="auto", circuit_failure_threshold=1)
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True and reply.extra["mode"] == "json_object"
    assert reply.extra["attempts"] == 2  # the rejected one and the answered one, no retry
    assert openai_simulator.request_count == 2
    assert backend.resilience.breaker.state == "closed"
    assert backend.resilience.breaker.times_opened == 0
    assert telemetry.judge_retries == {} and telemetry.judge_failures == 0
    notices = telemetry.summary()["judge_notices"]
    # the model has no price: said once too (plugins/backends/_pricing.py)
    assert set(notices) == {"openai:mode:json_schema", "price:sim-judge"}
    notice = notices["openai:mode:json_schema"]
    assert f"HTTP {status}" in notice and "Input should be 'text' or 'json_object'" in notice
    assert "using 'json_object'" in notice
    await backend.aclose()


@pytest.mark.parametrize(("status", "message"), [(500, LLAMA_CPP_PYTHON_500),
                                                 (422, FASTAPI_422)])
async def test_an_explicit_rejected_mode_is_permanent_never_retried_nor_opening_the_breaker(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry, status: int, message: str,
) -> None:
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}),
                               mode_rejection=(status, message))
    backend = make(openai_simulator, response_format="json_schema", max_retries=4,
                   circuit_failure_threshold=2)
    for index in range(5):
        with pytest.raises(ComponentError) as info:
            await backend.complete(JudgeRequest("s", f"[[PASS]] {index}", VERDICT_SCHEMA))
        assert info.value.kind == "judge_config"  # never circuit_open
        assert "Input should be 'text' or 'json_object'" in str(info.value)
    assert openai_simulator.request_count == 5  # one request a call: no retries
    assert backend.resilience.breaker.times_opened == 0
    assert telemetry.judge_retries == {}
    [notice] = telemetry.judge_notices.values()
    assert f"HTTP {status}" in notice and "rejects response_format 'json_schema'" in notice
    await backend.aclose()


async def test_a_500_that_does_not_name_the_format_stays_transient(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    openai_simulator.script("model_error", "ok")
    backend = make(openai_simulator, response_format="auto")
    reply = await backend.complete(PASS_REQUEST)
    assert reply.extra == {**reply.extra, "mode": "json_schema", "attempts": 2}
    assert telemetry.judge_retries == {"judge_unavailable": 1}
    await backend.aclose()


async def test_mode_repairs_attempts_and_queueing_reach_telemetry(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    openai_simulator.script("malformed", "ok", "server_error", "ok")
    backend = make(openai_simulator)
    repaired = await backend.complete(PASS_REQUEST)
    retried = await backend.complete(JudgeRequest("s", "[[FAIL]] again", VERDICT_SCHEMA))
    assert repaired.extra["repairs"] == 1 and repaired.extra["attempts"] == 2
    assert retried.extra["repairs"] == 0 and retried.extra["attempts"] == 2
    summary = telemetry.summary()
    assert summary["judge_modes"] == {"json_schema": 2}
    assert summary["judge_repairs"] == 1 and summary["judge_attempts"] == 4
    assert summary["judge_queue_p50_ms"] is not None and summary["judge_queue_p50_ms"] >= 0
    await backend.aclose()


async def test_explicit_json_schema_rejection_is_a_config_error(
    openai_simulator: OpenAISimulator,
) -> None:
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}))
    backend = make(openai_simulator, response_format="json_schema")
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert info.value.kind == "judge_config"
    await backend.aclose()


async def test_missing_api_key_is_named(
    openai_simulator: OpenAISimulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    openai_simulator.script("access_denied")
    backend = make(openai_simulator)
    with pytest.raises(ComponentError) as info:
        await backend.complete(PASS_REQUEST)
    assert "OPENAI_API_KEY is not set" in str(info.value)
    assert "Authorization" not in openai_simulator.requests[0].headers
    await backend.aclose()


async def test_concurrency_limit_across_client_shards(openai_simulator: OpenAISimulator) -> None:
    openai_simulator.configure(latency_s=0.05)
    backend = make(openai_simulator, max_concurrency=20)
    import asyncio

    requests = [JudgeRequest("s", f"candidate {i} [[PASS]]", VERDICT_SCHEMA) for i in range(60)]
    replies = await asyncio.gather(*(backend.complete(r) for r in requests))
    assert all(r.parsed["passed"] is True for r in replies)
    assert openai_simulator.request_count == 60
    assert openai_simulator.max_in_flight <= 20
    assert len(backend._clients[id(asyncio.get_running_loop())][1]) == 3  # 20 / 8 -> 3 pools
    await backend.aclose()


def test_attempt_limits_grow_with_measured_speed_and_after_timeouts(
    openai_simulator: OpenAISimulator,
) -> None:
    backend = make(openai_simulator, timeout_s=60.0, max_tokens=512)
    resilience = backend.resilience
    assert resilience.attempt_timeout_s(0) == 60.0  # nothing measured yet
    resilience.observe_speed(8, 1.0)  # too short a reply to say anything about speed
    assert resilience.tokens_per_s is None
    resilience.observe_speed(70, 10.0)  # a CPU judge: 7 tokens/s
    assert resilience.attempt_timeout_s(0) == pytest.approx(1.5 * 512 / 7)
    assert resilience.attempt_timeout_s(2) == pytest.approx(4 * 1.5 * 512 / 7)
    fixed = make(openai_simulator, timeout_s=60.0, adaptive_timeout=False).resilience
    fixed.observe_speed(70, 10.0)
    assert fixed.attempt_timeout_s(2) == 60.0


async def test_a_slow_judge_is_retried_with_a_longer_limit_not_the_same_one(
    openai_simulator: OpenAISimulator, telemetry: BatchTelemetry,
) -> None:
    openai_simulator.configure(latency_s=1.2)
    backend = make(openai_simulator, timeout_s=0.5, max_retries=2)  # limits 0.5, 1, 2 s
    reply = await backend.complete(PASS_REQUEST)
    assert reply.parsed["passed"] is True and reply.extra["attempts"] == 3
    assert telemetry.judge_retries == {"judge_timeout": 2}
    await backend.aclose()
    blind = make(openai_simulator, timeout_s=0.5, max_retries=2, adaptive_timeout=False)
    with pytest.raises(ComponentError) as info:
        await blind.complete(JudgeRequest("s", "[[PASS]] again", VERDICT_SCHEMA))
    assert info.value.kind == "judge_timeout" and "within 0.5s" in str(info.value)
    await blind.aclose()
