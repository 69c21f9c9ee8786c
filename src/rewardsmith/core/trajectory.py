"""Trajectories: components scored per turn, and the per-turn reward vector.

A component's ``scope`` says what it scores (:data:`Scope`): the final ``response``
(today's default), each assistant ``turn`` (the engine calls it once per turn on
:meth:`Sample.turn_view <rewardsmith.core.sample.Sample.turn_view>`), or the whole
``trajectory`` (it reads ``sample.turns``, ``sample.tool_log``, ``sample.final_state``).

The sample's reward is the pack's aggregate as before; a turn-scoped component enters it
with the mean of its turn values. The per-turn vector (:func:`turn_rewards`) has one
entry per assistant turn, always: entry ``t`` is the pack's aggregate evaluated at turn
``t``, each component taking

* ``turn`` scope: its value at turn ``t``;
* ``response``/``trajectory`` scope, as the pack's ``[trajectory] assign`` declares:
  ``final`` — its value at the last turn, abstaining at earlier turns; ``every`` — its
  value at every turn; ``discounted`` — its value at the last turn and, ``k`` turns
  before it, ``low + gamma**k * (value - low)`` (its range's low end).

A turn where every weighted component abstains gets ``unscored_turn_reward``. A gated or
failed sample's reward ``R`` is assigned the same way (``final``: the last turn gets
``R``, the others ``unscored_turn_reward``; ``every``: ``R`` everywhere; ``discounted``:
``low + gamma**k * (R - low)`` on the reward range). See docs/writing-packs.md.

SageMaker AI multi-turn RL reports one reward per turn (``UpdateReward`` ``Rewards``);
this is the vector it reports.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rewardsmith.core.aggregate import SampleFailed, formula_reward, weighted_mean
from rewardsmith.core.component import Component, ComponentConfig
from rewardsmith.core.errors import ErrorKind
from rewardsmith.core.judging import ADDITIVE_MEASUREMENTS
from rewardsmith.core.results import ComponentOutcome
from rewardsmith.core.sample import Sample

if TYPE_CHECKING:
    from rewardsmith.core.formula import Formula

Scope = Literal["response", "turn", "trajectory"]
Assign = Literal["final", "every", "discounted"]


class TrajectorySpec(BaseModel):
    """The pack's ``[trajectory]`` table: how one-per-sample scores reach the turns."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    assign: Assign = Field(
        default="final", description="How response- and trajectory-scoped scores are "
        "assigned to turns: 'final' (last turn only), 'every' (every turn), 'discounted' "
        "(the last turn, and gamma**k of it k turns earlier).")
    gamma: float | None = Field(default=None, gt=0, le=1,
                                description="The discount per turn; only with 'discounted'.")
    unscored_turn_reward: float | None = Field(
        default=None, description="The reward of a turn nothing scores. Default 0 when the "
        "reward range holds 0, else its low end.")

    @model_validator(mode="after")
    def _gamma(self) -> TrajectorySpec:
        if self.assign == "discounted" and self.gamma is None:
            raise ValueError("assign = 'discounted' needs a 'gamma' in (0, 1]")
        if self.assign != "discounted" and self.gamma is not None:
            raise ValueError("'gamma' is given but assign is not 'discounted'")
        return self

    def unscored(self, reward_range: tuple[float, float]) -> float:
        """The reward of an unscored turn, on ``reward_range``."""
        if self.unscored_turn_reward is not None:
            return self.unscored_turn_reward
        lo, hi = reward_range
        return 0.0 if lo <= 0.0 <= hi else lo


DEFAULT_SPEC = TrajectorySpec()


def scope_of(config: ComponentConfig) -> Scope:
    """A component config's declared scope (``response`` unless it says otherwise)."""
    scope: Scope = getattr(config, "scope", "response")
    return scope


# -- turn-scoped components --------------------------------------------------------------
def _policy_value(outcome: ComponentOutcome, config: ComponentConfig,
                  value_range: tuple[float, float]) -> float | None:
    """A failed turn's value under the component's failure policy (``fail`` is handled by
    the caller; ``group_mean`` has no peers at turn level and abstains)."""
    if outcome.error is None:
        return outcome.value
    if config.on_error == "neutral":
        return config.neutral_value
    if config.on_error == "zero":
        return value_range[0]
    return None


def _summed_measurements(outcomes: Sequence[ComponentOutcome]) -> dict[str, Any]:
    """Numeric measurements over the turns: the judge accounting
    (:data:`~rewardsmith.core.judging.ADDITIVE_MEASUREMENTS`: calls, tokens, cost) summed, so
    a per-turn judge reports what the sample cost; times (``*_ms``) by their maximum; every
    other value (a criterion's 0/1 verdict, a score, a rate) averaged over the turns that
    report it, so it stays on its own scale."""
    seen: dict[str, list[float]] = {}
    for outcome in outcomes:
        for key, value in outcome.measurements.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            seen.setdefault(key, []).append(value)
    out: dict[str, Any] = {}
    for key, values in seen.items():
        if key in ADDITIVE_MEASUREMENTS:
            out[key] = sum(values)
        elif key.endswith("_ms"):
            out[key] = max(values)
        else:
            out[key] = math.fsum(values) / len(values)
    return out


def combine_turns(component: Component[Any], outcomes: Sequence[ComponentOutcome]
                  ) -> ComponentOutcome:
    """One outcome from a component's per-turn outcomes (one per turn, in order).

    Its value is the mean of the turn values that are not abstentions; ``passed`` is
    False when any turn failed its check; ``turn_values`` keeps each turn's value (a failed
    turn under its failure policy, None when it abstains). When every turn failed, or one
    failed under ``on_error = "fail"``, the outcome is that failure (the engine applies the
    policy to it as to any other).
    """
    cfg = component.config
    values = [_policy_value(o, cfg, component.value_range) for o in outcomes]
    failed = [o for o in outcomes if o.error is not None]
    first_failed = failed[0] if failed else None
    if first_failed is not None and (len(failed) == len(outcomes) or cfg.on_error == "fail"):
        at = outcomes.index(first_failed)
        # every turn's judge calls stay on the row, not only the first failure's (s5 F3)
        return dataclasses.replace(first_failed, error=f"turn {at}: {first_failed.error}",
                                   turn_values=values, measurements={
                                       **first_failed.measurements,
                                       **_summed_measurements(outcomes)})
    scored = [v for v in values if v is not None]
    value = math.fsum(scored) / len(scored) if scored else None  # statistics.fmean's arithmetic
    checks = [o.passed for o in outcomes if o.error is None and o.passed is not None]
    passed = None if not checks else all(checks)
    problems = [f"turn {i}: {o.rationale or o.error}" for i, o in enumerate(outcomes)
                if o.error is not None or o.passed is False]
    rationale = "; ".join(problems[:4]) if problems else (
        f"{len(outcomes)} turn(s) scored")
    measurements = _summed_measurements(outcomes)
    measurements.update(turns=len(outcomes), turns_failed=len(failed))
    partial = None
    if first_failed is not None:
        partial = str(first_failed.error_kind or ErrorKind.ERROR)
        measurements["turn_error_kind"] = partial
    return ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, value, value, passed,
                            rationale, measurements, turn_values=values,
                            partial_error_kind=partial)


def score_turns_sync(component: Component[Any], sample: Sample,
                     call: Callable[[Component[Any], Sample], ComponentOutcome]
                     ) -> ComponentOutcome:
    """Run ``call`` (the engine's one-sample call) on every turn view and combine."""
    return combine_turns(component, [call(component, sample.turn_view(t))
                                     for t in range(len(sample.turns))])


async def score_turns(component: Component[Any], sample: Sample,
                      call: Callable[[Component[Any], Sample], Awaitable[ComponentOutcome]]
                      ) -> ComponentOutcome:
    """Like :func:`score_turns_sync` for awaited components; turns run one after another
    (each already holds the engine's concurrency semaphore for its call)."""
    outcomes = [await call(component, sample.turn_view(t)) for t in range(len(sample.turns))]
    return combine_turns(component, outcomes)


# -- the per-turn vector -----------------------------------------------------------------
def _finite(value: float, fallback: float) -> float:
    return value if math.isfinite(value) else fallback


def assign_reward(reward: float, turns: int, spec: TrajectorySpec,
                  reward_range: tuple[float, float]) -> tuple[float, ...]:
    """One sample-level reward spread over ``turns`` turns as ``spec.assign`` says."""
    if turns <= 0:
        return ()
    lo = reward_range[0]
    if spec.assign == "every":
        return (reward,) * turns
    if spec.assign == "discounted":
        gamma = spec.gamma if spec.gamma is not None else 1.0
        return tuple(lo + gamma ** (turns - 1 - t) * (reward - lo) for t in range(turns))
    return (spec.unscored(reward_range),) * (turns - 1) + (reward,)


def _value_at(outcome: ComponentOutcome, scope: Scope, t: int, turns: int,
              spec: TrajectorySpec, value_range: tuple[float, float]) -> float | None:
    if scope == "turn":
        if outcome.turn_values is not None and t < len(outcome.turn_values):
            return outcome.turn_values[t]
        return outcome.value
    value = outcome.value
    if value is None or spec.assign == "every" or t == turns - 1:
        return value
    if spec.assign == "final":
        return None
    gamma = spec.gamma if spec.gamma is not None else 1.0
    lo = value_range[0]
    return lo + gamma ** (turns - 1 - t) * (value - lo)


def turn_rewards(
    outcomes: Mapping[str, ComponentOutcome],
    configs: Mapping[str, ComponentConfig],
    ranges: Mapping[str, tuple[float, float]],
    turns: int,
    spec: TrajectorySpec,
    reward_range: tuple[float, float],
    formula: Formula | None,
) -> tuple[float, ...]:
    """The per-turn reward vector of a scored (status ``ok``) sample: ``turns`` finite
    floats on ``reward_range``, as described in this module's docstring."""
    unscored = spec.unscored(reward_range)
    vector: list[float] = []
    for t in range(turns):
        at_turn = {cid: dataclasses.replace(o, value=_value_at(
            o, scope_of(configs[cid]), t, turns, spec, ranges[cid]))
            for cid, o in outcomes.items()}
        try:
            if formula is not None:
                if all(o.value is None for o in at_turn.values()):
                    raise SampleFailed("nothing scored at this turn")
                reward = formula_reward(formula, at_turn, dict(configs), reward_range)
            else:
                reward = weighted_mean(list(at_turn.values()), dict(ranges), reward_range)
        except SampleFailed:
            reward = unscored
        vector.append(_finite(reward, unscored))
    return tuple(vector)
