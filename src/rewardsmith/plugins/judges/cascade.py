"""The cascade judge: a cheap first judge, and a strong second judge called only when the
first is uncertain.

A rubric judge in every respect (criteria, aggregation, data blocks) except who answers:
``first`` and ``second`` are overrides of the pack's ``[judge]`` table (typically only
``model``). The second judge is asked when the first one's

* normalised score lies inside the declared ``band`` (inclusive), or
* verdict could not be parsed (``judge_parse``, ``ambiguous_verdict``,
  ``judge_invalid_verdict``), with ``escalate_on_parse_failure``, or
* two verdicts disagree when ``check_orders`` asks it twice, criteria in forward and in
  reversed order (a judge whose verdict moves with the order of the rubric is unsure).

The second judge's score is final; the measurements say whether and why it was asked and
carry the cost of every call. Escalation follows the pattern of FrugalGPT (Chen et al.,
2023, "FrugalGPT: How to Use Large Language Models While Reducing Cost and Improving
Performance", arXiv:2305.05176): a scorer on the cheap model's answer decides whether to
go on to a stronger one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judge_outages import UNREADABLE_VERDICT_KINDS
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.judges.calling import CallStats, with_stats
from rewardsmith.plugins.judges.rubric import Criterion
from rewardsmith.plugins.judges.rubric_judge import RubricJudge

#: Error kinds of a first verdict that could not be read: escalated, not failed.
PARSE_FAILURE_KINDS = UNREADABLE_VERDICT_KINDS


def _verdicts(score: Score, criteria: Sequence[Criterion]) -> list[Any]:
    """What a rubric score says per criterion (explicit) or as a whole (implicit)."""
    keys = [c.id for c in criteria] + ["holistic_score"]
    return [score.measurements.get(key) for key in keys]


async def _both_orders(forward: Awaitable[Score], backward: Awaitable[Score],
                       stats: CallStats) -> tuple[Score, Score]:
    """Both orders' verdicts, each call finished and accounted in ``stats`` whatever the
    other's outcome (s5 tester F9: with a plain ``gather`` the other order's call was left
    running and missing from the row). Raises the failure that decides the sample, its
    measurements carrying both calls: an error the cascade cannot escalate before a parse
    failure (which escalates), the forward order's before the backward's."""
    outcomes = await asyncio.gather(forward, backward, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancellation, SystemExit: not a judge's failure
    errors = [o for o in outcomes if isinstance(o, Exception)]
    if errors:
        judged = [e for e in errors if isinstance(e, ComponentError)]
        if len(judged) < len(errors):
            raise next(e for e in errors if not isinstance(e, ComponentError))
        judged.sort(key=lambda e: e.kind in PARSE_FAILURE_KINDS)  # stable: forward first
        raise with_stats(judged[0], stats) from judged[0]
    forward_score, backward_score = outcomes
    assert isinstance(forward_score, Score) and isinstance(backward_score, Score)
    return forward_score, backward_score


class CascadeJudge(RubricJudge):
    """A rubric judge answered by ``first``, escalated to ``second`` when it is unsure."""

    class Config(RubricJudge.Config):  # type: ignore[name-defined]
        type: Literal["cascade-judge"] = "cascade-judge"  # type: ignore[assignment]
        first: dict[str, Any] = Field(
            description="Overrides of the [judge] table for the cheap first judge "
            "(e.g. {model = \"small\"}).",
        )
        second: dict[str, Any] = Field(
            description="Overrides of the [judge] table for the strong second judge.",
        )
        band: tuple[float, float] | None = Field(
            default=(0.25, 0.75), description="The first judge's normalised score in "
            "[low, high] (inclusive) sends the sample to the second judge; none: never.",
        )
        escalate_on_parse_failure: bool = Field(
            default=True, description="A first verdict that cannot be read goes to the "
            "second judge instead of failing the sample.",
        )
        check_orders: bool = Field(
            default=False, description="Ask the first judge twice, criteria in forward and "
            "reversed order; a disagreement goes to the second judge (two cheap calls).",
        )

        @model_validator(mode="after")
        def _band(self) -> CascadeJudge.Config:
            if self.band is not None:
                low, high = self.band
                if not 0.0 <= low <= high <= 1.0:
                    raise ValueError(f"band must be [low, high] with 0 <= low <= high <= 1, "
                                     f"got {list(self.band)}")
            if not self.first or not self.second:
                raise ValueError("a cascade needs non-empty 'first' and 'second' judge tables")
            return self

    summary: ClassVar[str] = ("LLM judge cascade: a cheap rubric judge, a strong one only "
                              "when the first is unsure")

    def __init__(self, config: CascadeJudge.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        if config.budget is not None:
            raise ValueError("budget is supported on rubric-judge only, not on cascade-judge "
                             "(docs/judges.md#budgets)")
        self.config: CascadeJudge.Config = config
        # Checked at load like the [judge] table itself, so a typo fails the pack, not a run.
        self.first_settings = context.validate_judge_settings(config.first)
        self.second_settings = context.validate_judge_settings(config.second)
        if context.judge_identity(self.first_settings) == \
                context.judge_identity(self.second_settings):
            # The escalation would be the first request again: de-duplicated or cached, the
            # "second opinion" would repeat the first verdict (as identical jurors would).
            raise ValueError("'first' and 'second' have the same judge settings: the second "
                             "judge would be asked the first's request and answered with "
                             "its verdict (identical requests are de-duplicated and "
                             "cached); give 'second' a different (stronger) model")

    async def score(self, sample: Sample) -> Score:  # type: ignore[override]
        cfg = self.config
        criteria = self.criteria_for(sample)
        stats = CallStats()
        first = self.context.judge_backend(self.first_settings)
        reason: str | None = None
        first_value: float | None = None
        request, _ = self.request_for(sample, criteria)
        try:
            if cfg.check_orders and len(criteria) > 1:
                reversed_request, _ = self.request_for(sample, criteria[::-1])
                forward, backward = await _both_orders(
                    self.judge_with(first, request, criteria, stats),
                    self.judge_with(first, reversed_request, criteria, stats), stats)
                first_value = forward.value
                if _verdicts(forward, criteria) != _verdicts(backward, criteria):
                    reason = "order_disagreement"
                    first_value = (forward.value + backward.value) / 2
            else:
                forward = await self.judge_with(first, request, criteria, stats)
                first_value = forward.value
        except ComponentError as exc:
            if not (cfg.escalate_on_parse_failure and exc.kind in PARSE_FAILURE_KINDS):
                raise
            reason = f"parse_failure:{exc.kind}"
        if reason is None and cfg.band is not None and first_value is not None \
                and cfg.band[0] <= first_value <= cfg.band[1]:
            reason = "in_band"
        if reason is None:
            final = forward
        else:
            second = self.context.judge_backend(self.second_settings)
            final = await self.judge_with(second, request, criteria, stats)
        current_telemetry().record_judge_stat(cfg.id, "cascade_escalated",
                                              float(reason is not None))
        final.measurements.update(stats.measurements())
        final.measurements["cascade_escalated"] = int(reason is not None)
        if first_value is not None:
            final.measurements["cascade_first_value"] = round(first_value, 6)
        final.details["cascade"] = {
            "escalated": reason is not None, "reason": reason,
            "first_model": self.first_settings.get("model"),
            "final_model": (self.second_settings if reason else self.first_settings
                            ).get("model"),
        }
        return final
