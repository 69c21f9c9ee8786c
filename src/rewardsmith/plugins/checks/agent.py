"""Checks for agents: whole trajectories, their tool log and the environment's final state.

Each reads a parsed trajectory (:attr:`Sample.turns <rewardsmith.core.sample.Sample.turns>`,
:attr:`Sample.tool_log <rewardsmith.core.sample.Sample.tool_log>`,
:attr:`Sample.final_state <rewardsmith.core.sample.Sample.final_state>`) and declares
``scope = "trajectory"``: its one score is assigned to turns as the pack's ``[trajectory]``
table says (``core.trajectory``). Tool-call validity per turn is the existing
``tool-call-valid`` check with ``scope = "turn"``.

The probes these answer come from multi-turn RL practice: too many tool calls, repeating a
call in a loop, ignoring a tool error, answering before looking up, claiming an action
the tool log does not show, a task left undone in the environment.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample, ToolCall, ToolResult
from rewardsmith.plugins.checks._claims import ACTIONS, ActionClaims
from rewardsmith.plugins.checks._pack_regex import (
    DEFAULT_MATCH_TIMEOUT_S,
    FLAGS,
    compile_pack_pattern,
    search,
)
from rewardsmith.plugins.checks._paths import MISSING, lookup, parse_path
from rewardsmith.plugins.checks._text import fold

#: Words an answer uses when it owns up to a failed tool (matched on folded text).
DEFAULT_ACKNOWLEDGE = ("error", "unable", "could not", "couldn't", "cannot", "can't",
                       "failed", "unavailable", "not available", "try again", "down")


class _AgentConfig(ComponentConfig):
    scope: Literal["trajectory"] = Field(  # type: ignore[assignment]
        default="trajectory", description="Agent checks read the whole trajectory.")


def _call_key(call: ToolCall) -> str:
    try:
        args = orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        args = repr(call.arguments)
    return f"{call.name}\x1f{args}"


def _acknowledges(text: str, words: tuple[str, ...]) -> bool:
    folded = fold(text)
    return any(fold(w) in folded for w in words)


class ToolEfficiency(Component["ToolEfficiency.Config"]):
    """1 minus penalties: each call over the budget, each repeat of an identical call
    (same tool, same arguments) that had been answered without an error, each tool error
    the agent ignored (never retried that tool, and no later answer owns up to the
    failure). Never below 0."""

    summary = "Trajectory: calls over a budget, repeated identical calls, ignored tool errors."

    class Config(_AgentConfig):
        type: Literal["tool-efficiency"] = "tool-efficiency"
        max_calls: int = Field(ge=0, description="Tool calls allowed in the trajectory.")
        per_extra_call: float = Field(default=0.25, ge=0, le=1)
        per_repeat: float = Field(default=0.5, ge=0, le=1, description=(
            "Penalty for each call identical to an earlier one (name and arguments)."))
        per_ignored_error: float = Field(default=0.5, ge=0, le=1)
        acknowledge_words: list[str] = Field(
            default_factory=lambda: list(DEFAULT_ACKNOWLEDGE),
            description="Words (case- and accent-blind) by which a later answer owns up "
                        "to a tool error.")

    def score(self, sample: Sample) -> Score:
        cfg = self.config
        log = sample.tool_log
        extra = max(0, len(log) - cfg.max_calls)
        seen: set[str] = set()
        repeats = 0
        for _, call, result in log:
            key = _call_key(call)
            repeats += key in seen
            # A retry after an error is not a loop: only an answered call makes the same
            # call again a repeat.
            if result is None or not result.is_error:
                seen.add(key)
        ignored = 0
        words = tuple(cfg.acknowledge_words)
        for turn_index, call, result in log:
            if result is None or not result.is_error:
                continue
            later = sample.turns[turn_index + 1:]
            retried = any(c.name == call.name for t in later for c in t.calls)
            owned = any(_acknowledges(t.text, words) for t in later)
            ignored += not (retried or owned)
        penalty = (extra * cfg.per_extra_call + repeats * cfg.per_repeat
                   + ignored * cfg.per_ignored_error)
        value = max(0.0, 1.0 - penalty)
        problems = [f"{n} {what}" for n, what in ((extra, "call(s) over the budget of "
                                                   f"{cfg.max_calls}"),
                                                  (repeats, "repeated identical call(s)"),
                                                  (ignored, "ignored tool error(s)")) if n]
        return Score(value, not problems, "; ".join(problems) or f"{len(log)} call(s), efficient",
                     {"calls": len(log), "over_budget": extra, "repeats": repeats,
                      "ignored_errors": ignored})


class PrematureAnswer(Component["PrematureAnswer.Config"]):
    """0 when the agent answered (a turn with text and no tool call) before every required
    tool had been called — and, with ``require_success``, had answered without an error.

    With ``require_answer`` (the default) it is also 0 when the trajectory gives no final
    answer: its last assistant turn still makes tool calls (it ends on a tool result) or
    its text is blank. Otherwise a policy that stops before answering, or answers
    nothing, would pass every check that reads the answer."""

    summary = "Trajectory: a final answer, given only after the required tools were used."

    class Config(_AgentConfig):
        type: Literal["premature-answer"] = "premature-answer"
        required_tools: list[str] = Field(min_length=1)
        require_success: bool = Field(default=True, description=(
            "A call counts only when its result came back without an error."))
        require_answer: bool = Field(default=True, description=(
            "0 when the last assistant turn is not an answer: it makes tool calls, or its "
            "text is blank."))

    def score(self, sample: Sample) -> Score:
        if self.config.require_answer:
            last = sample.turns[-1] if sample.turns else None
            if last is None or last.calls or not last.text.strip():
                why = ("no assistant turn" if last is None else
                       f"turn {last.index} ends on tool calls" if last.calls else
                       f"turn {last.index} is blank")
                return Score.from_bool(False, f"no final answer: {why}",
                                       answer_turn=-1)
        done: set[str] = set()
        required = set(self.config.required_tools)
        for turn in sample.turns:
            if turn.text.strip() and not turn.calls:
                missing = sorted(required - done)
                if missing:
                    return Score.from_bool(False, f"turn {turn.index} answered before using "
                                           f"{', '.join(missing)}", answer_turn=turn.index)
                return Score.from_bool(True, f"answered at turn {turn.index} after the "
                                       "required tools", answer_turn=turn.index)
            by_id = {r.call_id: r for r in turn.results if r.call_id}
            for i, call in enumerate(turn.calls):
                result: ToolResult | None = by_id.get(call.id) if call.id else None
                if result is None and call.id is None and i < len(turn.results):
                    result = turn.results[i]
                if not self.config.require_success or (result is not None
                                                       and not result.is_error):
                    done.add(call.name)
        return Score.from_bool(True, "no answer turn: nothing premature", answer_turn=-1)


class TurnBudget(Component["TurnBudget.Config"]):
    """1 up to ``max_turns`` assistant turns, then a linear fall to 0 over ``falloff``
    more turns (0 at once without a falloff)."""

    summary = "Trajectory: the number of assistant turns within a budget."

    class Config(_AgentConfig):
        type: Literal["turn-budget"] = "turn-budget"
        max_turns: int = Field(ge=1)
        falloff: int = Field(default=0, ge=0)

    def score(self, sample: Sample) -> Score:
        n = len(sample.turns)
        over = n - self.config.max_turns
        if over <= 0:
            value = 1.0
        elif self.config.falloff:
            value = max(0.0, 1.0 - over / self.config.falloff)
        else:
            value = 0.0
        return Score(value, over <= 0, f"{n} turn(s), budget {self.config.max_turns}",
                     {"turns": n})


_OPS = ("eq", "ne", "in", "contains", "not_contains", "exists", "missing",
        "lt", "le", "gt", "ge")


class StateCheck(BaseModel):
    """One declared comparison on the final environment state: the value(s) at ``path``
    against ``value`` (or the reference answer's value at ``reference``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    path: str = Field(min_length=1, description="Field path into final_state, e.g. "
                      "'orders.NW-1.status' or 'refunds[]'.")
    op: Literal["eq", "ne", "in", "contains", "not_contains", "exists", "missing",
                "lt", "le", "gt", "ge"]
    value: Any = None
    reference: str | None = Field(default=None, description=(
        "A path into the sample's reference_answer whose value is compared instead of "
        "'value' ('$' for the whole reference)."))

    @field_validator("path", "reference")
    @classmethod
    def _path(cls, text: str | None) -> str | None:
        if text is not None and text != "$":
            parse_path(text)
        return text


def _compare(op: str, found: list[Any], expected: Any) -> bool:
    present = [v for v in found if v is not MISSING]
    if op == "exists":
        return bool(present)
    if op == "missing":
        return not present
    if not present:
        return op in ("ne", "not_contains")
    actual = present if len(present) > 1 else present[0]
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return isinstance(expected, list) and actual in expected
    if op in ("contains", "not_contains"):
        hit = (expected in actual if isinstance(actual, list | dict | str)
               and (not isinstance(actual, str) or isinstance(expected, str)) else False)
        return hit if op == "contains" else not hit
    if isinstance(actual, bool) or not isinstance(actual, int | float) or \
            isinstance(expected, bool) or not isinstance(expected, int | float):
        return False
    return {"lt": actual < expected, "le": actual <= expected,
            "gt": actual > expected, "ge": actual >= expected}[op]


class TaskSuccess(Component["TaskSuccess.Config"]):
    """The task's outcome from the environment's final state (``final_state`` in the
    sample): declared comparisons, no code from the pack. ``all`` scores 1 only when every
    check holds; ``share`` the fraction that hold. Without a final state it raises
    ``missing_context`` (the component's failure policy decides)."""

    summary = "Trajectory: declared comparisons on the environment's final state."

    class Config(_AgentConfig):
        type: Literal["task-success"] = "task-success"
        checks: list[StateCheck] = Field(min_length=1)
        mode: Literal["all", "share"] = "all"

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._paths = [(parse_path(c.path), None if c.reference in (None, "$")
                        else parse_path(c.reference)) for c in config.checks]

    def score(self, sample: Sample) -> Score:
        state = sample.final_state
        if state is None:
            raise ComponentError("the sample has no final_state to check",
                                 kind=ErrorKind.MISSING_CONTEXT)
        held: list[str] = []
        failed: list[str] = []
        for check, (path, ref_path) in zip(self.config.checks, self._paths, strict=True):
            expected = check.value
            if check.reference == "$":
                expected = sample.reference_answer
            elif ref_path is not None:
                found_ref = [v for _, v in lookup(sample.reference_answer, ref_path)
                             if v is not MISSING]
                if len(found_ref) != 1:
                    raise ComponentError(f"reference_answer has no single value at "
                                         f"{check.reference!r}", kind=ErrorKind.BAD_REFERENCE)
                expected = found_ref[0]
            found = [v for _, v in lookup(state, path)]
            label = f"{check.path} {check.op}" + (
                "" if check.op in ("exists", "missing") else f" {expected!r}")
            (held if _compare(check.op, found, expected) else failed).append(label)
        share = len(held) / len(self.config.checks)
        value = share if self.config.mode == "share" else float(not failed)
        return Score(value, not failed, ("failed: " + "; ".join(failed[:4])) if failed
                     else f"{len(held)} state check(s) hold", {"checks_failed": len(failed)})


class ClaimPattern(BaseModel):
    """A claim the final answer may make and the tool whose successful call must back it:
    either ``action``, a built-in multilingual vocabulary (``_claims``: "refund" in the
    languages the injection check covers, negations excluded), or ``pattern``, a regex of
    the pack's own (one language, as written)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str | None = Field(default=None, min_length=1, description=(
        "A regex (the `regex` module, matched under a time limit, case-insensitively)."))
    action: str | None = Field(default=None, description=(
        f"A built-in claim vocabulary, in every supported language: {sorted(ACTIONS)}."))
    tool: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> ClaimPattern:
        if (self.pattern is None) == (self.action is None):
            raise ValueError("a claim needs exactly one of 'pattern' or 'action'")
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; known: {sorted(ACTIONS)}")
        return self


class ToolClaims(Component["ToolClaims.Config"]):
    """0 when the final answer claims an action (a built-in multilingual ``action``
    vocabulary, or a declared ``pattern`` matched case-insensitively) that no successful
    call of its tool in the log backs."""

    summary = "Trajectory: claims in the answer are backed by successful calls in the log."

    class Config(_AgentConfig):
        type: Literal["tool-claims"] = "tool-claims"
        claims: list[ClaimPattern] = Field(min_length=1)

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._patterns = [(compile_pack_pattern(c.pattern, FLAGS["i"], f"claims[{i}].pattern")
                           if c.pattern is not None else ActionClaims(c.action or ""), c.tool)
                          for i, c in enumerate(config.claims)]

    def _claimed(self, i: int, matcher: Any, response: str) -> str | None:
        if isinstance(matcher, ActionClaims):
            hit = next(matcher.find(response), None)
            return None if hit is None else f"{hit.text!r} ({hit.lang})"
        m = search(matcher, response, timeout_s=DEFAULT_MATCH_TIMEOUT_S,
                   where=f"claims[{i}].pattern")
        return None if m is None else repr(m.group(0))

    def score(self, sample: Sample) -> Score:
        succeeded = {call.name for _, call, result in sample.tool_log
                     if result is not None and not result.is_error}
        unbacked = [f"claims {claim} without a successful {tool} call"
                    for i, (matcher, tool) in enumerate(self._patterns)
                    if tool not in succeeded
                    and (claim := self._claimed(i, matcher, sample.response))]
        return Score.from_bool(not unbacked, "; ".join(unbacked) or "claims backed by the log",
                               unbacked=len(unbacked))


AGENT_CHECKS: tuple[type[Any], ...] = (ToolEfficiency, PrematureAnswer, TurnBudget,
                                       TaskSuccess, ToolClaims)
