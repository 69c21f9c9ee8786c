"""The one quantile definition (nearest rank), shared by CLI, report and Lambda."""

from __future__ import annotations

import pytest

from rewardsmith.core.telemetry import BatchTelemetry, quantile


def test_quantile_is_the_nearest_rank_observation() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    assert quantile(values, 0.0) == 1.0
    assert quantile(values, 0.2) == 1.0  # ceil(0.2 * 5) = 1st smallest
    assert quantile(values, 0.21) == 2.0
    assert quantile(values, 0.5) == 3.0
    assert quantile(values, 0.9) == 5.0
    assert quantile(values, 1.0) == 5.0
    # even count: the lower middle value, never the interpolated 2.5
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert quantile([10.0] + [1.0] * 19, 0.95) == 1.0
    assert quantile([10.0] + [1.0] * 19, 0.96) == 10.0


def test_quantile_refuses_empty_input_and_bad_q() -> None:
    with pytest.raises(ValueError, match="no values"):
        quantile([], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantile([1.0], 1.5)


def test_batch_latency_percentiles_use_the_one_quantile() -> None:
    telemetry = BatchTelemetry(samples=4)
    assert telemetry.latency_percentile(0.5) is None
    for ms in (40.0, 10.0, 30.0, 20.0):
        telemetry.record_judge_call(latency_ms=ms)
    summary = telemetry.summary()
    assert summary["judge_latency_p50_ms"] == quantile([10.0, 20.0, 30.0, 40.0], 0.5) == 20.0
    assert summary["judge_latency_p95_ms"] == 40.0


def test_a_failed_judge_call_is_counted_once_as_a_call() -> None:
    # The backend's view (issue 14): calls and their failures by kind. What reached a
    # sample is the engine's record_failure, counted apart, never doubled here.
    telemetry = BatchTelemetry(samples=2)
    telemetry.record_judge_call(latency_ms=5.0, error_kind="judge_parse")
    telemetry.record_judge_call(latency_ms=5.0, error_kind="circuit_open")
    telemetry.record_judge_call(latency_ms=5.0)
    telemetry.record_failure("judge_parse", "review")
    summary = telemetry.summary()
    assert summary["judge_calls"] == 3 and summary["judge_failures"] == 2
    assert summary["judge_call_failures"] == {"judge_parse": 1, "circuit_open": 1}
    assert summary["failures"] == {"judge_parse": 1}
    assert summary["component_failures"] == {"review": {"judge_parse": 1}}
