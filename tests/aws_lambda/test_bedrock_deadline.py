"""The deadline test again, with the real stack: the built-in ``rubric-judge`` on the
``bedrock`` backend (a real boto3 client) against the loopback Converse simulator, set to
hang. The handler must answer before the Lambda deadline with finite rewards, the judge
abandoned and counted; and when the simulator answers, the same handler scores normally."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import FakeContext, metrics_of, sample, validate_answer

from rewardsmith import make_plugin_host
from rewardsmith.aws_lambda import make_handler

pytest.importorskip("rewardsmith.simulators.converse_sim")
from rewardsmith.simulators.wiring import bedrock_settings


def _judge_pack(tmp_path: Path, endpoint_url: str) -> Path:
    judge = bedrock_settings(endpoint_url, max_concurrency=8, timeout_s=60.0)
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in judge.items())
    path = tmp_path / "judged.toml"
    path.write_text(f"""
[pack]
name = "lambda-judged"
version = "1.0.0"

[judge]
{table}

[[components]]
id = "length"
type = "length"
unit = "chars"
max = 200

[[components]]
id = "review"
type = "rubric-judge"
weight = 3
criteria = [
  {{ id = "polite", pass_if = "The answer is polite." }},
  {{ id = "short", pass_if = "The answer is at most one sentence." }},
]
""", encoding="utf-8")
    return path


@pytest.fixture
def judged_handler(converse_simulator: Any, tmp_path: Path) -> Any:
    pack = _judge_pack(tmp_path, converse_simulator.endpoint_url)
    handler = make_handler(str(pack), host=make_plugin_host, deadline_margin_s=1.0)
    # A warm environment: on a cold start the pack load (about a second here) would come
    # out of this test's deliberately short budget, leaving no time to score at all.
    handler.warm()
    yield handler
    if handler.load_error is None:
        handler.scorer.close()


def test_hanging_bedrock_judge_is_abandoned_before_the_deadline(
    judged_handler: Any, converse_simulator: Any,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    converse_simulator.configure(hang_rate=1.0, hang_s=20.0)
    batch = [sample(f"h{i}", "Thank you, that is fine.") for i in range(6)]
    context = FakeContext(2500)
    out = judged_handler(batch, context)
    assert time.monotonic() < context.deadline, "answered after the Lambda deadline"
    assert judged_handler.load_error is None
    validate_answer(out, [s["id"] for s in batch])
    for result in out:
        metrics = metrics_of(result)
        assert metrics["review.failed"] == 1.0
        assert metrics["deadline_abandoned"] == 1.0
        assert metrics["judge_failed"] == 1.0
        # The judge abstains (default policy): the reward is the length check alone.
        assert result["aggregate_reward_score"] == metrics["length"] == 1.0
    (emf,) = captured_emf()
    assert emf["Failures.deadline"] == 6.0 and emf["DeadlineHit"] == 1.0
    assert converse_simulator.request_count >= 1  # the calls really went out


def test_answering_bedrock_judge_scores_through_the_same_handler(
    judged_handler: Any, converse_simulator: Any,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    converse_simulator.configure(latency_s=0.01)
    batch = [sample(f"ok{i}", "Thank you, that is fine.") for i in range(4)]
    context = FakeContext(20_000)
    out = judged_handler(batch, context)
    assert time.monotonic() < context.deadline
    validate_answer(out, [s["id"] for s in batch])
    rows = [metrics_of(result) for result in out]
    for metrics in rows:
        assert "review" in metrics and "review.failed" not in metrics
        assert metrics["judge_failed"] == 0.0
        assert metrics["judge_input_tokens"] == metrics["review.input_tokens"]
    # The four answers are the same text: one call is sent, its verdict shared by the rest,
    # whose rows spent nothing.
    [sent] = [m for m in rows if m["review.judge_calls"] == 1.0]
    assert sent["judge_latency_ms"] > 0 and sent["judge_input_tokens"] > 0
    assert sent["judge_output_tokens"] > 0
    assert [m["review.deduplicated"] for m in rows if m is not sent] == [1.0] * 3
    assert {m["judge_input_tokens"] for m in rows if m is not sent} == {0.0}
    (emf,) = captured_emf()
    assert emf["JudgeCalls"] == 1 and emf.get("Failures.deadline") is None
    assert emf["InputTokens"] == sum(m["judge_input_tokens"] for m in rows)
    assert "JudgeLatencyP50" in emf


def test_calls_in_flight_at_the_deadline_are_counted_once_in_rows_emf_and_server(
    judged_handler: Any, converse_simulator: Any,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    # s5 tester F3: 1 s per answer, 8 at a time, 24 distinct answers twice each: about two
    # rounds are answered before the deadline, the third is in flight and abandoned.
    converse_simulator.configure(latency_s=1.0)
    batch = [sample(f"d{i}", f"Thank you, that is fine ({i % 24}).") for i in range(48)]
    context = FakeContext(3500)
    out = judged_handler(batch, context)
    assert time.monotonic() < context.deadline, "answered after the Lambda deadline"
    validate_answer(out, [s["id"] for s in batch])
    rows = [metrics_of(result) for result in out]
    (emf,) = captured_emf()

    def summed(name: str) -> float:
        return sum(m.get(f"review.{name}", 0.0) for m in rows)

    abandoned = emf.get("JudgeCallFailures.deadline", 0.0)
    assert abandoned > 0 and emf["JudgeFailures"] == abandoned
    assert summed("judge_calls") == emf["JudgeCalls"]
    assert summed("judge_failed_calls") == emf["JudgeFailures"]
    assert summed("deduplicated") == emf["DeduplicatedJudgeCalls"]
    assert summed("input_tokens") == emf["InputTokens"]
    # a shared answer is counted only on rows that got one
    assert all("review.failed" not in m for m in rows if m.get("review.deduplicated"))
    # every call counted reached the simulator (abandoned ones land in worker threads)
    end = time.monotonic() + 10
    while converse_simulator.request_count < emf["JudgeCalls"] and time.monotonic() < end:
        time.sleep(0.05)
    assert converse_simulator.request_count == emf["JudgeCalls"]
