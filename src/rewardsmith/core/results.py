"""What components return, what a scored sample reports, and a scored batch (encoded by
``wire``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.core.errors import JudgeUnavailableError
from rewardsmith.core.telemetry import BatchTelemetry, JudgeOutage

Measurement = float | int | str | bool | None
#: ``ok``: the pack computed the reward (a failed component got its ``on_error`` value);
#: ``judge_unavailable``: the same, but a judge component could not run for the whole batch
#: and the pack does not allow that (the reward is the other components' alone, the batch
#: an outage: exit 4, ``BatchResult.judge_outages``); ``gated``: a gate decided the reward;
#: ``failed``: the sample could not be scored (the pack's failure reward).
SampleStatus = Literal["ok", "judge_unavailable", "gated", "failed"]


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
    #: Set when the component scored although part of its work failed (a juror, an
    #: ordering, a comparison left out): the first failed part's error kind. The sample
    #: counts one failure of that kind (``failures``, ``component_failures``); the value
    #: stands.
    partial_error_kind: str | None = None

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
    #: A turn-scoped component's value at each assistant turn (None: abstained there).
    turn_values: list[float | None] | None = None
    #: A component scored although part of its work failed (some of a sample's turns, a
    #: juror, an ordering, a comparison): the first failed part's error kind, counted as a
    #: failure of the sample (:attr:`Score.partial_error_kind`; for turns,
    #: ``measurements["turns_failed"]`` says how many).
    partial_error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class PackRef:
    """Which pack scored: its name, version and content hash (``"sha256:..."``)."""

    name: str
    version: str
    hash: str


@dataclass(slots=True)
class SampleResult:
    """The reward for one input. ``reward`` is always a finite float (its wire key,
    ``aggregate_reward_score``, is written only by :mod:`rewardsmith.core.wire`)."""

    id: Any
    index: int
    reward: float
    status: SampleStatus
    pack: PackRef
    components: dict[str, ComponentOutcome] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    gate: str | None = None  # id of the gate that decided the reward
    group_key: str | None = None
    #: One finite reward per assistant turn (core.trajectory.turn_rewards), for trajectory
    #: samples and agentic packs; None for a single-turn sample under a response-only pack.
    turn_rewards: tuple[float, ...] | None = None
    response_chars: int | None = None  # length of the scored response (monitoring)

    def __post_init__(self) -> None:
        if not math.isfinite(self.reward):
            raise ValueError(f"reward must be finite, got {self.reward!r}")


def id_key(value: Any) -> tuple[str, str]:
    """What makes two sample ids the same id: type and ``repr`` (``1`` and ``"1"`` differ,
    as they do on the wire); never raises."""
    try:
        return type(value).__name__, repr(value)
    except Exception:
        return type(value).__name__, f"<unprintable at {id(value):x}>"


def duplicate_ids(ids: Iterable[Any]) -> list[Any]:
    """The ids that repeat an earlier id of ``ids``, in order (``["a", "b", "a", "a"]`` ->
    ``["a", "a"]``). Duplicates are scored (the contract echoes ids) but counted and
    reported, never silently (docs/decisions.md, "Duplicate ids")."""
    seen: set[tuple[str, str]] = set()
    repeated: list[Any] = []
    for value in ids:
        key = id_key(value)
        if key in seen:
            repeated.append(value)
        seen.add(key)
    return repeated


@dataclass
class BatchResult:
    """What :meth:`Scorer.score <rewardsmith.core.engine.Scorer.score>` returns: one
    :class:`SampleResult` per input, in input order; the batch's counters; wall time in
    seconds; whether the batch deadline cut work short."""

    results: list[SampleResult]
    telemetry: BatchTelemetry
    elapsed_s: float
    deadline_hit: bool = False

    @property
    def rewards(self) -> list[float]:
        return [r.reward for r in self.results]

    @property
    def judge_outages(self) -> list[JudgeOutage]:
        """Judge components that could not run in this batch and whose pack did not allow
        it (``[judge] allow_failures``): every reward of the batch lacks their signal."""
        return [o for o in self.telemetry.judge_unavailable.values() if not o.allowed]

    def raise_for_judge_outage(self) -> None:
        """Raise :class:`JudgeUnavailableError` naming each cause when
        :attr:`judge_outages` is not empty — for callers that must not act on a reward the
        judge had no part in (trainers). The CLI exits 4 and the Lambda emits the
        ``JudgeUnavailable`` metric for the same condition instead."""
        if outages := self.judge_outages:
            raise JudgeUnavailableError({o.component: o.cause for o in outages})

    def summary(self) -> dict[str, Any]:
        """The telemetry summary of the rewards (see :meth:`BatchTelemetry.summary`) plus
        ``elapsed_s``, ``deadline_hit``, the counts of failed and gated samples and
        ``duplicate_ids``: how many results repeat an earlier result's id."""
        out = self.telemetry.summary(self.rewards)
        out["elapsed_s"] = round(self.elapsed_s, 4)
        out["deadline_hit"] = self.deadline_hit
        out["failed_samples"] = sum(r.status == "failed" for r in self.results)
        out["gated_samples"] = sum(r.status == "gated" for r in self.results)
        out["duplicate_ids"] = len(duplicate_ids(r.id for r in self.results))
        return out
