"""The asyncio Converse transport: SigV4 signatures equal botocore's, both transports give
the same verdicts, chunked and kept-alive responses are read, proxies are respected."""

from __future__ import annotations

import asyncio
import datetime
import os
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.plugins.backends._converse_http import (
    ConverseHttp,
    HttpError,
    SigV4Signer,
    proxy_applies,
)
from rewardsmith.plugins.backends._resilience import CallFailed
from rewardsmith.plugins.backends.bedrock import BedrockBackend, BedrockConfig
from rewardsmith.simulators import ConverseSimulator
from rewardsmith.simulators.wiring import bedrock_settings

REQUEST = JudgeRequest("You are a strict grader.", "Response: fine [[PASS]]", VERDICT_SCHEMA)


def _botocore_authorization(credentials: Credentials, url: str, body: bytes,
                            stamp: str) -> str:
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json",
                                  "X-Amz-Date": stamp})
    auth = SigV4Auth(credentials, "bedrock", "eu-west-1")
    # botocore signs at "now"; sign its canonical form at our instant instead.
    request.context["timestamp"] = stamp
    auth._modify_request_before_signing(request)
    request.headers.replace_header("X-Amz-Date", stamp)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
@pytest.mark.parametrize("model", ["openai.gpt-oss-120b-1:0",
                                   "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/"
                                   "eu.anthropic.claude-3-haiku-20240307-v1:0"])
def test_the_signature_is_botocores(token: str | None, model: str) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    signer = SigV4Signer(credentials, "eu-west-1", "bedrock")
    host = "bedrock-runtime.eu-west-1.amazonaws.com"
    from urllib.parse import quote

    path = f"/model/{quote(model, safe='-_.~')}/converse"
    body = b'{"messages":[{"role":"user","content":[{"text":"hi \\u00e9"}]}]}'
    now = datetime.datetime(2026, 11, 30, 12, 0, 5, tzinfo=datetime.UTC)
    ours = dict(signer.headers(host, path, body, now=now))
    theirs = _botocore_authorization(credentials, f"https://{host}{path}", body,
                                     "20261130T120005Z")
    assert ours["authorization"] == theirs
    assert ours.get("x-amz-security-token") == token


def test_no_credentials_is_a_config_error() -> None:
    with pytest.raises(CallFailed) as caught:
        SigV4Signer(None, "us-east-1", "bedrock").headers("h", "/model/m/converse", b"{}")
    assert caught.value.kind == "judge_config"


@pytest.mark.parametrize("transport", ["http", "boto3"])
async def test_both_transports_give_the_same_verdicts(
    transport: str, converse_simulator: ConverseSimulator,
) -> None:
    backend = BedrockBackend(BedrockConfig.model_validate(
        bedrock_settings(converse_simulator.endpoint_url, transport=transport)))
    try:
        reply = await backend.complete(REQUEST)
        failed = await backend.complete(JudgeRequest("g", "bad [[FAIL]]", VERDICT_SCHEMA))
    finally:
        await backend.aclose()
    assert reply.parsed["passed"] is True and failed.parsed["passed"] is False
    assert (backend._http is not None) == (transport == "http")
    recorded = converse_simulator.requests[0]
    assert recorded.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert recorded.body["toolConfig"]["toolChoice"] == {"tool": {"name": "verdict"}}


async def test_service_errors_are_classified_as_through_boto3(
    converse_simulator: ConverseSimulator,
) -> None:
    backend = BedrockBackend(BedrockConfig.model_validate(bedrock_settings(
        converse_simulator.endpoint_url, max_retries=0, max_throttle_wait_s=0)))
    converse_simulator.script("throttle", "validation")
    try:
        with pytest.raises(ComponentError) as throttled:
            await backend.complete(REQUEST)
        with pytest.raises(ComponentError) as invalid:
            await backend.complete(REQUEST)
    finally:
        await backend.aclose()
    assert throttled.value.kind == "judge_throttled"
    assert "ThrottlingException" in str(throttled.value)
    assert invalid.value.kind == "judge_config"
    assert "ValidationException" in str(invalid.value)


async def _serve(replies: list[bytes]) -> tuple[asyncio.Server, list[int]]:
    """A raw HTTP server answering each request with the next of ``replies`` on one
    connection; it records how many connections it accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while replies:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            writer.write(replies.pop(0))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


async def test_chunked_and_kept_alive_responses_are_read() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"7\r\n{\"a\": 1\r\n1\r\n}\r\n0\r\n\r\n")
    sized = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"b\": 2}"
    error = (b"HTTP/1.1 429 Too Many Requests\r\nx-amzn-ErrorType: ThrottlingException:"
             b"http://internal.amazon.com/coral/com.amazon.bedrock/\r\nContent-Length: 24\r\n"
             b"\r\n{\"message\": \"slow down\"}")
    server, accepted = await _serve([chunked, sized, error])
    port = server.sockets[0].getsockname()[1]
    http = ConverseHttp(f"http://127.0.0.1:{port}",
                        SigV4Signer(Credentials("AK", "SK"), "us-east-1", "bedrock"),
                        connect_timeout_s=5, read_timeout_s=5)
    try:
        assert await http.converse({"modelId": "m", "messages": []}) == {"a": 1}
        assert await http.converse({"modelId": "m", "messages": []}) == {"b": 2}
        with pytest.raises(HttpError) as caught:
            await http.converse({"modelId": "m", "messages": []})
    finally:
        await http.aclose()
        server.close()
    assert (caught.value.status, caught.value.code, caught.value.message) == \
        (429, "ThrottlingException", "slow down")
    assert len(accepted) == 1  # one kept-alive connection served all three


async def test_a_refused_connection_is_unavailable() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    http = ConverseHttp(f"http://127.0.0.1:{port}",
                        SigV4Signer(Credentials("AK", "SK"), "us-east-1", "bedrock"),
                        connect_timeout_s=5, read_timeout_s=5)
    with pytest.raises(CallFailed) as caught:
        await http.converse({"modelId": "m", "messages": []})
    assert caught.value.kind == "judge_unavailable"


def test_a_proxy_sends_the_backend_to_boto3() -> None:
    def proxies() -> dict[str, Any]:
        return {"https": "http://proxy.internal:3128"}

    assert proxy_applies("https://bedrock-runtime.us-east-1.amazonaws.com", proxies)
    assert not proxy_applies("https://bedrock-runtime.us-east-1.amazonaws.com", dict)
    assert not proxy_applies("http://127.0.0.1:8000", proxies)  # only https is proxied


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "no_proxy"])
def test_proxy_variables_in_the_environment_are_read_as_urllib_reads_them(
    monkeypatch: pytest.MonkeyPatch, variable: str,
) -> None:
    """Without any ``*_proxy`` variable the answer is "no proxy" without urllib.request;
    with one, urllib's own reading decides (issue 13's shortcut changes no answer)."""
    import urllib.request

    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    url = "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert not proxy_applies(url)
    monkeypatch.setenv(variable, "http://proxy.internal:3128")
    assert proxy_applies(url) == proxy_applies(url, urllib.request.getproxies) == \
        (variable != "no_proxy")
