"""``rewardsmith score`` when a judge cannot run (issue 9, case F1): the cause is printed
once and the run stops with exit code 4, unless the user accepts rewards without the judge
(``--allow-judge-failures`` or the pack's ``[judge] allow_failures``). Real backends (boto3,
httpx) against a closed localhost port, and against an AWS set-up with no region or no
credentials."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_JUDGE_UNAVAILABLE, EXIT_OK, build_cli

# Retry quickly: the failures here are certain, the test need not wait them out.
FAST = {"max_retries": 1, "retry_base_delay_s": 0.005, "retry_max_delay_s": 0.01,
        "circuit_failure_threshold": 2, "circuit_cooldown_s": 0.05, "timeout_s": 10.0,
        "connect_timeout_s": 2.0}


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration at all: no variables, no profile files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def write_pack(tmp_path: Path, judge: dict[str, Any]) -> Path:
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in judge.items())
    path = tmp_path / "judged.toml"
    path.write_text(f"""
[pack]
name = "judged"
version = "1.0.0"

[judge]
{table}

[[components]]
id = "length"
type = "length"
unit = "words"
max = 50

[[components]]
id = "review"
type = "rubric-judge"
weight = 3
criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
""", encoding="utf-8")
    return path


def write_rollouts(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "rollouts.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": f"Of course, happy to help with request {i}."},
    ]}) + b"\n" for i in range(count)))
    return path


def score(*args: str) -> Any:
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), ["score", *args], obj={"host": host})


def bedrock(endpoint: str | None = None, **settings: Any) -> dict[str, Any]:
    judge = {"backend": "bedrock", "model": "openai.gpt-oss-120b-1:0", "boto_max_attempts": 1,
             **FAST, **settings}
    if endpoint is not None:
        judge["endpoint_url"] = endpoint
    return judge


def openai(port: int, **settings: Any) -> dict[str, Any]:
    return {"backend": "openai", "model": "judge", "base_url": f"http://127.0.0.1:{port}/v1",
            **FAST, **settings}


@pytest.mark.parametrize("backend", ["bedrock", "openai"])
def test_a_judge_refusing_connections_stops_the_run_naming_the_cause(
    backend: str, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASIMULATOR000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simulator-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    judge = (bedrock(f"http://127.0.0.1:{closed_port}", region="us-east-1")
             if backend == "bedrock" else openai(closed_port))
    pack = write_pack(tmp_path, judge)
    rollouts = write_rollouts(tmp_path, 12)
    out = tmp_path / "out.jsonl"
    result = score(str(rollouts), "--pack", str(pack), "-o", str(out), "--batch-size", "6")

    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    cause = ("bedrock endpoint unreachable: Could not connect to the endpoint URL"
             if backend == "bedrock" else "openai endpoint unreachable: ConnectError")
    assert result.stderr.count("judge component 'review' could not run") == 1
    assert result.stderr.count(cause) == 1, result.stderr
    # The connection failure is named even when the breaker had the last word.
    assert "(judge_unavailable)" in result.stderr or "last failure: " in result.stderr
    assert "--allow-judge-failures" in result.stderr
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(rows) == 6  # stopped after the first batch
    assert all(r["components"]["review"]["error_kind"] in ("judge_unavailable", "circuit_open")
               for r in rows)


def test_allowing_judge_failures_scores_with_the_checks_and_shows_the_failure_rate(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    pack = write_pack(tmp_path, openai(closed_port))
    rollouts = write_rollouts(tmp_path, 8)
    out = tmp_path / "out.jsonl"
    report = tmp_path / "report.html"
    result = score(str(rollouts), "--pack", str(pack), "-o", str(out), "--batch-size", "4",
                   "--allow-judge-failures", "--report", str(report))

    assert result.exit_code == EXIT_OK, result.output  # as before: every sample got a reward
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    assert all(r["aggregate_reward_score"] == 1.0 for r in rows)  # the length check alone
    assert result.stderr.count("warning: judge component 'review' could not run") == 1
    table = {line.split()[0]: line.split() for line in result.stderr.splitlines()
             if line.split() and line.split()[0] in ("review", "length")}
    # component, mean, pass, scored, errors, failed, skipped
    assert table["review"][4:6] == ["8", "100%"]
    assert table["length"][4:6] == ["0", "0%"]
    html = report.read_text(encoding="utf-8")
    assert "100%</b> failed" in html and "judge_unavailable" in html


def test_the_pack_can_allow_failures_for_its_judge(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    pack = write_pack(tmp_path, openai(closed_port, allow_failures=True))
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr.count("warning: judge component 'review' could not run") == 1


def test_no_region_stops_the_run_saying_how_to_set_one(
    no_aws: None, tmp_path: Path,
) -> None:
    pack = write_pack(tmp_path, bedrock())
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "could not run (judge_config)" in result.stderr
    assert "NoRegionError" in result.stderr or "region" in result.stderr.lower()
    assert "AWS_DEFAULT_REGION" in result.stderr


def test_no_credentials_stops_the_run_naming_them(
    no_aws: None, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    pack = write_pack(tmp_path, bedrock(f"http://127.0.0.1:{closed_port}"))
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "could not run (judge_config): NoCredentialsError" in result.stderr
    assert result.stderr.count("Unable to locate credentials") <= 2  # the CLI's line, and
    # the backend's one configuration-error log line; never one per sample
