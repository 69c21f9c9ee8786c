"""Backoff, circuit breaker and the per-loop semaphore; and a throttling burst absorbed
end to end (a real boto3 client against the Converse simulator)."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.plugins.backends._resilience import (
    CircuitBreaker,
    LoopLocalSemaphore,
    full_jitter_delay,
)


def test_full_jitter_stays_under_the_growing_cap() -> None:
    rng = random.Random(7)
    for attempt in range(8):
        cap = min(5.0, 0.1 * 2 ** attempt)
        delays = [full_jitter_delay(attempt, 0.1, 5.0, rng) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # spread over the whole range, not a fixed delay
        assert min(delays) < cap * 0.2


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_cycle() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown_s=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    breaker.before_call()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(ComponentError) as info:
        breaker.before_call()
    assert info.value.kind == "circuit_open"
    clock.now = 10.0
    assert breaker.state == "half_open"
    breaker.before_call()  # the probe
    with pytest.raises(ComponentError):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()  # the probe failed: open again for a full cool-down
    assert breaker.state == "open"
    clock.now = 20.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()


async def test_semaphore_is_made_inside_each_loop() -> None:
    limiter = LoopLocalSemaphore(2)
    here = limiter.get()
    assert limiter.get() is here

    def other_loop() -> asyncio.Semaphore:
        async def grab() -> asyncio.Semaphore:
            semaphore = limiter.get()
            async with semaphore:
                return semaphore

        return asyncio.run(grab())

    there = await asyncio.to_thread(other_loop)
    assert there is not here


def test_breaker_ignores_throttling() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown_s=10, clock=FakeClock())
    for _ in range(50):
        breaker.before_call()
        breaker.record_throttle()
    assert breaker.state == "closed" and breaker.times_opened == 0
    breaker.before_call()
    breaker.record_failure()
    breaker.before_call()
    breaker.record_throttle()  # neither resets nor adds to the failure count
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open" and breaker.times_opened == 1


async def test_a_throttling_burst_is_absorbed_within_the_deadline(
    converse_simulator: Any, tmp_path: Path,
) -> None:
    """Issue 9, case F3: every call throttled for 3 s, then normal service; 64 samples and
    a 60 s deadline. Default retry settings (botocore's own retries included): every sample
    is judged, and the circuit breaker never opens."""
    judge = {"backend": "bedrock", "model": "openai.gpt-oss-120b-1:0", "region": "us-east-1",
             "endpoint_url": converse_simulator.endpoint_url}
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in judge.items())
    path = tmp_path / "burst.toml"
    path.write_text(f"""
[pack]
name = "throttle-burst"
version = "1.0.0"

[judge]
{table}

[[components]]
id = "review"
type = "rubric-judge"
criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
""", encoding="utf-8")
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    samples = [{"id": f"s{i}", "messages": [
        {"role": "user", "content": f"Question {i}?"},
        {"role": "assistant", "content": f"Thank you for asking, here is answer {i}. [[PASS]]"},
    ]} for i in range(64)]
    converse_simulator.outage("throttle", 3.0)
    try:
        batch = await scorer.ascore(samples, timeout_s=60.0)
        backend = scorer.pack.backends.get(judge).inner
    finally:
        await scorer.aclose()

    served = converse_simulator.faults_served()
    assert served["throttle"] >= 64  # every first call was throttled
    assert served["ok"] == 64
    assert not batch.deadline_hit
    for result in batch.results:
        review = result.components["review"]
        assert result.status == "ok", result.error
        assert review.error is None and review.value == 1.0
    assert batch.telemetry.judge_failures == 0 and not batch.telemetry.failures
    assert batch.telemetry.judge_retries["judge_throttled"] > 0
    breaker = backend.resilience.breaker
    assert breaker.times_opened == 0 and breaker.state == "closed"


class _CeilingRng(random.Random):
    """A seeded RNG that records each backoff's ceiling (the upper bound it draws under)."""

    def __init__(self) -> None:
        super().__init__(7)
        self.ceilings: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        self.ceilings.append(b)
        return super().uniform(a, b)


def _resilience(rng: random.Random) -> Any:
    from rewardsmith.plugins.backends._resilience import ConfigErrorReporter, Resilience
    from rewardsmith.plugins.backends.bedrock import BedrockConfig

    config = BedrockConfig(model="m", endpoint_url="http://127.0.0.1:9", max_concurrency=4,
                           retry_base_delay_s=0.001, retry_max_delay_s=1.0)
    return Resilience(config, on_config_error=ConfigErrorReporter("bedrock", "m"), rng=rng)


async def test_backoff_grows_with_throttles_in_a_row_not_with_one_calls_bad_luck() -> None:
    """Issue 13: under sparse throttling (other calls succeed between one call's throttled
    attempts) that call's backoff stays at the first ceiling; when every answer is a
    throttle (a saturated service) it doubles per attempt as before."""
    from rewardsmith.core.errors import ErrorKind
    from rewardsmith.plugins.backends._resilience import CallFailed, CallStats

    async def ok() -> str:
        return "ok"

    def unlucky(throttles: int, others_succeed: bool, resilience: Any) -> Any:
        left = [throttles]

        async def attempt() -> str:
            if others_succeed:  # another call of the backend answers meanwhile
                assert await resilience.run(ok, CallStats()) == "ok"
            if left[0]:
                left[0] -= 1
                raise CallFailed(ErrorKind.JUDGE_THROTTLED, "ThrottlingException: slow down",
                                 code="ThrottlingException")
            return "judged"

        return attempt

    sparse_rng = _CeilingRng()
    sparse = _resilience(sparse_rng)
    stats = CallStats()
    assert await sparse.run(unlucky(4, True, sparse), stats) == "judged"
    assert stats.attempts == 5
    assert sparse_rng.ceilings == [0.001] * 4

    saturated_rng = _CeilingRng()
    saturated = _resilience(saturated_rng)
    stats = CallStats()
    assert await saturated.run(unlucky(4, False, saturated), stats) == "judged"
    assert saturated_rng.ceilings == [0.001, 0.002, 0.004, 0.008]
    assert saturated.throttle_run == 0  # the success ended the run
