"""``rewardsmith serve`` as a process: started as an operator starts it, driven by httpx,
stopped with SIGTERM: uvicorn 0.54 (``uvicorn/server.py``, ``capture_signals``) shuts down
gracefully, then raises the captured signal again, so the process ends by SIGTERM as a
supervisor expects, after the shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.serving import free_port

from rewardsmith import Scorer, load_pack

SUITE = Path(__file__).parents[2] / "src/rewardsmith/rubric_packs/tests/json-extraction.jsonl"


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rewardsmith.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    give_up = time.monotonic() + 120  # a hang guard, not an assertion about speed
    while True:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < give_up, "the server did not come up"
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


def test_serve_scores_like_the_scorer_and_stops_on_sigterm() -> None:
    samples = [case["sample"] for line in SUITE.read_text().splitlines()
               if line.strip() and "sample" in (case := json.loads(line))][:12]
    expected = Scorer(load_pack("json-extraction")).score(samples).rewards
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token = "cli-test-token"
    process = _serve("json-extraction", "--port", str(port), "--max-inflight", "4",
                     env={"REWARDSMITH_SERVE_TOKEN": token})
    try:
        _wait_healthy(url, process)
        headers = {"Authorization": f"Bearer {token}"}
        rows = httpx.post(url + "/v1/score", json=samples, headers=headers, timeout=60).json()
        assert [row["aggregate_reward_score"] for row in rows] == expected
        assert httpx.post(url + "/v1/score", json=samples).status_code == 401
        health = httpx.get(url + "/healthz").json()
        assert health["pack"]["name"] == "json-extraction" and health["max_inflight"] == 4
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert "serving json-extraction 1.0.0" in stderr and "auth: bearer token" in stderr
    assert token not in stderr


@pytest.mark.parametrize(("args", "env", "message"), [
    (["no-such-pack"], {}, "no-such-pack"),
    (["json-extraction", "--failure-reward", "nan"], {}, "finite"),
    (["json-extraction"], {"REWARDSMITH_FAILURE_REWARD": "low"}, "REWARDSMITH_FAILURE_REWARD"),
])
def test_serve_refuses_to_start_with_a_clear_error(args: list[str], env: dict[str, str],
                                                   message: str) -> None:
    process = _serve(*args, "--port", str(free_port()), env=env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert stderr.startswith("error: ") and message in stderr


def _aws_env(**given: str) -> dict[str, str]:
    """This process's environment without any AWS configuration, plus ``given``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/nonexistent/aws-config",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
               AWS_EC2_METADATA_DISABLED="true", **given)
    return env


@pytest.mark.parametrize(("env", "cause"), [
    (_aws_env(), "no AWS region"),
    (_aws_env(AWS_DEFAULT_REGION="us-east-1"), "no AWS credentials found"),
])
def test_serve_refuses_a_judge_that_cannot_be_set_up(env: dict[str, str], cause: str) -> None:
    """Tester report: ``serve contract-review`` without a region answered /healthz "ok" and
    only turned "degraded" after a batch scored by the checks alone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "serve", "contract-review", "--port",
         str(free_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert stderr.startswith("error: judge configuration: review: bedrock judge")
    assert cause in stderr and "--allow-judge-failures" in stderr


def test_serve_with_allowed_judge_failures_is_degraded_from_the_start() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "serve", "contract-review", "--port",
         str(port), "--allow-judge-failures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_aws_env())
    try:
        _wait_healthy(url, process)
        health = httpx.get(url + "/healthz").json()
        assert health["status"] == "degraded"
        outage = health["judge_outages"]["review"]
        assert outage["kind"] == "judge_config" and outage["batches"] == 0
        assert "no AWS region" in outage["cause"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert "warning: serving without working judges" in stderr
    assert "Traceback" not in stderr


def test_serve_starts_with_a_judge_that_can_be_set_up() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _aws_env(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                   AWS_SECRET_ACCESS_KEY="dummy-secret")
    process = subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "serve", "contract-review", "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_healthy(url, process)
        assert httpx.get(url + "/healthz").json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert "dummy-secret" not in stderr and "Traceback" not in stderr
