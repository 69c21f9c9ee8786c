"""Issue 10 C follow-up: a cold handler's reserves come from measurement, so a batch that fits
the deadline is scored on the first call, and a batch that fits only in part scores a prefix
and answers the rest ``deadline``. Asserted on the handler's own accounting (the log line's
``answer_budget`` and ``failures``) and the rows' statuses, never on wall-clock figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import BASIC_PACK, FakeContext, metrics_of, sample, validate_answer

from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.plugins import PluginHost

SLOW_PACK = """
[pack]
name = "lambda-slow"
version = "1"

[[components]]
id = "slow"
type = "t-slow"
seconds = 0.004
"""


def _logged(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capfd.readouterr().out.splitlines()
            if '"reward_invocation"' in line]


def _scored(row: dict[str, Any]) -> bool:
    return "sample_failed" not in metrics_of(row)


def test_a_cold_handler_scores_every_sample_when_the_deadline_fits_the_batch(
    write_pack: Callable[..., Path], host: PluginHost, capfd: pytest.CaptureFixture[str],
) -> None:
    path = str(write_pack(BASIC_PACK))
    batch = [sample(f"s{i}", "ok" if i % 3 else "no") for i in range(20_000)]
    # What this machine needs for the whole path, measured by a handler of its own (warm,
    # no deadline pressure): the deadline below gives three times that.
    probe_handler = make_handler(path, host=host, deadline_margin_s=0.3)
    probe_handler.warm()
    probe_handler(batch, FakeContext(600_000))
    (measured,) = _logged(capfd)
    assert measured["failures"] == {}
    needed_ms = measured["answer_budget"]["answered_by_ms"]

    cold = make_handler(path, host=host, deadline_margin_s=0.3)  # loads in the first call
    out = cold(batch, FakeContext(3 * needed_ms + 300))
    validate_answer(out, [s["id"] for s in batch])
    (line,) = _logged(capfd)
    assert line["cold_start"] is True
    assert line["answer_budget"]["probed"] is True  # the reserve came from measurement
    assert line["answer_budget"]["answered_by_ms"] < line["remaining_ms"]
    assert line["failures"] == {}
    assert all(_scored(row) for row in out)
    assert [row["aggregate_reward_score"] for row in out[:3]] == [0.0, 1.0, 1.0]


def test_a_deadline_that_fits_part_of_the_batch_scores_a_prefix_and_names_the_rest(
    write_pack: Callable[..., Path], host: PluginHost, capfd: pytest.CaptureFixture[str],
) -> None:
    # 4 ms of checking per sample: 1,500 samples need 6 s, the budget is about 1.7 s.
    handler = make_handler(str(write_pack(SLOW_PACK)), host=host, deadline_margin_s=0.3)
    batch = [sample(f"s{i}", "ok") for i in range(1_500)]
    out = handler(batch, FakeContext(2_000))
    validate_answer(out, [s["id"] for s in batch])  # every id, in order
    (line,) = _logged(capfd)
    scored = [_scored(row) for row in out]
    prefix = scored.index(False)
    assert 0 < prefix < len(batch)
    assert all(scored[:prefix]) and not any(scored[prefix:])  # a prefix, then the rest
    assert all(row["aggregate_reward_score"] == 1.0 for row in out[:prefix])
    assert all(metrics_of(row)["deadline_abandoned"] == 1.0 for row in out[prefix:])
    assert line["deadline_hit"] is True
    assert line["failed_samples"] == len(batch) - prefix
    assert line["answer_budget"]["answered_by_ms"] < line["remaining_ms"]
