"""The pairwise judge: an LLM compares two responses, asked in both orders.

Position bias is the best-documented failure of LLM comparisons, so every comparison is
asked as (A=x, B=y) and (A=y, B=x); when the two verdicts disagree after un-swapping, the
comparison is a tie and is counted as position-inconsistent. A judge that always prefers
the first slot therefore produces only ties, never a winner.

Modes: ``reference`` (the candidate against ``sample.reference_text``) and ``baseline``
(against a response stored in metadata) score one sample at a time; ``group`` plays a
round-robin among the rollouts of one prompt under a pair budget and turns it into
rewards by win rate or Bradley-Terry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import (
    Component,
    ComponentContext,
)
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.judges.calling import (
    CallStats,
    JudgeComponentConfig,
    ask_verdict,
    check_size,
    configured_criteria,
    context_blocks,
    distinct_responses,
    failure_kind,
    with_stats,
)
from rewardsmith.plugins.judges.prompting import DataBlock, as_data_text, build_request
from rewardsmith.plugins.judges.rubric import Criterion
from rewardsmith.plugins.judges.tournament import (
    MemberRecord,
    PairResult,
    bradley_terry,
    expected_win_rates,
    plan_pairs,
    records,
    win_rates,
)

PAIRWISE_TEMPLATE = "pairwise-judge/1"
_BLOCK_ROLES = {
    "prompt": "the conversation both responses answer",
    "reference": "a reference answer judged correct; use it as ground truth",
    "response_a": "the first response to compare",
    "response_b": "the second response to compare",
}


def _outcome_measurements(record: MemberRecord) -> dict[str, float | int]:
    comparisons = record.comparisons
    return {
        "wins": record.wins,
        "ties": record.ties,
        "losses": record.losses,
        "comparisons": comparisons,
        "position_inconsistency": record.inconsistent / comparisons if comparisons else 0.0,
    }


class PairwiseJudge(Component["PairwiseJudge.Config"]):
    """Compares two responses in both orders: per sample (``reference``/``baseline``,
    ``run = "async"``) or per prompt group (``group``, ``run = "group"``)."""

    class Config(JudgeComponentConfig):
        type: Literal["pairwise-judge"] = "pairwise-judge"
        mode: Literal["reference", "baseline", "group"] = Field(
            description="reference: candidate vs the sample's reference answer; baseline: vs "
            "metadata[baseline_key]; group: round-robin among the prompt's rollouts.",
        )
        criteria: list[Criterion] = Field(
            default_factory=list, description="What makes one response better; with "
            "criteria_file, the same criteria a rubric judge in the pack uses.",
        )
        question: str = Field(default="Which response better accomplishes the task in the "
                              "prompt?", min_length=1)
        include_prompt: bool = True
        allow_tie: bool = True
        baseline_key: str = "baseline_response"
        scoring: Literal["win_rate", "bradley_terry"] = Field(
            default="win_rate", description="group mode: how outcomes become rewards."
        )
        max_pairs_per_group: int | None = Field(
            default=None, ge=1, description="group mode: at most this many pairs per group "
            "(each pair costs two judge calls); pairs are chosen to cover every member.",
        )

        @model_validator(mode="after")
        def _check(self) -> PairwiseJudge.Config:
            if self.mode != "group" and self.max_pairs_per_group is not None:
                raise ValueError("max_pairs_per_group applies only to mode 'group'")
            if self.mode == "reference" and self.include_reference:
                raise ValueError("mode 'reference' already compares against the reference; "
                                 "include_reference would show it twice")
            return self

    uses_judge: ClassVar[bool] = True
    summary: ClassVar[str] = ("LLM judge: two responses compared in both orders (reference, "
                              "baseline or group tournament)")

    def __init__(self, config: PairwiseJudge.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        # One class for every mode; only how the engine runs it depends on the config.
        self.run = "group" if config.mode == "group" else "async"
        self.criteria = configured_criteria(config, list(config.criteria), context)

    def system_prompt(self, block_names: Sequence[str]) -> str:
        cfg = self.config
        blocks = cfg.block_list(block_names, _BLOCK_ROLES)
        points = "\n".join(f"- `{c.id}`: {c.pass_if.strip()}" for c in self.criteria)
        choices = '"A", "B" or "tie"' if cfg.allow_tie else '"A" or "B"'
        parts = ["You are a strict, impartial judge comparing two responses written by AI "
                 "models for the same task."]
        if cfg.instructions.strip():
            parts.append(cfg.instructions.strip())
        parts.append(f"## Data blocks in this request\n{blocks}")
        parts.append(f"## Question\n{cfg.question.strip()}"
                     + (f"\nDecide on these points:\n{points}"
                        if points else ""))
        parts.append(
            "## Verdict\nThe order of the two responses is arbitrary: judge substance, never "
            "position or length for its own sake. Return one JSON object: \"rationale\" "
            "(compare the two on the points above, citing evidence from each), then "
            f"\"winner\": {choices} (A means `response_a` is better"
            + (", tie means neither is better)." if cfg.allow_tie else ").")
        )
        return "\n\n".join(parts)

    def schema(self) -> dict[str, Any]:
        winners = ["A", "B", "tie"] if self.config.allow_tie else ["A", "B"]
        return {
            "type": "object",
            "properties": {"rationale": {"type": "string"},
                           "winner": {"type": "string", "enum": winners}},
            "required": ["rationale", "winner"],
            "additionalProperties": False,
        }

    def request(self, context: Sequence[DataBlock], first: str, second: str) -> JudgeRequest:
        blocks = [*context, DataBlock("response_a", first), DataBlock("response_b", second)]
        check_size(self.config, blocks)
        return build_request(
            template_version=PAIRWISE_TEMPLATE,
            system_body=self.system_prompt([b.name for b in blocks]),
            task="Compare the responses in the `response_a` and `response_b` blocks as your "
                 "instructions say.",
            blocks=blocks,
            closing="Return the JSON verdict now.",
            json_schema=self.schema(),
            schema_name="pairwise_verdict",
        )

    async def _winner(self, request: JudgeRequest, stats: CallStats) -> str:
        verdict = await ask_verdict(self.context.judge_backend(), request, stats)
        return str(verdict["winner"])

    async def compare(self, context: Sequence[DataBlock], x: str, y: str, stats: CallStats
                      ) -> tuple[float, bool]:
        """x's score against y (1, 0.5 or 0) and whether the two orders disagreed."""
        outcomes = await asyncio.gather(
            self._winner(self.request(context, x, y), stats),
            self._winner(self.request(context, y, x), stats),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, ComponentError):
                raise with_stats(outcome, stats)  # both calls accounted, failed or not
            if isinstance(outcome, BaseException):
                raise outcome
        forward, backward = outcomes
        x_forward = {"A": 1.0, "B": 0.0, "tie": 0.5}[str(forward)]
        x_backward = {"A": 0.0, "B": 1.0, "tie": 0.5}[str(backward)]
        if x_forward == x_backward:
            return x_forward, False
        return 0.5, True


    # -- reference / baseline modes: one comparison (two calls) per sample ---------------
    def opponent(self, sample: Sample) -> str:
        if self.config.mode == "reference":
            reference = sample.reference_text
            if reference is None:
                raise ComponentError("mode 'reference' needs the sample's reference_answer",
                                     kind=ErrorKind.MISSING_CONTEXT)
            return reference
        key = self.config.baseline_key
        if sample.metadata.get(key) is None:
            raise ComponentError(f"mode 'baseline' needs metadata[{key!r}], which is missing",
                                 kind=ErrorKind.MISSING_CONTEXT)
        return as_data_text(sample.metadata[key])

    async def score(self, sample: Sample) -> Score:  # type: ignore[override]
        stats = CallStats()
        opponent = self.opponent(sample)
        against = "the reference" if self.config.mode == "reference" else "the baseline"
        if sample.response == opponent:
            # A text against itself is a tie, never a question: asked, a judge without
            # "tie" must pick a slot, which would read as position inconsistency.
            value, inconsistent, note = 0.5, False, " (the same text: not asked)"
        else:
            value, inconsistent = await self.compare(context_blocks(self.config, sample),
                                                     sample.response, opponent, stats)
            note = " (the two orders disagreed)" if inconsistent else ""
        record = MemberRecord()
        record.add(value, inconsistent)
        verdict = {1.0: "beats", 0.5: "ties with", 0.0: "loses to"}[value]
        return Score(value=value, passed=value > 0.5,
                     rationale=f"candidate {verdict} {against}{note}",
                     measurements={**_outcome_measurements(record), **stats.measurements()},
                     details={"template": PAIRWISE_TEMPLATE, "mode": self.config.mode})


    # -- group mode: a budgeted round-robin among one prompt's distinct rollouts ----------
    async def _pair(self, context: Sequence[DataBlock], responses: Sequence[str], i: int,
                    j: int) -> tuple[PairResult | BaseException, CallStats]:
        """Distinct responses ``i`` and ``j`` compared, with the pair's calls: both orders'
        calls are in the stats whether the comparison succeeded or raised."""
        stats = CallStats()
        try:
            score, inconsistent = await self.compare(context, responses[i], responses[j],
                                                     stats)
        except Exception as exc:
            return exc, stats
        return PairResult(i, j, score, inconsistent), stats

    async def score_group(self, samples: Sequence[Sample]) -> Sequence[Score | BaseException]:
        """Scores of ``samples`` (one prompt group), in order.

        Identical rollouts are collapsed, as the listwise judge does: the tournament is
        played among the group's distinct responses and every copy gets its response's
        score, so a response's reward never depends on how many copies the group holds
        (comparing a response with itself is a tie at best, a position flip at worst, and
        spends calls and pair budget). A group whose rollouts are all one response has
        nothing to compare: every copy gets 0.5, the value of all-equal members, with
        ``comparisons = 0`` and no call (a constant group has no advantage in GRPO).
        """
        if len(samples) < 2:
            return [ComponentError("group mode needs at least two rollouts of the prompt; "
                                   "this group has one", kind=ErrorKind.GROUP_TOO_SMALL)]
        distinct, member_of = distinct_responses(samples)
        n = len(distinct)
        copies = [member_of.count(m) for m in range(n)]
        if n < 2:
            return [self._all_alike(len(samples)) for _ in samples]
        # Members share the prompt; the first member's metadata supplies the context.
        context = context_blocks(self.config, samples[0])
        pairs = plan_pairs(n, self.config.max_pairs_per_group)
        outcomes = await asyncio.gather(*(self._pair(context, distinct, i, j)
                                          for i, j in pairs))

        results: list[PairResult] = []
        errors: dict[int, BaseException] = {}
        failed = [0] * n
        shares = [CallStats() for _ in range(n)]
        for (i, j), (outcome, stats) in zip(pairs, outcomes, strict=True):
            # a pair's calls (a failed pair's too) count on its first member, its tokens and
            # cost are halved: summed over a batch, each call is counted once
            for member, share in zip((i, j), stats.split(2), strict=True):
                shares[member].absorb(share)
            if isinstance(outcome, BaseException):
                errors.setdefault(i, outcome)
                errors.setdefault(j, outcome)
                failed[i] += 1
                failed[j] += 1
                continue
            results.append(outcome)

        recs = records(n, results)
        compared = [k for k in range(n) if recs[k].comparisons]
        if self.config.scoring == "bradley_terry":
            strength = bradley_terry(n, results)
            values: dict[int, float] = expected_win_rates(strength, compared)
        else:
            strength = []
            values = {k: v for k, v in enumerate(win_rates(recs)) if v is not None}

        # a distinct response's share is split again over its copies (counts on the first)
        copy_shares = [iter(shares[m].split(copies[m])) for m in range(n)]
        scores: list[Score | BaseException] = []
        for member in member_of:
            share = next(copy_shares[member])
            group_figures: dict[str, Any] = {
                "group_distinct": n, "duplicates": copies[member] - 1,
                "failed_comparisons": failed[member]}
            if member not in values:
                scores.append(self._uncompared(errors.get(member),
                                               {**share.measurements(), **group_figures}))
                continue
            rec = recs[member]
            measurements: dict[str, Any] = {**_outcome_measurements(rec),
                                            **share.measurements(), **group_figures}
            if strength:
                measurements["bt_strength"] = round(strength[member], 6)
            lost = f"; {failed[member]} failed" if failed[member] else ""
            scores.append(Score(
                value=values[member],
                rationale=(f"{rec.wins:g} wins, {rec.ties:g} ties, {rec.losses:g} losses in "
                           f"{rec.comparisons} comparisons among {n} distinct responses"
                           f"{lost} ({self.config.scoring})"),
                measurements=measurements,
                details={"template": PAIRWISE_TEMPLATE, "mode": "group",
                         "group_size": len(samples), "distinct": n, "pairs": len(pairs)},
                partial_error_kind=(failure_kind(errors[member]) if failed[member]
                                    else None),
            ))
        return scores

    def _all_alike(self, size: int) -> Score:
        measurements: dict[str, Any] = {**_outcome_measurements(MemberRecord()),
                                        **CallStats().measurements(), "group_distinct": 1,
                                        "duplicates": size - 1, "failed_comparisons": 0}
        if self.config.scoring == "bradley_terry":
            measurements["bt_strength"] = 1.0
        return Score(value=0.5,
                     rationale=f"all {size} rollouts are the same response: nothing to "
                               "compare, 0.5 (every member equal)",
                     measurements=measurements,
                     details={"template": PAIRWISE_TEMPLATE, "mode": "group",
                              "group_size": size, "distinct": 1, "pairs": 0})

    @staticmethod
    def _uncompared(error: BaseException | None,
                    measurements: dict[str, Any]) -> BaseException:
        """The failure of a member left without a comparison; ``measurements``: its share
        of its pairs' calls (failed ones included) and its group figures."""
        if error is None:
            return ComponentError("no comparison was budgeted for this rollout; raise "
                                  "max_pairs_per_group", kind=ErrorKind.NOT_COMPARED,
                                  measurements=measurements)
        if isinstance(error, ComponentError):
            return ComponentError(f"every comparison failed: {error}", kind=error.kind,
                                  measurements=measurements)
        return error
