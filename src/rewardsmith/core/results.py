"""What components return and what a scored sample reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Measurement = float | int | str | bool | None
SampleStatus = Literal["ok", "gated", "failed"]


@dataclass(slots=True)
class Score:
    """One component's verdict on one sample.

    ``value`` lies in the component's declared range ([0, 1] unless it says otherwise);
    ``passed`` is set where pass/fail is meaningful (gates read it); ``measurements`` are
    raw numbers kept for monitoring (tokens, latency, the raw metric).
    """

    value: float
    passed: bool | None = None
    rationale: str = ""
    measurements: dict[str, Measurement] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_bool(cls, ok: bool, rationale: str = "", **measurements: Measurement) -> Score:
        return cls(1.0 if ok else 0.0, ok, rationale, dict(measurements))


@dataclass(slots=True)
class ComponentOutcome:
    """A component's result for one sample after the failure policy was applied."""

    id: str
    type: str
    weight: float
    value: float | None  # None: abstained (dropped from the aggregate)
    raw_value: float | None = None
    passed: bool | None = None
    rationale: str = ""
    measurements: dict[str, Measurement] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    policy: str | None = None  # the failure policy applied, when there was an error
    skipped: bool = False  # not run because a gate failed first

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "value": self.value,
            "weight": self.weight,
            "passed": self.passed,
        }
        if self.rationale:
            out["rationale"] = self.rationale
        if self.measurements:
            out["measurements"] = self.measurements
        if self.details:
            out["details"] = self.details
        if self.error is not None:
            out.update(error=self.error, error_kind=self.error_kind, policy=self.policy)
        if self.skipped:
            out["skipped"] = True
        return out


@dataclass(frozen=True, slots=True)
class PackRef:
    name: str
    version: str
    hash: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.hash}


@dataclass(slots=True)
class SampleResult:
    """The reward for one input. ``aggregate_reward_score`` is always a finite float."""

    id: Any
    index: int
    aggregate_reward_score: float
    status: SampleStatus
    pack: PackRef
    components: dict[str, ComponentOutcome] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    gate: str | None = None  # id of the gate that decided the reward
    group_key: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.aggregate_reward_score):
            raise ValueError("aggregate_reward_score must be finite")

    def metrics_list(self) -> list[dict[str, Any]]:
        """Per-component rewards as ``Reward`` and numeric measurements as ``Metric``."""
        metrics: list[dict[str, Any]] = []
        for cid, outcome in self.components.items():
            if outcome.value is not None:
                metrics.append({"name": cid, "value": float(outcome.value), "type": "Reward"})
            for key, val in outcome.measurements.items():
                number = float(val) if isinstance(val, bool | int | float) else None
                if number is not None and math.isfinite(number):
                    metrics.append({"name": f"{cid}.{key}", "value": number, "type": "Metric"})
            if outcome.error_kind is not None:
                metrics.append({"name": f"{cid}.failed", "value": 1.0, "type": "Metric"})
        if self.status == "failed":
            metrics.append({"name": "sample_failed", "value": 1.0, "type": "Metric"})
        return metrics

    def to_lambda(self) -> dict[str, Any]:
        """The reward-Lambda result shape (Nova Forge / Bedrock RFT)."""
        return {
            "id": self.id,
            "aggregate_reward_score": float(self.aggregate_reward_score),
            "metrics_list": self.metrics_list(),
        }

    def to_json(self) -> dict[str, Any]:
        """The Lambda shape plus details: status, errors, per-component outcomes, pack."""
        out = self.to_lambda()
        out["status"] = self.status
        if self.error is not None:
            out["error"] = self.error
            out["error_kind"] = self.error_kind
        if self.gate is not None:
            out["gate"] = self.gate
        out["components"] = {cid: o.to_json() for cid, o in self.components.items()}
        out["pack"] = self.pack.to_json()
        return out
