"""What a report shows, computed from result rows in the ``core.wire.jsonl_row`` shape.

Rows may come from memory or from a JSONL file written by ``rewardsmith score``, so every
field is read defensively: a row missing a key is still counted, never a crash.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core.wire import REWARD_KEY, finite_number

# Judge accounting keys the built-in judges record in measurements, summed per component.
USAGE_SUMS = ("judge_calls", "input_tokens", "output_tokens", "cost_usd", "cached")
USAGE_MEANS = ("judge_latency_ms",)


@dataclass
class ComponentDigest:
    id: str
    type: str = ""
    weight: float | None = None
    values: list[float] = field(default_factory=list)
    passed: int = 0
    verdicts: int = 0
    abstained: int = 0  # ran, failed, and the policy dropped it (value None)
    skipped: int = 0  # not run: a gate failed first
    ran: int = 0  # outcomes not skipped (scored or failed)
    errors: Counter[str] = field(default_factory=Counter)
    usage: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.verdicts if self.verdicts else None

    @property
    def failure_rate(self) -> float | None:
        """Share of the samples it ran on where the component failed (any kind)."""
        return sum(self.errors.values()) / self.ran if self.ran else None


@dataclass
class RunDigest:
    n: int
    rewards: list[float]
    statuses: Counter[str]
    sample_failures: Counter[str]
    components: dict[str, ComponentDigest]
    gates: Counter[str]

    @property
    def has_usage(self) -> bool:
        return any(c.usage or c.latencies for c in self.components.values())

    def usage_total(self, key: str) -> float:
        return sum(c.usage.get(key, 0.0) for c in self.components.values())


def digest(rows: Sequence[dict[str, Any]]) -> RunDigest:
    """Summarise scored rows (JSONL rows as ``rewardsmith score`` writes them, see
    :func:`rewardsmith.core.wire.jsonl_row`): rewards, statuses, failure kinds, gates and
    per-component figures. Rows with a missing or non-numeric field are counted without it."""
    rewards: list[float] = []
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    gates: Counter[str] = Counter()
    components: dict[str, ComponentDigest] = {}
    for row in rows:
        reward = finite_number(row.get(REWARD_KEY))
        if reward is not None:
            rewards.append(reward)
        status = str(row.get("status", "ok"))
        statuses[status] += 1
        if status == "failed":
            failures[str(row.get("error_kind") or "unknown")] += 1
        if row.get("gate"):
            gates[str(row["gate"])] += 1
        for cid, outcome in (row.get("components") or {}).items():
            if not isinstance(outcome, dict):
                continue
            comp = components.get(cid)
            if comp is None:
                comp = components[cid] = ComponentDigest(
                    str(cid), str(outcome.get("type", "")), finite_number(outcome.get("weight")))
            _add_outcome(comp, outcome)
    return RunDigest(len(rows), rewards, statuses, failures, components, gates)


def _add_outcome(comp: ComponentDigest, outcome: dict[str, Any]) -> None:
    if outcome.get("skipped"):
        comp.skipped += 1
        return
    comp.ran += 1
    value = finite_number(outcome.get("value"))
    if value is not None:
        comp.values.append(value)
    elif outcome.get("error") is not None:
        comp.abstained += 1
    if outcome.get("error") is not None:
        comp.errors[str(outcome.get("error_kind") or "error")] += 1
    if isinstance(outcome.get("passed"), bool):
        comp.verdicts += 1
        comp.passed += outcome["passed"]
    measurements = outcome.get("measurements") or {}
    if isinstance(measurements, dict):
        for key in USAGE_SUMS:
            number = finite_number(measurements.get(key))
            if number is not None:
                comp.usage[key] = comp.usage.get(key, 0.0) + number
        for key in USAGE_MEANS:
            number = finite_number(measurements.get(key))
            if number is not None:
                comp.latencies.append(number)


def extremes(rows: Sequence[dict[str, Any]], count: int) -> tuple[list[dict[str, Any]],
                                                                   list[dict[str, Any]]]:
    """The ``count`` lowest- and highest-rewarded rows (disjoint when there are few)."""
    scored = [r for r in rows if finite_number(r.get(REWARD_KEY)) is not None]
    ordered = sorted(scored, key=lambda r: float(r[REWARD_KEY]))
    low = ordered[:count]
    high = ordered[max(len(low), len(ordered) - count):][::-1]
    return low, high
