"""Issue 10, kind A: synchronous component work runs under a per-sample limit on threads
the engine owns. A check that never returns costs only its own sample, never the rest of
the batch and never the next invocation of a warm handler."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import RELEASE_STUCK, FakeContext, metrics_of, sample, validate_answer

from rewardsmith import Scorer, load_pack
from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.plugins import PluginHost

STUCK_PACK = """
[pack]
name = "lambda-stuck"
version = "1.0.0"

[[components]]
id = "match"
type = "t-matches-reference"

[[components]]
id = "loops"
type = "t-never-returns"
{timeout}
"""


@pytest.fixture(autouse=True)
def release_stuck_threads() -> Iterator[None]:
    RELEASE_STUCK.clear()
    yield
    RELEASE_STUCK.set()  # the abandoned threads return and retire


def _batch() -> list[dict[str, Any]]:
    responses = ["ok", "stuck", "ok", "no", "ok", "ok"]
    return [sample(f"s{i}", r) for i, r in enumerate(responses)]


def _check_invocation(out: list[dict[str, Any]], batch: list[dict[str, Any]]) -> None:
    validate_answer(out, [s["id"] for s in batch])
    by_id = {r["id"]: r for r in out}
    stuck = metrics_of(by_id["s1"])
    assert stuck["loops.failed"] == 1.0
    assert stuck["deadline_abandoned"] == 0.0  # its own limit, not the batch deadline
    for sid in ("s0", "s2", "s3", "s4", "s5"):
        metrics = metrics_of(by_id[sid])
        assert metrics["loops"] == 1.0 and metrics["components_failed"] == 0.0
        assert by_id[sid]["aggregate_reward_score"] == (0.5 if sid == "s3" else 1.0)


@pytest.mark.parametrize("timeout", ["timeout_s = 0.3", ""])
def test_a_check_that_never_returns_costs_only_its_sample_on_every_warm_call(
    write_pack: Callable[..., Path], host: PluginHost, timeout: str,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    # With timeout_s, the check's own limit; without it, a share of the batch budget.
    scorer = Scorer(load_pack(write_pack(STUCK_PACK.format(timeout=timeout)), host))
    handler = make_handler(scorer, deadline_margin_s=0.5)
    batch = _batch()
    for call in (1, 2):  # a warm Lambda: the same handler, invoked again
        context = FakeContext(3000)
        out = handler(batch, context)
        _check_invocation(out, batch)
        (emf,) = captured_emf()
        assert emf["Failures.worker_overrun"] == 1.0
        assert emf["EngineError"] == 0.0 and emf["DeadlineHit"] == 0.0
        assert emf["AbandonedWorkers"] == float(call)  # each stuck thread is counted
        assert emf["WorkersUnhealthy"] == 0.0
    scorer.close()


def test_too_many_abandoned_threads_refuse_sync_work_by_name(
    write_pack: Callable[..., Path], host: PluginHost, monkeypatch: pytest.MonkeyPatch,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    monkeypatch.setenv("REWARDSMITH_MAX_ABANDONED_WORKERS", "1")
    scorer = Scorer(load_pack(write_pack(STUCK_PACK.format(timeout="timeout_s = 0.2")), host))
    batch = [sample("a", "stuck"), sample("b", "stuck"), sample("c", "ok")]
    first = scorer.score(batch, timeout_s=5)
    assert [r.components["loops"].error_kind for r in first.results] == [
        "worker_overrun", "worker_overrun", "workers_exhausted"]
    assert first.telemetry.workers_unhealthy and first.telemetry.abandoned_workers == 2
    RELEASE_STUCK.set()  # the runaway calls end: the scorer is healthy again
    for _ in range(500):  # the released threads return and retire
        if not scorer.worker_health().unhealthy:
            break
        time.sleep(0.02)
    again = scorer.score([sample("d", "ok")], timeout_s=5)
    assert again.results[0].components["loops"].error is None
    assert not again.telemetry.workers_unhealthy
    scorer.close()
