"""Issue 10, kind F: a judge server that echoes the API key in its error text. The key must
reach no sink: the CLI log, the results JSONL, the HTML report, a ``make_handler``
Lambda's stdout. Also kind D for the OpenAI judge (``api_key_env`` + ``base_url``), kind E
for its reply cap, and the ``judge_config_error`` line (no server text, hence no candidate
text). Real CLI, real httpx, a real loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs
from tests.support.judged_pack import write_judged_pack
from tests.support.sinks import Sink, loopback_sink

from rewardsmith import make_plugin_host
from rewardsmith.aws_lambda.runtime import make_handler
from rewardsmith.cli import build_cli
from rewardsmith.core.errors import ComponentError, PackError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.pack import load_pack
from rewardsmith.plugins.backends.openai import OpenAIBackend, OpenAIConfig

KEY = "k-echoed-0123456789abcdef"  # no well-known key shape: only its variable marks it
FAST = {"max_retries": 0, "retry_base_delay_s": 0.005, "retry_max_delay_s": 0.01,
        "timeout_s": 5.0, "response_format": "prompt"}


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    for name in ("REWARDSMITH_ALLOWED_HOSTS", "AWS_LAMBDA_FUNCTION_NAME", "REWARDSMITH_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUDGE_KEY_FOR_TEST", KEY)
    monkeypatch.setenv("REWARDSMITH_ALLOWED_ENV", "JUDGE_KEY_FOR_TEST")
    with loopback_sink() as served:
        yield served


def write_pack(folder: Path, base_url: str, api_key_env: str = "JUDGE_KEY_FOR_TEST") -> Path:
    judge = {"backend": "openai", "model": "judge", "base_url": base_url,
             "api_key_env": api_key_env, **FAST, "allow_failures": True}
    return write_judged_pack(folder, judge, review_weight=None)


def sample(i: int) -> dict[str, Any]:
    return {"id": f"s{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": f"CANDIDATE-TEXT-{i} happy to help."}]}


# -- D: the judge's destination and key variable are the operator's -------------------------------
def test_a_pack_cannot_send_aws_credentials_to_its_base_url(tmp_path, sink, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value-1234567890")
    with pytest.raises(PackError, match="'AWS_SECRET_ACCESS_KEY' is never a pack's to read"):
        load_pack(write_pack(tmp_path, sink.url + "/v1", "AWS_SECRET_ACCESS_KEY"))
    with pytest.raises(PackError, match=r"host '169\.254\.169\.254' is always refused"):
        load_pack(write_pack(tmp_path, "http://169.254.169.254/v1"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reward-SageMaker-fn")
    with pytest.raises(PackError, match="not allowed by REWARDSMITH_ALLOWED_HOSTS"):
        load_pack(write_pack(tmp_path, sink.url + "/v1"))
    assert sink.requests == []


# -- F: the echoed key reaches no sink ---------------------------------------------------------
def test_the_echoed_key_reaches_no_cli_sink(tmp_path, sink):
    pack = write_pack(tmp_path, sink.url + "/v1")
    rollouts = tmp_path / "rollouts.jsonl"
    rollouts.write_bytes(b"".join(orjson.dumps(sample(i)) + b"\n" for i in range(3)))
    out, report = tmp_path / "results.jsonl", tmp_path / "report.html"
    host = make_plugin_host()
    result = CliRunner().invoke(
        build_cli(host), ["--log-json", "--log-level", "debug", "score", str(rollouts),
                          "--pack", str(pack), "-o", str(out), "--report", str(report),
                          "--allow-judge-failures"], obj={"host": host})
    assert result.exit_code == 0, result.output
    # The server did receive the key (it was granted) and echoed it.
    assert sink.requests and sink.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    errors = [o["error"] for r in rows for o in r["components"].values() if "error" in o]
    assert errors and all("Incorrect API key provided: [REDACTED]" in e for e in errors)
    for text in (out.read_text(), report.read_text(), result.output):
        assert KEY not in text
    assert "Incorrect API key provided" in report.read_text()  # the error is shown, redacted


def test_the_echoed_key_and_candidate_text_stay_out_of_lambda_stdout(tmp_path, sink, capfd):
    handler = make_handler(str(write_pack(tmp_path, sink.url + "/v1")))
    with capture_logs() as logs:
        rows = handler([sample(0), sample(1)], None)
    assert [r["id"] for r in rows] == ["s0", "s1"]
    captured = capfd.readouterr()
    assert KEY not in captured.out + captured.err
    assert "CANDIDATE-TEXT" not in captured.out + captured.err
    config_errors = [e for e in logs if e["event"] == "judge_config_error"]
    assert config_errors and all("message" not in e for e in config_errors)
    assert KEY not in str(logs) and "CANDIDATE-TEXT" not in str(logs)


async def test_the_backend_error_is_redacted_at_its_source(sink):
    config = OpenAIConfig.model_validate({"backend": "openai", "model": "judge",
                                          "base_url": sink.url + "/v1",
                                          "api_key_env": "JUDGE_KEY_FOR_TEST", **FAST})
    backend = OpenAIBackend(config)
    try:
        with pytest.raises(ComponentError) as info:
            await backend.complete(JudgeRequest("s", "u"))
    finally:
        await backend.aclose()
    assert info.value.kind == "judge_config"
    assert "[REDACTED]" in str(info.value) and KEY not in str(info.value)


# -- E: the judge's reply is capped --------------------------------------------------------------
async def test_a_300_mb_judge_reply_is_not_read_whole(sink):
    config = OpenAIConfig.model_validate({"backend": "openai", "model": "judge",
                                          "base_url": sink.url + "/v1/huge",
                                          "api_key_env": "JUDGE_KEY_FOR_TEST", **FAST})
    backend = OpenAIBackend(config)
    try:
        with pytest.raises(ComponentError) as info:
            await backend.complete(JudgeRequest("s", "u"))
    finally:
        await backend.aclose()
    assert info.value.kind == "judge_unavailable"
    assert "byte cap" in str(info.value)
