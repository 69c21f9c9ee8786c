"""What both judges share: the config fields that pick the material a judge sees, the
data blocks built from a sample, and one backend call with its accounting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator, model_validator

from rewardsmith.core.component import ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judge_cache import SHARED_FAILURE
from rewardsmith.core.judging import SCHEMA_CHECKED, JudgeBackend, JudgeReply, JudgeRequest
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.judges.prompting import DataBlock, as_data_text
from rewardsmith.plugins.judges.rubric import Criterion, check_verdict, load_criteria_file

_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"


class JudgeComponentConfig(ComponentConfig):
    """Fields common to the rubric and pairwise judges (not a component by itself)."""

    judge: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the pack's [judge] table for this component "
        "(backend, model, max_concurrency, timeout_s, ...).",
    )
    criteria_file: str | None = Field(
        default=None, description="A TOML file of [[criteria]] next to the pack, shared "
        "between judges; its criteria come before the inline ones.",
    )
    instructions: str = Field(
        default="", description="Trusted pack text added to the judge's system prompt "
        "(the task, the domain, what a good response looks like).",
    )
    include_prompt: bool = Field(default=False, description="Show the judge the prompt "
                                 "(system and user turns) as a data block.")
    include_reference: bool = Field(default=False, description="Show the judge the "
                                    "sample's reference answer as a data block.")
    context_keys: list[str] = Field(
        default_factory=list, description="Metadata keys (e.g. the source document) shown to "
        "the judge as data blocks; a missing key fails the sample with kind missing_context.",
    )
    context_notes: dict[str, str] = Field(
        default_factory=dict, description="What each context key's block is, as the judge "
        "reads it (e.g. contract = \"the contract under review\"); trusted pack text.",
    )
    max_data_chars: int = Field(
        default=200_000, ge=1, description="Largest total of data the judge may be sent; "
        "more fails the sample with kind judge_input_too_large rather than truncating.",
    )

    @field_validator("context_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        bad = [k for k in keys if not re.match(_KEY_PATTERN, k)]
        if bad:
            raise ValueError(f"context_keys {bad} must match {_KEY_PATTERN}")
        reserved = {"prompt", "reference", "candidate", "response_a", "response_b"} & set(keys)
        if reserved:
            raise ValueError(f"context_keys {sorted(reserved)} clash with built-in block names")
        if len(set(keys)) != len(keys):
            raise ValueError(f"context_keys {keys} lists a key twice")
        return keys

    @model_validator(mode="after")
    def _notes(self) -> JudgeComponentConfig:
        unknown = sorted(set(self.context_notes) - set(self.context_keys))
        if unknown:
            raise ValueError(f"context_notes names {unknown}, which are not in context_keys")
        return self

    def block_list(self, names: Sequence[str], builtin: Mapping[str, str]) -> str:
        """The system prompt's list of the data blocks in a request and what each holds."""
        default = "material from the sample's metadata"
        return "\n".join(
            f"- `{name}`: {builtin.get(name) or self.context_notes.get(name, default)}"
            for name in names
        )


def configured_criteria(config: JudgeComponentConfig, inline: list[Criterion],
                        context: ComponentContext) -> list[Criterion]:
    """The criteria file's criteria followed by the inline ones; raises ValueError."""
    shared: list[Criterion] = []
    if config.criteria_file:
        shared = load_criteria_file(context.read_text(config.criteria_file),
                                    config.criteria_file)
    ids = [c.id for c in (*shared, *inline)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"criterion ids used twice: {duplicates}")
    return [*shared, *inline]


def context_blocks(config: JudgeComponentConfig, sample: Sample) -> list[DataBlock]:
    """Prompt, reference and metadata blocks, in that order (all untrusted)."""
    blocks: list[DataBlock] = []
    if config.include_prompt:
        blocks.append(DataBlock("prompt", sample.prompt_text()))
    if config.include_reference:
        reference = sample.reference_text
        if reference is None:
            raise ComponentError("include_reference is set but the sample has no "
                                 "reference_answer", kind=ErrorKind.MISSING_CONTEXT)
        blocks.append(DataBlock("reference", reference))
    for key in config.context_keys:
        if key not in sample.metadata or sample.metadata[key] is None:
            raise ComponentError(f"context key {key!r} is missing from the sample's metadata",
                                 kind=ErrorKind.MISSING_CONTEXT)
        blocks.append(DataBlock(key, as_data_text(sample.metadata[key])))
    return blocks


def failure_kind(error: BaseException) -> str:
    """The error kind a failed part of a judge's work (a juror, an ordering, a comparison)
    is counted under: its own, or ``judge_internal_error`` for an unclassified exception."""
    if isinstance(error, ComponentError):
        return str(error.kind)
    return str(ErrorKind.JUDGE_INTERNAL_ERROR)


def distinct_responses(samples: Sequence[Sample]) -> tuple[list[str], list[int]]:
    """A group's distinct responses in first-seen order, and for each sample the index of
    its response among them: group judges compare responses, never copies (a response's
    score must not depend on how many copies its group holds)."""
    distinct: list[str] = []
    member_of: list[int] = []
    index: dict[str, int] = {}
    for sample in samples:
        if sample.response not in index:
            index[sample.response] = len(distinct)
            distinct.append(sample.response)
        member_of.append(index[sample.response])
    return distinct, member_of


def check_size(config: JudgeComponentConfig, blocks: list[DataBlock]) -> None:
    total = sum(len(b.text) for b in blocks)
    if total > config.max_data_chars:
        sizes = ", ".join(f"{b.name}={len(b.text):,}" for b in blocks)
        raise ComponentError(f"judge input is {total:,} characters ({sizes}), over "
                             f"max_data_chars={config.max_data_chars:,}",
                             kind=ErrorKind.JUDGE_INPUT_TOO_LARGE)


@dataclass
class CallStats:
    """Accounting of a component's judge requests for one score.

    A request is answered one of three ways, counted apart so that the per-sample figures
    sum over a batch to what was really spent (the batch telemetry's ``judge_calls``,
    ``cache_hits`` and ``deduplicated``): ``calls`` sent to the backend (failed ones
    included), ``cached`` answered by the verdict cache, ``deduplicated`` answered by an
    identical request of another sample in the same batch (``core/judge_cache.py``).
    Tokens, cost, attempts, repairs, latency and queue time are those of the sent calls
    only: a shared or cached answer spent nothing for this sample.
    """

    calls: int = 0
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: int = 0
    deduplicated: int = 0
    attempts: int = 0
    repairs: int = 0
    queued_ms: float = 0.0
    modes: list[str] = field(default_factory=list)
    failed: int = 0  # calls that raised (counted in ``calls`` too)
    #: Sent calls whose latency and queue time ``latency_ms``/``queued_ms`` sum: ``calls``,
    #: except in a share of a group's calls (:meth:`split`), which keeps the group's means.
    timed: int = 0

    def add(self, reply: JudgeReply) -> None:
        # What network backends report in ``extra`` (plugins/backends/_base.py); a backend
        # that reports nothing made one attempt.
        extra = reply.extra or {}
        mode = extra.get("mode")
        if isinstance(mode, str) and mode not in self.modes:
            self.modes.append(mode)
        if reply.cached:
            self.cached += 1
            return
        if extra.get("deduplicated"):
            self.deduplicated += 1
            return
        self.attempts += int(extra.get("attempts") or 1)
        self.repairs += int(extra.get("repairs") or 0)
        self.queued_ms += float(extra.get("queued_ms") or 0.0)
        self.calls += 1
        self.timed += 1
        self.latency_ms += reply.latency_ms
        self.input_tokens += reply.input_tokens
        self.output_tokens += reply.output_tokens
        self.cost_usd += reply.cost_usd

    def add_failure(self, error: ComponentError) -> None:
        """A call that failed: what its backend reported in ``error.measurements`` (the
        keys of :meth:`measurements`; a backend that reports nothing made one attempt).
        A failure shared by de-duplication (``core.judge_cache.shared_failure``) is a
        ``deduplicated`` request, not a call."""
        reported = error.measurements
        if reported.get(SHARED_FAILURE) == 1 and "judge_calls" not in reported:
            # The failure of an identical request's call, shared by de-duplication: that
            # call is on its own row; this request spent nothing (s5 tester F1).
            self.deduplicated += 1
            return

        def number(key: str, default: float) -> float:
            value = reported.get(key)
            return float(value) if isinstance(value, int | float) and \
                not isinstance(value, bool) else default

        calls = max(1, int(number("judge_calls", 1)))
        self.calls += calls
        self.timed += calls
        self.failed += calls
        self.attempts += int(number("judge_attempts", 1))
        self.repairs += int(number("judge_repairs", 0))
        self.latency_ms += number("judge_latency_ms", 0.0) * calls
        self.queued_ms += number("judge_queued_ms", 0.0) * calls
        self.input_tokens += int(number("input_tokens", 0))
        self.output_tokens += int(number("output_tokens", 0))
        self.cost_usd += number("cost_usd", 0.0)
        mode = reported.get("judge_mode")
        if isinstance(mode, str) and mode not in self.modes:
            self.modes.append(mode)

    def split(self, n: int) -> list[CallStats]:
        """These calls shared over ``n`` samples (one group's or one pair's calls), so that
        the shares sum to them: counts on the first share, tokens split evenly with the
        remainder on the first ones, cost split evenly; every share keeps the calls' mean
        latency and queue time.

        Raises:
            ValueError: ``n`` < 1.
        """
        if n < 1:
            raise ValueError(f"cannot split judge calls over {n} samples")
        shares = [CallStats(latency_ms=self.latency_ms, queued_ms=self.queued_ms,
                            timed=self.timed, cost_usd=self.cost_usd / n,
                            modes=list(self.modes)) for _ in range(n)]
        first = shares[0]
        first.calls, first.failed = self.calls, self.failed
        first.cached, first.deduplicated = self.cached, self.deduplicated
        first.attempts, first.repairs = self.attempts, self.repairs
        for k, share in enumerate(shares):
            share.input_tokens = self.input_tokens // n + (k < self.input_tokens % n)
            share.output_tokens = self.output_tokens // n + (k < self.output_tokens % n)
        return shares

    def absorb(self, other: CallStats) -> None:
        """Add ``other``'s accounting to this one (means weighted by their timed calls)."""
        self.calls += other.calls
        self.failed += other.failed
        self.cached += other.cached
        self.deduplicated += other.deduplicated
        self.attempts += other.attempts
        self.repairs += other.repairs
        self.timed += other.timed
        self.latency_ms += other.latency_ms
        self.queued_ms += other.queued_ms
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.modes.extend(m for m in other.modes if m not in self.modes)

    def measurements(self) -> dict[str, float | int | str]:
        timed = self.timed
        return {
            "judge_latency_ms": round(self.latency_ms / timed, 3) if timed else 0.0,
            "judge_calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "cached": self.cached,
            "deduplicated": self.deduplicated,
            "judge_attempts": self.attempts,
            "judge_repairs": self.repairs,
            "judge_queued_ms": round(self.queued_ms / timed, 3) if timed else 0.0,
            **({"judge_mode": ",".join(self.modes)} if self.modes else {}),
            **({"judge_failed_calls": self.failed} if self.failed else {}),
        }


def reply_object(reply: JudgeReply) -> Any:
    """The verdict object: the backend's parsed value, or the whole reply text decoded as
    one JSON value (raw control characters in strings allowed, as a model's raw line break in
    a rationale); never an object picked out of prose, so nothing in it can be planted."""
    if reply.parsed is not None:
        return reply.parsed
    try:
        return json.loads(reply.text, strict=False)
    except (ValueError, RecursionError):
        raise ComponentError(f"judge reply is not a JSON verdict: {reply.text[:200]!r}",
                             kind=ErrorKind.JUDGE_INVALID_VERDICT) from None


def with_stats(error: ComponentError, stats: CallStats) -> ComponentError:
    """A copy of ``error`` whose measurements also carry ``stats`` (every call made for the
    sample so far, failed ones included), so a failed sample's row says what was tried:
    mode, attempts, repair turns, tokens. A copy, because de-duplicated requests share one
    backend exception between samples."""
    kept = {k: v for k, v in error.measurements.items() if k not in _ACCOUNTING}
    return ComponentError(str(error), kind=error.kind,
                          measurements={**kept, **stats.measurements()})


#: The keys of ``CallStats.measurements``: ``with_stats`` replaces every one of them, so a
#: figure ``stats`` leaves out (``judge_failed_calls`` of a share with none) is not kept
#: from the error it copies.
_ACCOUNTING = frozenset({*CallStats().measurements(), "judge_mode", "judge_failed_calls",
                         SHARED_FAILURE})


async def call_judge(backend: JudgeBackend, request: JudgeRequest,
                     stats: CallStats) -> JudgeReply:
    """One judge call, accounted in ``stats`` whether it succeeds or fails. Raises the
    backend's ComponentError (as :func:`with_stats` copies it)."""
    try:
        reply = await backend.complete(request)
    except ComponentError as exc:
        stats.add_failure(exc)
        raise with_stats(exc, stats) from exc
    stats.add(reply)
    return reply


async def ask(backend: JudgeBackend, request: JudgeRequest, stats: CallStats) -> Any:
    """One judge call; backend failures propagate as the backend's ComponentError."""
    reply = await call_judge(backend, request, stats)
    try:
        return reply_object(reply)
    except ComponentError as exc:
        raise with_stats(exc, stats) from exc


async def ask_verdict(backend: JudgeBackend, request: JudgeRequest,
                      stats: CallStats) -> dict[str, Any]:
    """One judge call for a verdict matching ``request.json_schema``.

    The verdict is validated once: a reply whose backend already validated ``parsed``
    against this schema (``extra[SCHEMA_CHECKED]``) is not validated again. Raises the
    backend's ComponentError, or ``judge_invalid_verdict`` for a verdict off the schema.
    """
    reply = await call_judge(backend, request, stats)
    try:
        return checked_verdict(reply, request)
    except ComponentError as exc:
        raise with_stats(exc, stats) from exc


def checked_verdict(reply: JudgeReply, request: JudgeRequest) -> dict[str, Any]:
    """The verdict in ``reply``, validated against ``request.json_schema`` unless the backend
    already did (``extra[SCHEMA_CHECKED]``). Raises ``judge_invalid_verdict``."""
    value = reply_object(reply)
    if reply.parsed is not None and reply.extra.get(SCHEMA_CHECKED) is True \
            and isinstance(value, dict):
        return value
    return check_verdict(value, request.json_schema or {})
