"""Failure policies and aggregation: from component outcomes to one finite reward."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rewardsmith.core.component import ComponentConfig
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.results import ComponentOutcome

if TYPE_CHECKING:  # a pack without a formula never imports the parser (issue 13)
    from rewardsmith.core.formula import Formula


class SampleFailed(RewardsmithError):
    """A component with ``on_error='fail'`` failed: the sample is reported failed."""


def group_means(
    per_sample: Sequence[dict[str, ComponentOutcome]], component_ids: Sequence[str]
) -> dict[str, float | None]:
    """Mean of each component's successful values across one prompt group."""
    means: dict[str, float | None] = {}
    for cid in component_ids:
        values = [
            o.raw_value
            for outcomes in per_sample
            if (o := outcomes.get(cid)) is not None and o.error is None and o.raw_value is not None
        ]
        # statistics.fmean's own arithmetic (fsum / n), without importing statistics
        # (fractions, decimal) into every cold start (issue 13)
        means[cid] = math.fsum(values) / len(values) if values else None
    return means


def apply_policy(
    outcome: ComponentOutcome,
    config: ComponentConfig,
    value_range: tuple[float, float],
    group_mean: float | None,
) -> None:
    """Set ``outcome.value`` for a failed component according to its failure policy."""
    policy = config.on_error
    outcome.policy = policy
    if policy == "abstain":
        outcome.value = None
    elif policy == "neutral":
        outcome.value = config.neutral_value
    elif policy == "zero":
        outcome.value = value_range[0]
    elif policy == "group_mean":
        if group_mean is None:
            # No peer got a value either: abstaining would leave the reward to the other
            # components, and a judge failing on every sample would hand out the checks'
            # reward (1.0 for what only the judge could catch; issue 14). A failure, loud.
            raise SampleFailed(f"component {outcome.id!r} failed ({outcome.error_kind}) on "
                               f"every sample of its group, so on_error = 'group_mean' has no "
                               f"mean to borrow: {outcome.error}")
        outcome.value = group_mean
    else:
        raise SampleFailed(f"component {outcome.id!r} failed ({outcome.error_kind}): "
                           f"{outcome.error}")


def weighted_mean(
    outcomes: Sequence[ComponentOutcome],
    ranges: dict[str, tuple[float, float]],
    reward_range: tuple[float, float],
) -> float:
    """Weighted mean of normalised component values, mapped onto the reward range.

    Abstained components (value None) drop out and the remaining weights renormalise.
    """
    total = 0.0
    weight_sum = 0.0
    for o in outcomes:
        if o.value is None or o.weight <= 0:
            continue
        lo, hi = ranges[o.id]
        total += o.weight * ((o.value - lo) / (hi - lo))
        weight_sum += o.weight
    if weight_sum == 0:
        raise SampleFailed("every weighted component abstained; nothing to aggregate")
    lo, hi = reward_range
    return lo + (total / weight_sum) * (hi - lo)


def formula_reward(
    formula: Formula,
    outcomes: dict[str, ComponentOutcome],
    configs: dict[str, ComponentConfig],
    reward_range: tuple[float, float],
) -> float:
    """Evaluate the pack's formula over raw component values, clamped to the reward range.

    A formula cannot renormalise, so an abstained component enters it at its neutral value.
    """
    from rewardsmith.core.formula import FormulaError  # loaded with the pack's formula

    env: dict[str, float] = {}
    for name in formula.names:
        outcome = outcomes.get(name)
        value = outcome.value if outcome is not None else None
        env[name] = configs[name].neutral_value if value is None else value
    try:
        reward = formula.evaluate(env)
    except FormulaError as exc:
        raise SampleFailed(str(exc)) from None
    lo, hi = reward_range
    return min(max(reward, lo), hi)


def finite_or(value: float, fallback: float) -> float:
    """``value`` if it is finite, else ``fallback`` (for NaN and infinities)."""
    return value if math.isfinite(value) else fallback
