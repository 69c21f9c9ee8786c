"""The one-pass Lambda row (issue 13) against the two-pass build it replaced
(tests/support/wire_reference.py): the same bytes and the same shared entries, on results
that vary every branch — failed and gated samples, judge failures and deadlines, several
judges, non-finite and non-numeric measurements, ids and component names that collide with
the added metrics, turn rewards — with and without a cache, and with a full one."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from tests.support.wire_reference import ReferenceMetricCache, reference_lambda_row

from rewardsmith.core.results import ComponentOutcome, PackRef, SampleResult
from rewardsmith.core.wire import MetricCache, lambda_row

PACK = PackRef("p", "1", "sha256:0")
JUDGES = frozenset({"j1", "j2"})
# Component ids: judges, checks, and ids equal to the metrics a row adds (their Reward entry
# takes the name, the added metric is left out), one with a dot.
IDS = ["j1", "j2", "len", "judge_failed", "components_failed", "judge_latency_ms",
       "judge_input_tokens", "a.b"]
NUMBERS: list[Any] = [0.0, -0.0, 1.0, 0.25, 3, 0, True, False, 1e308, -7.5, math.nan,
                      math.inf, -math.inf, "tool", None, [1], 10**20, 590]
KEYS = ["polite", "criteria_passed", "judge_latency_ms", "latency_ms", "input_tokens",
        "output_tokens", "cost_usd", "cached", "b.c", "judge_mode"]


def _outcome(rng: random.Random, cid: str) -> ComponentOutcome:
    kind = rng.choice([None, None, None, "deadline", "judge_unavailable", "parse_error"])
    value = None if rng.random() < 0.15 else rng.choice(
        [0.0, -0.0, 1.0, 0.5, 2, True, math.nan, math.inf])
    measurements = {key: rng.choice(NUMBERS) for key in rng.sample(KEYS, rng.randint(0, 9))}
    if rng.random() < 0.02:
        measurements["huge"] = 10**400  # float() raises: the handler's failure row
    return ComponentOutcome(cid, "rubric-judge" if cid.startswith("j") else "check", 1.0,
                            value, raw_value=None, passed=rng.random() < 0.5,
                            measurements=measurements, error_kind=kind,
                            error=None if kind is None else "boom")


def _result(rng: random.Random, index: int) -> SampleResult:
    ids = rng.sample(IDS, rng.randint(0, 5))
    status = rng.choice(["ok", "ok", "failed", "gated"])
    sample_id: Any = rng.choice([f"s-{index}", index, math.nan, (index, "t"), None])
    turns = rng.choice([None, None, (0.5, 1.0), (math.nan, -0.0, 2.0)])
    result = SampleResult(id=sample_id, index=index, reward=rng.choice([0.0, 0.5, -1.0]),
                          status=status, pack=PACK,
                          components={cid: _outcome(rng, cid) for cid in ids},
                          gate="len" if status == "gated" else None, turn_rewards=turns)
    if rng.random() < 0.05:
        result.reward = math.inf  # a bug upstream: the row says the failure reward
    return result


def _row_or_error(build: Any, result: SampleResult, **kwargs: Any) -> Any:
    try:
        return build(result, failure_reward=-1.0, **kwargs)
    except Exception as exc:  # the handler answers this sample's failure row
        return type(exc).__name__


def _shape(rows: list[Any]) -> list[Any]:
    """Which entries are one shared dict: each entry as the first position it was met at."""
    first: dict[int, int] = {}
    return [[first.setdefault(id(m), len(first)) for m in row["metrics_list"]]
            if isinstance(row, dict) else row for row in rows]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("judge_ids", [JUDGES, (), ["j1"]])
def test_one_pass_rows_equal_the_two_pass_rows(seed: int, judge_ids: Any) -> None:
    rng = random.Random(seed)
    results = [_result(rng, i) for i in range(300)]
    old_cache, new_cache = ReferenceMetricCache(), MetricCache()
    old = [_row_or_error(reference_lambda_row, r, judge_ids=judge_ids, cache=old_cache)
           for r in results]
    new = [_row_or_error(lambda_row, r, judge_ids=judge_ids, cache=new_cache)
           for r in results]
    assert json.dumps(new) == json.dumps(old)
    assert _shape(new) == _shape(old)
    assert any(isinstance(row, str) for row in old)  # an unconvertible measurement met
    # Without a cache every entry is its own dict (so -0.0 stays -0.0 where a cache shares
    # the 0.0 met first, as it did before).
    uncached = [_row_or_error(lambda_row, r, judge_ids=judge_ids) for r in results]
    assert json.dumps(uncached) == json.dumps(
        [_row_or_error(reference_lambda_row, r, judge_ids=judge_ids) for r in results])
    assert len({id(m) for row in uncached if isinstance(row, dict)
                for m in row["metrics_list"]}) == sum(
        len(row["metrics_list"]) for row in uncached if isinstance(row, dict))


def test_a_full_cache_builds_fresh_entries_as_before() -> None:
    rng = random.Random(7)
    results = [_result(rng, i) for i in range(200)]
    old = [_row_or_error(reference_lambda_row, r, judge_ids=JUDGES,
                         cache=ReferenceMetricCache(limit=25)) for r in results]
    new = [_row_or_error(lambda_row, r, judge_ids=JUDGES, cache=MetricCache(limit=25))
           for r in results]
    assert json.dumps(new) == json.dumps(old)


def test_zero_and_negative_zero_share_the_first_entry_met() -> None:
    cache = MetricCache()

    def row(value: float) -> dict[str, Any]:
        outcome = ComponentOutcome("c", "check", 1.0, value, measurements={"x": value})
        result = SampleResult(id="s", index=0, reward=0.0, status="ok", pack=PACK,
                              components={"c": outcome})
        return lambda_row(result, failure_reward=0.0, cache=cache)

    first, second = row(-0.0), row(0.0)
    assert json.dumps(second["metrics_list"][:2]) == json.dumps(first["metrics_list"][:2])
    assert [m["value"] for m in second["metrics_list"][:2]] == [-0.0, -0.0]
