"""Judge replies of the wrong JSON type, at the top level and nested, through every network
backend (openai over httpx; bedrock over asyncio and over boto3), against a hostile local
server (tests/support/hostile_judge.py): each becomes a named judge failure, never an
AttributeError. Also: Retry-After hints that are no numbers of seconds, and a 500 that
mentions a schema without naming the output format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.hostile_judge import HostileServer, hostile_server
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.telemetry import BatchTelemetry
from rewardsmith.plugins.backends.bedrock import BedrockBackend, BedrockConfig
from rewardsmith.plugins.backends.openai import (
    OpenAIBackend,
    OpenAIConfig,
    _retry_after,
    names_the_format,
)
from rewardsmith.simulators.wiring import bedrock_settings, openai_settings

REQUEST = JudgeRequest("You grade.", "Candidate: fine", VERDICT_SCHEMA)
FAST = {"max_retries": 1, "circuit_failure_threshold": 50}


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def openai_backend(server: HostileServer, mode: str, **overrides: Any) -> OpenAIBackend:
    settings = openai_settings(f"{server.url}/{mode}/v1", **{**FAST, **overrides})
    return OpenAIBackend(OpenAIConfig.model_validate(settings))


def bedrock_backend(server: HostileServer, mode: str, transport: str,
                    **overrides: Any) -> BedrockBackend:
    settings = bedrock_settings(f"{server.url}/{mode}", transport=transport,
                                structured_output="prompt", **{**FAST, **overrides})
    return BedrockBackend(BedrockConfig.model_validate(settings))


async def failure(backend: Any) -> ComponentError:
    try:
        with pytest.raises(ComponentError) as caught:
            await backend.complete(REQUEST)
    finally:
        await backend.aclose()
    return caught.value


# A body that is not a JSON object: transient like a body that is not JSON (retried once
# here, max_retries = 1), then judge_unavailable naming the JSON type.
TOP_LEVEL = {"null": "null", "list": "array", "string": "string", "number": "number",
             "true": "boolean"}


@pytest.mark.parametrize("body", sorted(TOP_LEVEL))
async def test_openai_body_of_the_wrong_json_type_is_judge_unavailable(
        server: HostileServer, telemetry: BatchTelemetry, body: str) -> None:
    before = server.calls[f"raw:{body}"]
    error = await failure(openai_backend(server, f"raw:{body}"))
    assert error.kind == ErrorKind.JUDGE_UNAVAILABLE
    assert f"answered with JSON {TOP_LEVEL[body]}, not a response object" in str(error)
    assert "gave up after 2 attempts" in str(error)
    assert server.calls[f"raw:{body}"] - before == 2
    assert error.measurements["judge_attempts"] == 2
    assert error.measurements["judge_mode"] == "json_schema"
    # the backend counts calls; samples are the engine's (core/telemetry.py)
    assert telemetry.judge_call_failures == {"judge_unavailable": 1}
    assert not telemetry.failures


# Parts of a chat completion of the wrong type: judge_parse, naming the part; one call.
OPENAI_NESTED = {
    "choices_str": "choices: string, expected a non-empty array",
    "choices_obj": "choices: object, expected a non-empty array",
    "choices_null_item": "choices[0] is null, expected an object",
    "choices_num_item": "choices[0] is number, expected an object",
    "message_str": "choices[0].message is string, expected an object",
    "message_list": "choices[0].message is array, expected an object",
    "content_num": "choices[0].message.content is number, expected a string",
    "content_obj": "choices[0].message.content is object, expected a string",
}


@pytest.mark.parametrize("body", sorted(OPENAI_NESTED))
async def test_openai_parts_of_the_wrong_json_type_are_judge_parse(
        server: HostileServer, telemetry: BatchTelemetry, body: str) -> None:
    before = server.calls[f"raw:{body}"]
    error = await failure(openai_backend(server, f"raw:{body}"))
    assert error.kind == ErrorKind.JUDGE_PARSE
    assert OPENAI_NESTED[body] in str(error)
    assert server.calls[f"raw:{body}"] - before == 1
    assert error.measurements["judge_attempts"] == 1
    # the backend counts calls; samples are the engine's (core/telemetry.py)
    assert telemetry.judge_call_failures == {"judge_parse": 1}
    assert not telemetry.failures


BEDROCK_NESTED = {
    "output_str": "output is string, expected an object",
    "output_list": "output is array, expected an object",
    "bmessage_str": "output.message is string, expected an object",
    "bcontent_str": "output.message.content is string, expected an array",
}


@pytest.mark.parametrize("body", sorted(TOP_LEVEL))
@pytest.mark.parametrize("transport", ["http", "boto3"])
async def test_bedrock_body_of_the_wrong_json_type_is_judge_unavailable(
        server: HostileServer, telemetry: BatchTelemetry, aws_dummy_env: None,
        transport: str, body: str) -> None:
    error = await failure(bedrock_backend(server, f"raw:{body}", transport))
    assert error.kind == ErrorKind.JUDGE_UNAVAILABLE
    assert ("is not a JSON object" if transport == "http" else
            "not a Converse response (botocore: ") in str(error)
    assert "gave up after 2 attempts" in str(error)
    assert error.measurements["judge_attempts"] == 2
    assert error.measurements["judge_mode"] == "prompt"


@pytest.mark.parametrize("body", sorted(BEDROCK_NESTED))
@pytest.mark.parametrize("transport", ["http", "boto3"])
async def test_bedrock_parts_of_the_wrong_json_type_are_named_failures(
        server: HostileServer, telemetry: BatchTelemetry, aws_dummy_env: None,
        transport: str, body: str) -> None:
    error = await failure(bedrock_backend(server, f"raw:{body}", transport))
    if transport == "http":
        assert error.kind == ErrorKind.JUDGE_PARSE  # read by rewardsmith: the part named
        assert BEDROCK_NESTED[body] in str(error)
        assert error.measurements["judge_attempts"] == 1
    else:
        # botocore parses the body against Converse's shapes first and cannot (it raises
        # AttributeError/TypeError): the endpoint's answer is no Converse response.
        assert error.kind == ErrorKind.JUDGE_UNAVAILABLE
        assert "not a Converse response (botocore: " in str(error)
        assert error.measurements["judge_attempts"] == 2
    assert error.measurements["judge_calls"] == 1


async def test_usage_of_the_wrong_types_counts_no_tokens_and_keeps_the_verdict(
        server: HostileServer, telemetry: BatchTelemetry) -> None:
    from rewardsmith.plugins.backends._base import token_count

    assert [token_count(v) for v in ("lots", -5, None, True, 1.5e300, 12, 7.0, float("nan"))
            ] == [0, 0, 0, 0, int(1.5e300), 12, 7, 0]
    backend = openai_backend(server, "ok")
    reply = await backend.complete(REQUEST)
    await backend.aclose()
    assert reply.parsed["passed"] is True


async def test_an_unclassified_exception_in_a_backend_is_judge_internal_error(
        server: HostileServer, telemetry: BatchTelemetry) -> None:
    backend = openai_backend(server, "ok")

    def broken(request: Any, response: Any) -> Any:
        raise KeyError("surprise")

    backend._read = broken  # type: ignore[method-assign]
    error = await failure(backend)
    assert error.kind == ErrorKind.JUDGE_INTERNAL_ERROR
    assert "KeyError: 'surprise'" in str(error)
    assert isinstance(error.__cause__, KeyError)
    assert error.measurements["judge_attempts"] == 1
    # the backend counts calls; samples are the engine's (core/telemetry.py)
    assert telemetry.judge_call_failures == {"judge_internal_error": 1}
    assert not telemetry.failures


# -- failed calls say what was tried (tester finding 11) -------------------------------------
async def test_a_call_that_gave_up_reports_its_attempts_and_mode(
        server: HostileServer, telemetry: BatchTelemetry) -> None:
    error = await failure(openai_backend(server, "e500", max_retries=4))
    assert "gave up after 5 attempts" in str(error)
    assert error.measurements["judge_attempts"] == 5
    assert error.measurements["judge_mode"] == "json_schema"
    assert error.measurements["judge_repairs"] == 0
    assert telemetry.judge_attempts == 5 and telemetry.judge_modes == {"json_schema": 1}


async def test_a_call_that_failed_after_its_repair_turn_reports_it(
        server: HostileServer, telemetry: BatchTelemetry) -> None:
    error = await failure(openai_backend(server, "wrongschema"))
    assert error.kind == ErrorKind.JUDGE_PARSE
    assert error.measurements["judge_repairs"] == 1
    assert error.measurements["judge_attempts"] == 2
    assert error.measurements["input_tokens"] == 200  # both exchanges' usage
    assert telemetry.judge_repairs == 1


# -- Retry-After that is no delay -------------------------------------------------------------
@pytest.mark.parametrize("hint", ["inf", "-inf", "nan", "-5", "1e400", "Infinity"])
def test_retry_after_that_is_not_a_finite_delay_is_no_hint(hint: str) -> None:
    assert _retry_after({"retry-after": hint}) is None
    assert _retry_after({"retry-after-ms": hint}) is None


def test_retry_after_that_is_a_delay_or_a_date_is_read() -> None:
    assert _retry_after({"retry-after": "3"}) == 3.0
    assert _retry_after({"retry-after-ms": "250"}) == 0.25
    assert _retry_after({"retry-after-ms": "inf", "retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past


@pytest.mark.parametrize("mode", ["t429inf", "t429nan", "t429neg"])
async def test_a_throttle_with_a_bad_hint_backs_off_and_prints_sanely(
        server: HostileServer, telemetry: BatchTelemetry, mode: str) -> None:
    error = await failure(openai_backend(server, mode, max_throttle_wait_s=0.05))
    assert error.kind == ErrorKind.JUDGE_THROTTLED
    text = str(error)
    assert "throttled for" in text and "max_throttle_wait_s is 0.05" in text
    assert "inf" not in text and "nan" not in text and "after -" not in text


# -- a 500 about a schema that is not the output format ---------------------------------------
def test_only_messages_naming_the_output_format_are_mode_rejections() -> None:
    # Real servers' rejections (llama-cpp-python, OpenAI, vLLM, SGLang/FastAPI).
    assert names_the_format("HTTP 500: [{'type': 'literal_error', 'loc': ('body', "
                            "'response_format', 'type'), 'msg': \"Input should be 'text' "
                            "or 'json_object'\"}]")
    assert names_the_format("HTTP 400: Invalid parameter: 'response_format' of type "
                            "'json_schema' is not supported with this model.")
    assert names_the_format("HTTP 400: The provided JSON schema contains features not "
                            "supported by xgrammar.")
    assert names_the_format("HTTP 422: body.response_format.type: Input should be 'text'")
    assert not names_the_format("HTTP 500: database schema error: relation missing")
    assert not names_the_format("HTTP 500: schema migration in progress")
    assert not names_the_format("HTTP 500: model crashed: CUDA OOM")


async def test_a_500_naming_a_database_schema_is_transient_not_a_step_down(
        server: HostileServer, telemetry: BatchTelemetry) -> None:
    before = server.calls["schema500"]
    error = await failure(openai_backend(server, "schema500"))
    assert error.kind == ErrorKind.JUDGE_UNAVAILABLE
    assert "database schema error" in str(error) and "gave up after 2 attempts" in str(error)
    sent = [body for mode, body in server.bodies if mode == "schema500"][before:]
    assert [b["response_format"]["type"] for b in sent] == ["json_schema", "json_schema"]
    assert telemetry.judge_notices == {}
