"""The Lambda row as ``core/wire.py`` built it before issue 13's one-pass build (commit
17038fe): ``metrics_list`` then a filter, the extras from list comprehensions, one
``(name, value, kind)`` tuple key per cached entry. Kept verbatim as the oracle the faster
build is compared with, byte for byte (tests/core/test_wire_rows.py), and as the
baseline of bench/wire_rows.py."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from rewardsmith.core.results import SampleResult
from rewardsmith.core.wire import (
    REWARD_KEY,
    TURN_REWARDS_KEY,
    _finite,
    _turn_rewards,
    finite_number,
    wire_id,
)


def _metric(name: str, value: float, kind: str = "Metric") -> dict[str, Any]:
    return {"name": name, "value": value, "type": kind}


class ReferenceMetricCache:
    """One shared ``{"name", "value", "type"}`` dict per distinct entry, for the rows of one
    answer: rows of small samples repeat the same entries (``json.valid = 1.0``,
    ``components_failed = 0.0``), and 100,000 rows of ten fresh dicts each were most of
    the Lambda's peak memory (issue 10). Rows built with a cache share entries, so they
    are for encoding, not for mutating. Holds at most ``limit`` entries; past it, new
    entries are built fresh.
    """

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int = 100_000) -> None:
        self._entries: dict[tuple[str, float, str], dict[str, Any]] = {}
        self._limit = limit

    def get(self, name: str, value: float, kind: str = "Metric") -> dict[str, Any]:
        key = (name, value, kind)
        entry = self._entries.get(key)
        if entry is None:
            entry = {"name": name, "value": value, "type": kind}
            if len(self._entries) < self._limit:
                self._entries[key] = entry
        return entry


def reference_metrics_list(result: SampleResult) -> list[dict[str, Any]]:
    """Per-component rewards as ``Reward`` and finite numeric measurements as ``Metric``
    (``"<component>.<key>"``), a ``<component>.failed`` marker per failed component and
    ``sample_failed`` for a failed sample; each entry ``{"name", "value", "type"}``."""
    metrics: list[dict[str, Any]] = []
    for cid, outcome in result.components.items():
        if outcome.value is not None:
            metrics.append(_metric(cid, float(outcome.value), "Reward"))
        for key, val in outcome.measurements.items():
            number = float(val) if isinstance(val, bool | int | float) else None
            if number is not None and math.isfinite(number):
                metrics.append(_metric(f"{cid}.{key}", number))
        if outcome.error_kind is not None:
            metrics.append(_metric(f"{cid}.failed", 1.0))
    if result.status == "failed":
        metrics.append(_metric("sample_failed", 1.0))
    return metrics


def reference_lambda_row(result: SampleResult, *, failure_reward: float,
               judge_ids: Iterable[str] = (), cache: ReferenceMetricCache | None = None
               ) -> dict[str, Any]:
    """The reward-Lambda row: ``{"id", "aggregate_reward_score", "metrics_list"}``, safe
    to serialise (finite numbers only), plus ``components_failed``, ``deadline_abandoned``
    and, when ``judge_ids`` names the pack's judge components, ``judge_latency_ms``,
    ``judge_input_tokens``/``output_tokens``/``cost_usd`` and ``judge_failed``. A reward
    that is somehow not finite becomes ``failure_reward``. With ``cache``, equal metric
    entries are one shared dict (see :class:`MetricCache`)."""
    judges = judge_ids if isinstance(judge_ids, frozenset) else frozenset(judge_ids)
    make = _metric if cache is None else cache.get
    metrics: list[dict[str, Any]] = []
    for entry in reference_metrics_list(result):
        value = entry.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
            value
        ) and entry.get("type") in ("Metric", "Reward"):
            metrics.append(make(str(entry.get("name")), float(value), entry["type"]))
    outcomes = result.components.values()
    failed = [o for o in outcomes if o.error_kind is not None]
    names = {m["name"] for m in metrics}
    extra = {
        "components_failed": float(len(failed)),
        "deadline_abandoned": float(any(o.error_kind == "deadline" for o in failed)),
    }
    if judges:
        judged = [o for o in outcomes if o.id in judges and o.error_kind is None]
        # The judge's own model latency when it reports one, else the engine's wall time.
        latencies = [v for o in judged if (v := finite_number(o.measurements.get(
            "judge_latency_ms", o.measurements.get("latency_ms")))) is not None]
        if latencies:
            extra["judge_latency_ms"] = max(latencies)
        for key in ("input_tokens", "output_tokens", "cost_usd"):
            values = [v for o in judged
                      if (v := finite_number(o.measurements.get(key))) is not None]
            if values:
                extra[f"judge_{key}"] = float(sum(values))
        extra["judge_failed"] = float(sum(o.id in judges for o in failed))
    metrics.extend(make(k, v) for k, v in extra.items() if k not in names)
    row: dict[str, Any] = {
        "id": wire_id(result.id),
        REWARD_KEY: _finite(result.reward, failure_reward),
        "metrics_list": metrics,
    }
    vector = _turn_rewards(result, failure_reward)
    if vector is not None:
        row[TURN_REWARDS_KEY] = vector
    return row


