"""The listwise judge: one call scores a whole prompt group of rollouts side by side.

RULER (OpenPipe ART, ``art/rewards/ruler.py``; https://art.openpipe.ai/fundamentals/ruler)
showed that an LLM judge ranks a group of trajectories more reliably relative to each other
than one at a time, and that GRPO needs only relative scores within a group. This
component does the same through the judge-backend contract, hardened like every judge
here (untrusted text only in data blocks), and adds what RULER leaves to the caller:

* **identical rollouts collapsed**: each distinct response is shown once and its score
  given to every sample that wrote it;
* **shared prefixes sent once**: the prompt is one block for the whole group, and a long
  common start of the responses (agent transcripts often share one) goes in a
  ``shared_response_prefix`` block, each candidate block holding only the rest;
* **order randomised per call**, from a seed and the group's content (reproducible: the
  same group gets the same orders, so caching and replays still hit), and with
  ``orders = 2`` asked again in the reversed order; a member's score is its mean over
  the calls, and every (position, score) pair is kept in ``details`` so position bias can
  be measured (:func:`position_bias`, shown by ``rewardsmith packs test``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.judges.calling import (
    CallStats,
    JudgeComponentConfig,
    ask,
    check_size,
    configured_criteria,
    context_blocks,
    distinct_responses,
    failure_kind,
    with_stats,
)
from rewardsmith.plugins.judges.prompting import DataBlock, build_request
from rewardsmith.plugins.judges.rubric import Criterion, check_verdict

LISTWISE_TEMPLATE = "listwise-judge/1"
PREFIX_BLOCK = "shared_response_prefix"
_BLOCK_ROLES = {
    "prompt": "the conversation every candidate answers",
    "reference": "a reference answer judged correct; use it as ground truth",
    PREFIX_BLOCK: "the opening every candidate shares; each candidate block continues it",
}


def candidate_name(k: int) -> str:
    return f"candidate_{k + 1}"


def shared_prefix(texts: Sequence[str], minimum: int) -> str:
    """The longest common start of ``texts`` cut after its last line break, if at least
    ``minimum`` characters long (a cut mid-line would split a word between blocks); else
    the empty string. Needs two or more texts."""
    if len(texts) < 2 or minimum <= 0:
        return ""
    first, last = min(texts), max(texts)  # the common prefix of all = that of these two
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    cut = first.rfind("\n", 0, n) + 1
    return first[:cut] if cut >= minimum else ""


def call_orders(n: int, calls: int, seed: int, key: str) -> list[list[int]]:
    """The member order of each call: a seeded shuffle of ``range(n)`` for the first,
    its reverse for the second (every member moves as far as it can), fresh shuffles
    after that. ``key`` (the group's content digest) makes orders differ between groups
    yet repeat for the same group. Orders are distinct, so there are at most ``n!`` of
    them: one candidate has one order, two have two (asking the same order again would be
    the same request, answered by the dedup, not a second opinion)."""
    rng = random.Random(f"{seed}:{key}")
    first = list(range(n))
    rng.shuffle(first)
    orders = [first]
    wanted = min(calls, math.factorial(min(n, 5)))  # calls <= 4 < 5!
    if wanted >= 2:
        orders.append(first[::-1])
    if wanted > len(orders) and n <= 4:
        # few orders exist: take the unused ones in a seeded order rather than draw blindly
        rest = [list(p) for p in itertools.permutations(range(n)) if list(p) not in orders]
        rng.shuffle(rest)
        orders.extend(rest[:wanted - len(orders)])
    while len(orders) < wanted:
        more = list(range(n))
        rng.shuffle(more)
        if more not in orders:
            orders.append(more)
    return orders


class ListwiseJudge(Component["ListwiseJudge.Config"]):
    """Scores every distinct rollout of a prompt group in one call (per order asked)."""

    run = "group"

    class Config(JudgeComponentConfig):
        type: Literal["listwise-judge"] = "listwise-judge"
        criteria: list[Criterion] = Field(
            default_factory=list, description="What makes a response better (shown as the "
            "points to weigh); with criteria_file, shared with other judges.",
        )
        question: str = Field(default="How well does each candidate accomplish the task in "
                              "the prompt?", min_length=1)
        include_prompt: bool = True
        max_score: int = Field(default=10, ge=1, le=100, description="Candidates are scored "
                               "0..max_score; the reward is score / max_score.")
        orders: int = Field(default=1, ge=1, le=4, description="Calls per group, each with "
                            "the candidates in another order (2: the second reversed).")
        seed: int = Field(default=0, description="Seeds the candidate orders (with the "
                          "group's content).")
        max_candidates: int = Field(default=16, ge=2, le=64, description="At most this many "
                                    "distinct responses in one call; a larger group fails "
                                    "with kind judge_input_too_large.")
        min_shared_prefix_chars: int = Field(
            default=200, ge=0, description="A common start of the responses at least this "
            "long is sent once; 0 turns this off.",
        )

    uses_judge: ClassVar[bool] = True
    summary: ClassVar[str] = ("LLM judge: one call scores a whole prompt group (RULER-style), "
                              "orders randomised, duplicates collapsed")

    def __init__(self, config: ListwiseJudge.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self.criteria = configured_criteria(config, list(config.criteria), context)

    # -- the request --------------------------------------------------------------------
    def system_prompt(self, block_names: Sequence[str], n: int) -> str:
        cfg = self.config
        points = "\n".join(f"- `{c.id}`: {c.pass_if.strip()}" for c in self.criteria)
        parts = [f"You are a strict, impartial judge comparing {n} responses written by AI "
                 "models for the same task, side by side."]
        if cfg.instructions.strip():
            parts.append(cfg.instructions.strip())
        parts.append("## Data blocks in this request\n" + cfg.block_list(
            block_names, {**_BLOCK_ROLES, **{candidate_name(k): "a response to score"
                                             for k in range(n)}}))
        parts.append(f"## Question\n{cfg.question.strip()}"
                     + (f"\nWeigh these points:\n{points}" if points else ""))
        parts.append(
            "## Verdict\nThe order of the candidates is arbitrary: judge substance, never "
            "position or length for its own sake. Score each candidate relative to the "
            "others. Return one JSON object: \"rationale\" (compare the candidates, citing "
            f"evidence), then \"scores\": an object giving every candidate block's name an "
            f"integer from 0 (worst) to {cfg.max_score} (best)."
        )
        return "\n\n".join(parts)

    def schema(self, n: int) -> dict[str, Any]:
        names = [candidate_name(k) for k in range(n)]
        score = {"type": "integer", "minimum": 0, "maximum": self.config.max_score}
        return {
            "type": "object",
            "properties": {
                "rationale": {"type": "string"},
                "scores": {"type": "object", "properties": dict.fromkeys(names, score),
                           "required": names, "additionalProperties": False},
            },
            "required": ["rationale", "scores"],
            "additionalProperties": False,
        }

    def request(self, context: Sequence[DataBlock], prefix: str, texts: Sequence[str]
                ) -> JudgeRequest:
        """The request showing ``texts`` (already in this call's order) as candidates."""
        blocks = [*context]
        if prefix:
            blocks.append(DataBlock(PREFIX_BLOCK, prefix))
        blocks += [DataBlock(candidate_name(k), text[len(prefix):])
                   for k, text in enumerate(texts)]
        check_size(self.config, blocks)
        return build_request(
            template_version=LISTWISE_TEMPLATE,
            system_body=self.system_prompt([b.name for b in blocks], len(texts)),
            task="Score each candidate block against the others as your instructions say.",
            blocks=blocks,
            closing="Return the JSON verdict now.",
            json_schema=self.schema(len(texts)),
            schema_name="listwise_verdict",
        )

    # -- scoring ------------------------------------------------------------------------
    async def _call(self, context: Sequence[DataBlock], prefix: str, distinct: Sequence[str],
                    order: Sequence[int], stats: CallStats) -> list[float]:
        """One call; each distinct member's normalised score, indexed by member."""
        request = self.request(context, prefix, [distinct[m] for m in order])
        parsed = await ask(self.context.judge_backend(), request, stats)
        try:
            scores = check_verdict(parsed, request.json_schema or {})["scores"]
        except ComponentError as exc:
            raise with_stats(exc, stats) from exc
        out = [0.0] * len(distinct)
        for position, member in enumerate(order):
            out[member] = scores[candidate_name(position)] / self.config.max_score
        return out

    async def score_group(self, samples: Sequence[Sample]) -> Sequence[Score | BaseException]:
        cfg = self.config
        if not samples:
            return []
        distinct, member_of = distinct_responses(samples)
        n = len(distinct)
        if n > cfg.max_candidates:
            error = ComponentError(f"the group has {n} distinct responses, more than "
                                   f"max_candidates={cfg.max_candidates}",
                                   kind=ErrorKind.JUDGE_INPUT_TOO_LARGE)
            return [error] * len(samples)
        try:
            context = context_blocks(cfg, samples[0])  # members share the prompt
            prefix = shared_prefix(distinct, cfg.min_shared_prefix_chars)
            digest = hashlib.blake2b("\x00".join(distinct).encode(), digest_size=8).hexdigest()
            orders = call_orders(n, cfg.orders, cfg.seed, digest)
            stats = CallStats()
            outcomes = await asyncio.gather(
                *(self._call(context, prefix, distinct, order, stats) for order in orders),
                return_exceptions=True)
        except ComponentError as exc:
            return [exc] * len(samples)
        done = [(order, o) for order, o in zip(orders, outcomes, strict=True)
                if not isinstance(o, BaseException)]
        if not done:
            failure = next(o for o in outcomes if isinstance(o, BaseException))
            if not isinstance(failure, ComponentError):
                return [failure] * len(samples)
            # Every member fails with the group's error, and the group's calls are split
            # over the members as for a verdict: not counted once per member (s5 F1/F9).
            return [with_stats(failure, share) for share in stats.split(len(samples))]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        return self._scores(samples, member_of, n, done, stats, failures, bool(prefix))

    def _scores(self, samples: Sequence[Sample], member_of: Sequence[int], n: int,
                done: Sequence[tuple[list[int], list[float]]], stats: CallStats,
                failures: Sequence[BaseException], prefix_sent: bool
                ) -> list[Score | BaseException]:
        per_member: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for order, values in done:
            for position, member in enumerate(order):
                per_member[member].append((position, values[member]))
        means = [statistics.fmean(v for _, v in seen) for seen in per_member]
        correlation = position_correlation(
            (p, v, n) for seen in per_member for p, v in seen)
        if correlation is not None:
            current_telemetry().record_judge_stat(self.config.id, "position_correlation",
                                                  correlation)
        copies = [member_of.count(m) for m in range(n)]
        shares = [share.measurements() for share in stats.split(len(member_of))]
        calls = len(done)
        scores: list[Score | BaseException] = []
        for k, member in enumerate(member_of):
            seen = per_member[member]
            values = [v for _, v in seen]
            scores.append(Score(
                value=means[member],
                rationale=(f"{means[member] * self.config.max_score:.1f}/"
                           f"{self.config.max_score} over {calls} ordering(s) of {n} "
                           "distinct candidates"),
                measurements={
                    # how far the score moved between orders: only with two or more
                    **({"listwise_order_spread": round(max(values) - min(values), 6)}
                       if len(values) > 1 else {}),
                    "listwise_orders": calls,
                    "listwise_mean_position": round(statistics.fmean(
                        p / (n - 1) if n > 1 else 0.0 for p, _ in seen), 6),
                    "group_distinct": n,
                    "duplicates": copies[member] - 1,
                    # the group's calls count on its first sample, its tokens and cost are
                    # spread over all: summed over a batch, each is counted once
                    **shares[k],
                    "failed_orderings": len(failures),
                },
                details={"template": LISTWISE_TEMPLATE, "group_size": len(member_of),
                         "distinct": n, "shared_prefix_sent": prefix_sent,
                         "listwise": [{"position": p, "of": n, "score": round(v, 6)}
                                      for p, v in seen]},
                partial_error_kind=failure_kind(failures[0]) if failures else None,
            ))
        return scores


def position_correlation(points: Iterable[tuple[int, float, int]]) -> float | None:
    """Pearson correlation of the relative position ``p / (n - 1)`` (0 first, 1 last) with
    the score, over ``(position, score, n)`` points; negative means earlier slots score
    higher. None with fewer than two points or no variation in either."""
    xs: list[float] = []
    ys: list[float] = []
    for position, score, n in points:
        if n > 1:
            xs.append(position / (n - 1))
            ys.append(score)
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def position_bias(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Position bias of a listwise judge over many scored samples (wire-format component
    outcomes, as in ``rewardsmith score`` output): the mean score of the first and of the
    last slot, their difference, and :func:`position_correlation` over every (position,
    score) the judge gave. None when no outcome carries listwise details.

    Each group's calls appear once per sample of the group; duplicates of one response
    repeat their member's points, which weights a member by its copies, as the reward does.
    """
    points: list[tuple[int, float, int]] = []
    for outcome in outcomes:
        for seen in (outcome.get("details") or {}).get("listwise") or []:
            points.append((int(seen["position"]), float(seen["score"]), int(seen["of"])))
    if not points:
        return None
    first = [s for p, s, n in points if n > 1 and p == 0]
    last = [s for p, s, n in points if n > 1 and p == n - 1]
    mean_first = statistics.fmean(first) if first else None
    mean_last = statistics.fmean(last) if last else None
    return {
        "points": len(points),
        "first_slot_mean": mean_first,
        "last_slot_mean": mean_last,
        "first_minus_last": (mean_first - mean_last
                             if mean_first is not None and mean_last is not None else None),
        "position_correlation": position_correlation(points),
    }
