"""One exception tree and one enumeration of error kinds.

Every exception rewardsmith raises on purpose derives from :class:`RewardsmithError`
(some also from the builtin a caller would expect, e.g. ``ValueError``). Every failure
reported in a result, telemetry or a Lambda metric is named by an :class:`ErrorKind`;
being a ``str`` enum, its value is what the wire and JSON carry (``"regex_timeout"``).
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a sample, a component or a judge call failed (the ``error_kind`` on the wire)."""

    # -- a whole sample ----------------------------------------------------------------
    MALFORMED_SAMPLE = "malformed_sample"  # the input row is not a valid sample
    INVALID_JSON = "invalid_json"  # a JSONL line, or a response that must be JSON, is not
    OVERSIZED_RESPONSE = "oversized_response"
    SAMPLE_FAILED = "sample_failed"  # a component with on_error='fail' failed
    COMPONENT_FAILED = "component_failed"
    INTERNAL_ERROR = "internal_error"  # a bug in the engine: counted, never hidden
    DEADLINE = "deadline"  # still pending at the batch deadline
    PACK_UNAVAILABLE = "pack_unavailable"  # the Lambda could not load its pack
    PACK_LOADING = "pack_loading"  # the Lambda's pack was still loading at the deadline
    ENGINE_ERROR = "engine_error"  # the Lambda's engine call failed as a whole
    # -- a component -------------------------------------------------------------------
    ERROR = "error"  # ComponentError raised without a kind
    EXCEPTION = "exception"  # any other exception from a component
    TIMEOUT = "timeout"  # the component's timeout_s expired
    WORKER_OVERRUN = "worker_overrun"  # sync work ran past its limit; its thread abandoned
    WORKERS_EXHAUSTED = "workers_exhausted"  # too many abandoned threads: sync work refused
    PLUGIN_EXIT = "plugin_exit"  # plugin code raised SystemExit/KeyboardInterrupt/GeneratorExit
    INVALID_SCORE = "invalid_score"  # the return value is not a valid Score
    REGEX_TIMEOUT = "regex_timeout"
    BAD_REFERENCE = "bad_reference"
    BAD_TOOLS = "bad_tools"
    MISSING_METADATA = "missing_metadata"
    MISSING_REFERENCE = "missing_reference"
    MISSING_SOURCE = "missing_source"
    MISSING_CONTEXT = "missing_context"
    UNDETERMINED = "undetermined"
    GROUP_TOO_SMALL = "group_too_small"
    NOT_COMPARED = "not_compared"
    INVALID_RUBRIC = "invalid_rubric"
    METRIC_MISSING = "metric_missing"
    METRIC_INVALID = "metric_invalid"
    METRIC_OUT_OF_RANGE = "metric_out_of_range"
    METRIC_FUNCTION_ERROR = "metric_function_error"
    METRIC_HTTP = "metric_http"
    METRIC_TIMEOUT = "metric_timeout"
    CASSETTE_MISS = "cassette_miss"  # a replayed pack test met a call it never recorded
    # -- a judge call ------------------------------------------------------------------
    JUDGE_THROTTLED = "judge_throttled"
    JUDGE_TIMEOUT = "judge_timeout"
    JUDGE_UNAVAILABLE = "judge_unavailable"
    JUDGE_CONFIG = "judge_config"
    JUDGE_PARSE = "judge_parse"
    JUDGE_REFUSED = "judge_refused"
    CIRCUIT_OPEN = "circuit_open"
    JUDGE_INVALID_VERDICT = "judge_invalid_verdict"
    JUDGE_INPUT_TOO_LARGE = "judge_input_too_large"
    JUDGE_INTERNAL_ERROR = "judge_internal_error"  # a bug in a backend
    AMBIGUOUS_VERDICT = "ambiguous_verdict"  # the verdict can be read more than one way


# Kinds that say "this check does not apply to this sample" (too short or ambiguous to
# tell, not compared, a group of one), not "this check broke": a gate that reports one of
# them abstains and never decides the sample (docs/writing-packs.md#gates). Every other
# kind (regex_timeout, exception, timeout, invalid_score, ...) is a real error and a gate
# fails closed on it.
ABSTENTION_KINDS: frozenset[str] = frozenset({
    ErrorKind.UNDETERMINED, ErrorKind.NOT_COMPARED, ErrorKind.GROUP_TOO_SMALL,
})


# A plugin's own kind (documented in docs/writing-plugins.md): counted like ours, so it
# must be a name a metric can carry.
_PLUGIN_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


def error_kind(kind: ErrorKind | str) -> ErrorKind | str:
    """``kind`` as an :class:`ErrorKind` when it names one, else a plugin's own kind.

    Raises ``ValueError`` for a kind that is not a lower-case snake_case name.
    """
    if isinstance(kind, ErrorKind):
        return kind
    try:
        return ErrorKind(kind)
    except ValueError:
        if isinstance(kind, str) and _PLUGIN_KIND.match(kind):
            return kind
        raise ValueError(f"error kind {kind!r} is neither an ErrorKind nor a snake_case "
                         "name") from None


class RewardsmithError(Exception):
    """Base class for every error rewardsmith raises on purpose."""


class _NoId:
    """The type of :data:`NO_ID`."""

    def __repr__(self) -> str:
        return "NO_ID"


#: A sample error's ``sample_id`` when the input gave no id at all; distinct from an
#: explicit ``"id": null``, which is an id (echoed as null), never replaced by a position.
NO_ID: object = _NoId()


class SampleError(RewardsmithError):
    """One input sample cannot be scored; the rest of the batch is unaffected."""

    def __init__(self, message: str, *, kind: ErrorKind | str = ErrorKind.MALFORMED_SAMPLE,
                 sample_id: object = NO_ID) -> None:
        super().__init__(message)
        self.kind = error_kind(kind)
        self.sample_id = sample_id  # echoed in the failed result, when the input had one


class PackError(RewardsmithError):
    """A rubric pack is invalid. The message names the file and the offending key."""


class PluginError(RewardsmithError):
    """A plugin failed to load or registered something invalid; names the distribution."""


class ComponentError(RewardsmithError):
    """Raised by a component to report a scoring failure with a kind (e.g. ``judge_parse``).

    ``kind`` is an :class:`ErrorKind`, or a plugin's own snake_case kind. ``measurements``
    made before the failure (a raw metric out of range, judge tokens spent) are still
    reported, so monitoring sees what failed and what it cost.
    """

    def __init__(self, message: str, *, kind: ErrorKind | str = ErrorKind.ERROR,
                 measurements: dict[str, float | int | str | bool | None] | None = None) -> None:
        super().__init__(message)
        self.kind = error_kind(kind)
        self.measurements = dict(measurements or {})


class JudgeUnavailableError(RewardsmithError):
    """A judge component could not run for a whole batch (misconfigured, unreachable, out of
    time, or unusable in every answer), so the batch's rewards came from the other components
    alone. Raised by :meth:`BatchResult.raise_for_judge_outage` — by the trainer adapters,
    which would otherwise train on a different reward without a word. ``causes`` maps each
    such component id to the cause; a pack opts in to checks-only rewards with
    ``[judge] allow_failures = true``.
    """

    def __init__(self, causes: dict[str, str]) -> None:
        listed = "; ".join(f"{cid}: {cause}" for cid, cause in causes.items())
        super().__init__(
            f"judge component(s) could not run, so rewards would come from the other "
            f"components alone — {listed}. Fix the judge settings, or set allow_failures = "
            f"true in the pack's [judge] table to accept checks-only rewards.")
        self.causes = dict(causes)
