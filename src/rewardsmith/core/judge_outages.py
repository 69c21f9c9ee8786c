"""Which failures of a judge component mean the batch lost its judge: the one list.

A judge component that judged no sample of a batch left the reward to the other
components. Whether that is an *outage* (``rewardsmith score`` exits 4, the Lambda emits
``JudgeUnavailable``, :meth:`BatchResult.raise_for_judge_outage` raises) depends only on
the kinds of its failures, read here:

* a kind in :data:`JUDGE_OUTAGE_KINDS` says the judge was misconfigured, out of reach,
  too slow, or asked and gave no usable verdict (refused, off-schema, unparseable or
  ambiguous after the repair turn, a reply of the wrong shape, an unclassified exception
  inside the judge): the batch has no judge in its rewards;
* a kind in :data:`NOT_OUTAGE_KINDS` is excluded on purpose, each with its reason: the
  judge was never asked because of the sample's own input, the batch's shape, or a path
  the pack declared (a budget);
* any other kind (a plugin's own, one added later) counts as an outage too, after the
  listed ones: a failure nobody classified must be loud, never a silent checks-only reward.

``tests/core/test_judge_outages.py`` checks that every kind a judge component can produce
(the ``ErrorKind`` members the judge and backend modules name, and those the engine gives
an async or group component) is in exactly one of the two lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from rewardsmith.core.errors import ErrorKind

#: Outage kinds, most telling first (the cause named for a batch whose failures mix kinds):
#: the judge out of reach or misconfigured, then out of time, then answering unusably.
JUDGE_OUTAGE_KINDS: Final[tuple[str, ...]] = tuple(str(k) for k in (
    ErrorKind.JUDGE_CONFIG, ErrorKind.JUDGE_UNAVAILABLE, ErrorKind.JUDGE_TIMEOUT,
    ErrorKind.JUDGE_THROTTLED, ErrorKind.CIRCUIT_OPEN, ErrorKind.DEADLINE,
    # the component's own timeout_s: a judge slower than the pack allows judged nothing
    ErrorKind.TIMEOUT,
    ErrorKind.WORKER_OVERRUN, ErrorKind.WORKERS_EXHAUSTED,
    ErrorKind.JUDGE_INTERNAL_ERROR, ErrorKind.EXCEPTION, ErrorKind.PLUGIN_EXIT,
    ErrorKind.INVALID_SCORE, ErrorKind.ERROR,
    ErrorKind.JUDGE_REFUSED, ErrorKind.JUDGE_INVALID_VERDICT, ErrorKind.JUDGE_PARSE,
    # One reply read two ways. A candidate quoting a verdict can cause it on one sample,
    # but a judge that is ambiguous on every sample (a reasoning model whose <think> holds
    # a second verdict) gave the batch no verdict at all.
    ErrorKind.AMBIGUOUS_VERDICT,
    ErrorKind.CASSETTE_MISS,  # a replayed pack test whose cassette lacks every call
))

#: A judge was asked and answered, but its verdict could not be read (malformed after the
#: repair turn, off the schema, or readable two ways): what a cascade escalates and what
#: pack tests and the monitor count as parse failures.
UNREADABLE_VERDICT_KINDS: Final[frozenset[str]] = frozenset(str(k) for k in (
    ErrorKind.JUDGE_PARSE, ErrorKind.AMBIGUOUS_VERDICT, ErrorKind.JUDGE_INVALID_VERDICT))

#: Kinds that never make an outage, and why: the judge was not asked, for a reason of the
#: sample, the batch or the pack, which the row's error names.
NOT_OUTAGE_KINDS: Final[Mapping[str, str]] = MappingProxyType({
    str(ErrorKind.JUDGE_INPUT_TOO_LARGE): "the sample's text exceeds max_data_chars; the "
    "judge was never asked",
    str(ErrorKind.MISSING_CONTEXT): "the sample lacks the metadata, reference or context "
    "the judge is to be shown; the judge was never asked",
    str(ErrorKind.INVALID_RUBRIC): "the sample's own criteria (extra_criteria_key) are "
    "missing or invalid; the judge was never asked",
    str(ErrorKind.GROUP_TOO_SMALL): "an abstention: a prompt group of one cannot be "
    "compared",
    str(ErrorKind.NOT_COMPARED): "an abstention: the pair budget left the rollout out",
    str(ErrorKind.UNDETERMINED): "an abstention: the component could not tell",
    "budget_exhausted": "the degrade path the pack declared for a spent budget "
    "(reported as budget_degraded in judge_stats)",
})


def outage_kind(kinds: Iterable[str | None]) -> str | None:
    """The kind naming an outage among the failure ``kinds`` of a judge component that
    judged no sample (the most telling of :data:`JUDGE_OUTAGE_KINDS` present, else the
    first kind in neither list), or None when every failure is excluded on purpose."""
    seen = [str(k) for k in kinds if k is not None]
    present = set(seen)
    for kind in JUDGE_OUTAGE_KINDS:
        if kind in present:
            return kind
    return next((k for k in seen if k not in NOT_OUTAGE_KINDS), None)
