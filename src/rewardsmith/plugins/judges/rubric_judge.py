"""The rubric judge: an LLM scores one response against criteria with observable
indicators, answering with a JSON verdict whose schema is generated from the rubric.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judging import JudgeBackend, JudgeRequest
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.judges.budget import BudgetLedger, JudgeBudget, budgeted_score
from rewardsmith.plugins.judges.calling import (
    CallStats,
    JudgeComponentConfig,
    call_judge,
    check_size,
    checked_verdict,
    configured_criteria,
    context_blocks,
    with_stats,
)
from rewardsmith.plugins.judges.prompting import DataBlock, build_request
from rewardsmith.plugins.judges.rubric import (
    Criterion,
    Level,
    explicit_schema,
    holistic_schema,
    interpret_explicit,
    merge_criteria,
    parse_criteria,
    summarise,
    weighted_value,
)
from rewardsmith.plugins.judges.trajectory_text import render_turn, render_turns, task_prefix

EXPLICIT_TEMPLATE = "rubric-judge.explicit/1"
IMPLICIT_TEMPLATE = "rubric-judge.implicit/1"
_MAX_SCHEMAS = 256

_ROLE = ("You are a strict, impartial evaluator of responses written by an AI model. "
         "You judge only what is observable in the response.")
_BLOCK_ROLES = {
    "prompt": "the conversation the response answers",
    "reference": "a reference answer judged correct; use it as ground truth",
    "candidate": "the response to evaluate",
}
# scope = "trajectory" / "turn": the candidate is an agent's work, tool calls included.
_TRAJECTORY_ROLES = {
    "prompt": "the task the agent was given (the conversation before its first turn)",
    "history": "the agent's earlier turns, for context only (tool outputs may be truncated)",
    "reference": _BLOCK_ROLES["reference"],
}
_CANDIDATE_ROLES = {
    "trajectory": "the agent's trajectory to evaluate: every assistant turn, the tool calls "
                  "it made ('-> call') and what the tools answered ('<- result', ok or "
                  "error; long outputs truncated)",
    "turn": "the one agent turn to evaluate: its text, the tool calls it made ('-> call') "
            "and what the tools answered ('<- result', ok or error; long outputs truncated)",
}


class RubricJudge(Component["RubricJudge.Config"]):
    """Scores a response against the pack's (and the sample's) rubric criteria."""

    run = "async"

    class Config(JudgeComponentConfig):
        type: Literal["rubric-judge"] = "rubric-judge"
        criteria: list[Criterion] = Field(
            default_factory=list, description="Rubric items; pass/fail unless levels are given."
        )
        aggregation: Literal["explicit", "implicit"] = Field(
            default="explicit", description="explicit: weighted mean of per-criterion verdicts; "
            "implicit: one holistic score on `scale`, normalised to [0, 1].",
        )
        scale: tuple[int, int] = Field(default=(1, 5), description="Implicit aggregation: the "
                                       "lowest and highest holistic score.")
        scale_anchors: list[Level] = Field(default_factory=list, description="Implicit "
                                           "aggregation: what some scores on the scale mean.")
        extra_criteria_key: str | None = Field(
            default=None, description="Metadata key holding per-sample criteria (a list of "
            "criterion tables) added to the pack's.",
        )
        pass_threshold: float | None = Field(
            default=None, ge=0, le=1, description="Implicit aggregation: a normalised score at "
            "or above this passes. Explicit aggregation passes when every criterion passes.",
        )
        max_tool_output_chars: int = Field(
            default=2_000, ge=0, description="scope 'trajectory' or 'turn': each tool "
            "output shown to the judge is cut to this many characters (a note says how many "
            "were left out).",
        )
        budget: JudgeBudget | None = Field(
            default=None, description="A cost limit per batch and/or per run and the "
            "degrade path once it is spent; see plugins/judges/budget.py.",
        )
        score_from: Literal["sampled", "distribution"] = Field(
            default="sampled", description="distribution: values are expectations over the "
            "verdict tokens' log-probabilities (needs [judge] logprobs = true and "
            "top_logprobs; openai backend); see plugins/judges/logprob_scores.py.",
        )

        @model_validator(mode="after")
        def _check(self) -> RubricJudge.Config:
            low, high = self.scale
            if not low < high:
                raise ValueError(f"scale must be [low, high] with low < high, got {[low, high]}")
            outside = [a.score for a in self.scale_anchors if not low <= a.score <= high]
            if outside:
                raise ValueError(f"scale_anchors {outside} lie outside scale {[low, high]}")
            if not self.criteria and not self.criteria_file and not self.extra_criteria_key:
                raise ValueError("a rubric judge needs criteria, a criteria_file or an "
                                 "extra_criteria_key")
            return self

    uses_judge: ClassVar[bool] = True
    summary: ClassVar[str] = "LLM judge: pass/fail or ordinal criteria, schema-checked verdicts"

    def __init__(self, config: RubricJudge.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self.criteria = configured_criteria(config, list(config.criteria), context)
        self._schemas: dict[tuple[int, ...], tuple[tuple[Criterion, ...], dict[str, Any]]] = {}
        self.ledger: BudgetLedger | None = None
        if config.budget is not None:
            config.budget.check_policy(config.on_error)
            self.ledger = BudgetLedger(config.budget, context.judge_defaults)
        self.cheaper_settings = (context.validate_judge_settings(config.budget.cheaper)
                                 if config.budget is not None and config.budget.cheaper
                                 else context.judge_defaults)
        if config.budget is not None:
            config.budget.check_prices(context.judge_defaults, self.cheaper_settings)
        if config.score_from == "distribution" and not (
                context.judge_defaults.get("logprobs") and context.judge_defaults.get(
                    "top_logprobs")):
            raise ValueError("score_from = 'distribution' needs a judge that returns "
                             "log-probabilities: set logprobs = true and top_logprobs "
                             "(e.g. 5) in [judge] (openai backend)")
        self._from_distribution: Callable[..., Score] | None = None
        if config.score_from == "distribution":
            # Imported at pack load by the packs that ask for it only (issue 13: a cold start
            # that scores the sampled verdict does not build its tables and dataclasses).
            from rewardsmith.plugins.judges.logprob_scores import from_distribution

            self._from_distribution = from_distribution

    # -- the request ------------------------------------------------------------------
    def criteria_for(self, sample: Sample) -> list[Criterion]:
        key = self.config.extra_criteria_key
        extra: list[Criterion] = []
        if key is not None and sample.metadata.get(key) is not None:
            extra = parse_criteria(sample.metadata[key], f"metadata[{key!r}]")
        criteria = merge_criteria(self.criteria, extra, f"metadata[{key!r}]")
        if not criteria:
            raise ComponentError(f"no criteria: the pack has none and metadata[{key!r}] is "
                                 "missing", kind=ErrorKind.INVALID_RUBRIC)
        return criteria

    def system_prompt(self, criteria: Sequence[Criterion], block_names: Sequence[str]) -> str:
        cfg = self.config
        roles = _BLOCK_ROLES if cfg.scope == "response" else {
            **_TRAJECTORY_ROLES, "candidate": _CANDIDATE_ROLES[cfg.scope]}
        blocks = cfg.block_list(block_names, roles)
        rubric = "\n".join(c.describe() for c in criteria)
        parts = [_ROLE]
        if cfg.instructions.strip():
            parts.append(cfg.instructions.strip())
        parts.append(f"## Data blocks in this request\n{blocks}")
        if cfg.aggregation == "explicit":
            parts.append(
                "## Rubric\nJudge the `candidate` block against each criterion independently. "
                "Fail a criterion when the evidence for it is missing or you are unsure.\n"
                + rubric
            )
            parts.append(
                "## Verdict\nReturn one JSON object with exactly one key per criterion id. "
                'Each value is an object: "rationale" (one or two sentences citing the '
                'evidence in the response), then "verdict" ("pass" or "fail"), or "level" '
                "(an integer from the criterion's levels) for criteria with levels."
            )
        else:
            low, high = cfg.scale
            anchors = "\n".join(f"- {a.score}: {a.description.strip()}"
                                for a in sorted(cfg.scale_anchors, key=lambda a: a.score))
            parts.append("## What to consider\nWeigh the `candidate` block against these "
                         "criteria as a whole:\n" + rubric)
            parts.append(
                f"## Verdict\nReturn one JSON object: \"rationale\" (two or three sentences "
                f"citing the evidence), then \"score\", an integer from {low} (worst) to "
                f"{high} (best)." + (f"\nScale anchors:\n{anchors}" if anchors else "")
            )
        return "\n\n".join(parts)

    def _blocks(self, sample: Sample) -> list[DataBlock]:
        """The data blocks: the response as candidate, or (scope trajectory/turn) the task
        prefix once as ``prompt``, earlier turns as ``history`` and the rendered
        trajectory or turn as ``candidate``."""
        cfg = self.config
        if cfg.scope == "response" or not sample.turns:
            return [*context_blocks(cfg, sample), DataBlock("candidate", sample.response)]
        budget = cfg.max_tool_output_chars
        blocks = [b for b in context_blocks(cfg, sample) if b.name != "prompt"]
        head: list[DataBlock] = []
        if cfg.include_prompt:
            head.append(DataBlock("prompt", task_prefix(sample)))
        if cfg.scope == "turn":
            if len(sample.turns) > 1:
                head.append(DataBlock("history", render_turns(sample, sample.turns[:-1],
                                                              budget)))
            candidate = render_turn(sample.turns[-1], budget)
        else:
            candidate = render_turns(sample, sample.turns, budget)
        return [*head, *blocks, DataBlock("candidate", candidate)]

    def request_for(self, sample: Sample, criteria: Sequence[Criterion] | None = None
                    ) -> tuple[JudgeRequest, list[Criterion]]:
        """The request for ``sample`` and its criteria; ``criteria`` (default: the pack's and
        the sample's) may be given in another order, as cascades ask."""
        cfg = self.config
        criteria = list(criteria) if criteria is not None else self.criteria_for(sample)
        blocks = self._blocks(sample)
        check_size(cfg, blocks)
        if cfg.aggregation == "explicit":
            template, schema = EXPLICIT_TEMPLATE, self._schema_for(criteria)
        else:
            template, schema = IMPLICIT_TEMPLATE, self._schema_for(())
        if cfg.scope != "response":
            template += f"+{cfg.scope}"  # a different rendering: a different cache key
        what = {"response": "the response", "trajectory": "the agent's trajectory",
                "turn": "the agent's turn"}[cfg.scope]
        request = build_request(
            template_version=template,
            system_body=self.system_prompt(criteria, [b.name for b in blocks]),
            task=f"Evaluate {what} in the `candidate` block against the rubric in your "
                 "instructions.",
            blocks=blocks,
            closing="Return the JSON verdict now.",
            json_schema=schema,
            schema_name="rubric_verdict",
        )
        return request, criteria

    def _schema_for(self, criteria: Sequence[Criterion]) -> dict[str, Any]:
        """The verdict schema for ``criteria`` (the holistic one for ``()``), one object per
        distinct criteria list, so its compiled validator is found by identity (issue 13)."""
        key = tuple(id(c) for c in criteria)
        memo = self._schemas
        entry = memo.get(key)
        # The criteria are held in the entry, so the ids in its key are never reused.
        schema = entry[1] if entry is not None and all(
            a is b for a, b in zip(entry[0], criteria, strict=True)) else None
        if schema is None:
            if criteria:
                schema = explicit_schema(criteria)
            else:
                low, high = self.config.scale
                schema = holistic_schema(range(low, high + 1))
            if len(memo) >= _MAX_SCHEMAS:
                memo.clear()  # per-sample criteria: keep the memo bounded
            memo[key] = (tuple(criteria), schema)
        return schema

    # -- scoring ----------------------------------------------------------------------
    async def score(self, sample: Sample) -> Score:  # type: ignore[override]
        if self.ledger is not None:
            return await budgeted_score(self, sample)
        request, criteria = self.request_for(sample)
        return await self.judge_with(self.context.judge_backend(), request, criteria,
                                     CallStats())

    async def judge_with(self, backend: JudgeBackend, request: JudgeRequest,
                         criteria: Sequence[Criterion], stats: CallStats) -> Score:
        """One call of ``backend`` on ``request``, scored; ``stats`` accumulates its cost.
        Raises the backend's ComponentError or judge_invalid_verdict."""
        reply = await call_judge(backend, request, stats)
        try:
            verdict = checked_verdict(reply, request)
        except ComponentError as exc:
            raise with_stats(exc, stats) from exc
        if self.config.aggregation == "explicit":
            score = self._explicit(criteria, verdict, stats)
        else:
            score = self._implicit(verdict, stats)
        if self._from_distribution is not None:
            scale = self.config.scale if self.config.aggregation == "implicit" else None
            score = self._from_distribution(score, reply.logprobs, criteria, scale,
                                            self.config.id)
            threshold = self.config.pass_threshold
            if scale is not None and threshold is not None:
                score.passed = score.value >= threshold
        return score

    def _explicit(self, criteria: Sequence[Criterion], verdict: dict[str, Any],
                  stats: CallStats) -> Score:
        results = interpret_explicit(criteria, verdict)
        measurements: dict[str, Any] = {r.id: r.value for r in results}
        measurements["criteria_passed"] = sum(r.passed for r in results)
        measurements.update(stats.measurements())
        return Score(
            value=weighted_value(results),
            passed=all(r.passed for r in results),
            rationale=summarise(results),
            measurements=measurements,
            details={"template": EXPLICIT_TEMPLATE,
                     "criteria": {r.id: r.to_json() for r in results}},
        )

    def _implicit(self, verdict: dict[str, Any], stats: CallStats) -> Score:
        low, high = self.config.scale
        raw = int(verdict["score"])
        value = (raw - low) / (high - low)
        threshold = self.config.pass_threshold
        rationale = str(verdict["rationale"]).strip()
        return Score(
            value=value,
            passed=None if threshold is None else value >= threshold,
            rationale=f"{raw}/{high}: {rationale}"[:600],
            measurements={"holistic_score": raw, **stats.measurements()},
            details={"template": IMPLICIT_TEMPLATE, "score": raw, "scale": [low, high],
                     "rationale": rationale},
        )
