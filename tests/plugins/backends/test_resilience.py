"""Backoff, circuit breaker and the per-loop semaphore, without a network."""

from __future__ import annotations

import asyncio
import random

import pytest

from rewardsmith.core.errors import ComponentError
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
