"""A real-server-shaped rejection of ``json_schema`` through ``score`` and ``packs test``
(issue 14, must show): llama-cpp-python's server answers it with HTTP 500 and a pydantic
message, a FastAPI server with 422. The default ``auto`` mode steps down in one call and the
run goes on; an explicit ``json_schema`` fails every call at once, without retries and
without the circuit breaker, and the summary names the server's message once. Real httpx
against the loopback OpenAI simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from tests.support.judged_pack import write_judged_pack

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_CHECKS_FAILED, EXIT_JUDGE_UNAVAILABLE, EXIT_OK, build_cli
from rewardsmith.simulators import OpenAISimulator

MESSAGE = "Input should be 'text' or 'json_object'"
REJECTIONS = {
    500: ("1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  "
          f"{MESSAGE} [type=literal_error, input_value='json_schema', input_type=str]"),
    422: f"body.response_format.type: {MESSAGE}",
}
FAST = {"max_retries": 3, "retry_base_delay_s": 0.005, "retry_max_delay_s": 0.01,
        "circuit_failure_threshold": 2, "circuit_cooldown_s": 0.05}


def write_pack(tmp_path: Path, base_url: str, **judge: Any) -> Path:
    # priced, so the only judge notice is the step-down's (an unpriced model has its own)
    settings = {"backend": "openai", "model": "judge", "base_url": base_url, **FAST,
                "price_per_1k_input": 0.0001, "price_per_1k_output": 0.0004, **judge}
    path = write_judged_pack(tmp_path, settings, tail='\n[tests]\nsuite = "cases.jsonl"\n')
    case = {"kind": "golden", "name": "polite", "expect": {"reward_above": 0.0},
            "sample": {"messages": [{"role": "user", "content": "Help?"},
                                    {"role": "assistant", "content": "Gladly, here you go."}]}}
    (tmp_path / "cases.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")
    return path


def write_rollouts(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "rollouts.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "prompt_id": f"p{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": f"Of course, happy to help with request {i}."},
    ]}) + b"\n" for i in range(count)))
    return path


def cli(*args: str) -> Any:
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), list(args), obj={"host": host})


@pytest.fixture(params=sorted(REJECTIONS))
def rejecting(request: pytest.FixtureRequest, openai_simulator: OpenAISimulator
              ) -> tuple[OpenAISimulator, int]:
    status = request.param
    openai_simulator.configure(unsupported_modes=frozenset({"json_schema"}),
                               mode_rejection=(status, REJECTIONS[status]))
    return openai_simulator, status


def test_score_in_auto_mode_steps_down_once_and_names_the_message(
    tmp_path: Path, rejecting: tuple[OpenAISimulator, int],
) -> None:
    sim, status = rejecting
    pack = write_pack(tmp_path, sim.base_url)
    out = tmp_path / "scored.jsonl"
    result = cli("score", str(write_rollouts(tmp_path, 6)), "--pack", str(pack), "-o",
                 str(out), "--report", str(tmp_path / "report.html"))
    assert result.exit_code == EXIT_OK, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("judge: ")]
    assert len(notices) == 1, result.stderr
    assert f"HTTP {status}" in notices[0] and MESSAGE in notices[0]
    assert "using 'json_object'" in notices[0]
    formats = [r.body["response_format"]["type"] for r in sim.requests]
    assert formats.count("json_schema") == 1 and formats.count("json_object") == 6
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    review = rows[0]["components"]["review"]["measurements"]
    assert review["judge_mode"] == "json_object" and review["judge_repairs"] == 0
    assert all(r["components"]["review"]["measurements"]["judge_attempts"] >= 1 for r in rows)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Judge notices" in html and "json_object" in html


def test_score_with_an_explicit_rejected_mode_stops_naming_the_message_not_the_breaker(
    tmp_path: Path, rejecting: tuple[OpenAISimulator, int],
) -> None:
    sim, status = rejecting
    pack = write_pack(tmp_path, sim.base_url, response_format="json_schema")
    result = cli("score", str(write_rollouts(tmp_path, 6)), "--pack", str(pack), "-o",
                 str(tmp_path / "scored.jsonl"))
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "circuit" not in result.stderr
    assert sim.request_count == 6  # one request per sample: a rejection is never retried
    # said once (beside the backend's one log line), as the cause of the stop
    said = [line for line in result.stderr.splitlines()
            if MESSAGE in line and "judge_config_error" not in line]
    assert len(said) == 1, result.stderr
    assert said[0].startswith("error: judge component 'review' could not run (judge_config)")
    assert f"HTTP {status}" in said[0]


def test_packs_test_with_a_rejected_mode_fails_naming_the_message(
    tmp_path: Path, rejecting: tuple[OpenAISimulator, int],
) -> None:
    sim, status = rejecting
    pack = write_pack(tmp_path, sim.base_url, response_format="json_schema")
    result = cli("packs", "test", str(pack))
    assert result.exit_code == EXIT_CHECKS_FAILED, result.output
    assert "circuit_open" not in result.output
    said = [line for line in result.output.splitlines()
            if MESSAGE in line and "judge_config_error" not in line]
    assert len(said) == 1, result.output  # once, as the cause
    assert said[0].startswith("error: judge component 'review' judged no case (judge_config")
    auto = write_pack(tmp_path, sim.base_url)
    stepped = cli("packs", "test", str(auto), "--json")
    assert stepped.exit_code == EXIT_OK, stepped.output
    # (the step-down's log line may share the captured stream: the report is the object)
    report = json.loads(stepped.stdout[stepped.stdout.index("{\n"):])
    [notice] = report["judge_notices"].values()
    assert f"HTTP {status}" in notice and MESSAGE in notice
