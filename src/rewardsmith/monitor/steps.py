"""Per-step statistics of a training run's reward stream.

One *step* is one file: the JSONL rows ``rewardsmith score`` writes for the rollouts of
one training step, or the reward Lambda's stdout log lines for that step (its structlog
``reward_invocation`` lines and its CloudWatch EMF documents, see
:mod:`rewardsmith.aws_lambda.observability`). Rows give the full picture; log lines only
what the Lambda aggregates per invocation (reward mean/std, judge calls, failures by
kind, cost), so the statistics that need samples (correlations, group spread, component
distributions) are ``None`` for them.

Every statistic is pure Python (no numpy/scipy) so the monitor runs wherever the core
package does. Correlations are Spearman's rank correlation with average ranks for ties
(https://en.wikipedia.org/wiki/Spearman%27s_rank_correlation_coefficient), undefined
(``None``) for fewer than :data:`MIN_CORRELATION_N` pairs or a constant side.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.suggest import closest, did_you_mean
from rewardsmith.core.telemetry import quantile
from rewardsmith.core.wire import REWARD_KEY, finite_number

MIN_CORRELATION_N = 8
# A component value within this of its observed maximum of 1.0 counts as saturated.
SATURATION_EPS = 1e-9
ZERO_VARIANCE_EPS = 1e-9
PARSE_KINDS = frozenset({ErrorKind.JUDGE_PARSE, ErrorKind.JUDGE_INVALID_VERDICT,
                         ErrorKind.AMBIGUOUS_VERDICT})
REFUSAL_KINDS = frozenset({ErrorKind.JUDGE_REFUSED})

# The metric vocabulary rules are checked against at load (rules.Rule): every name
# StepStats.metric answers, with why a step may leave it undefined (shown when a rule
# cannot be evaluated, or a step has a gap).
SCALAR_METRICS: dict[str, str] = {
    "reward_mean": "needs a scored sample",
    "reward_std": "needs a scored sample",
    "zero_variance_group_share": "needs prompt groups of two or more rollouts "
                                 "(the rows' 'group')",
    "length_reward_corr": f"needs {MIN_CORRELATION_N} or more scored samples with "
                          "'response_chars', neither length nor reward constant",
    "judge_check_corr": f"needs {MIN_CORRELATION_N} or more samples with both a judge and "
                        "a check value, neither side constant",
    "swap_inconsistency": "needs a pairwise judge ('position_inconsistency' measurements)",
    "parse_failure_rate": "needs judge outcomes (no judge ran)",
    "refusal_rate": "needs judge outcomes (no judge ran)",
    "judge_cost_usd": "always defined",
    "judge_calls": "always defined",
    "failed_share": "needs a sample",
    "mean_response_chars": "needs rows with 'response_chars'",
}
COMPONENT_STATS: tuple[str, ...] = ("mean", "saturated_share", "pass_rate")
# What the reward Lambda's log lines carry (per invocation, no samples).
LAMBDA_METRICS = frozenset({"reward_mean", "reward_std", "parse_failure_rate", "refusal_rate",
                            "judge_cost_usd", "judge_calls", "failed_share"})


@dataclass(frozen=True)
class MetricName:
    """A parsed metric name: ``kind`` is ``"scalar"``, ``"component"`` or ``"criterion"``;
    ``key`` is ``None`` (scalar), ``"*"`` (every component or criterion) or one component
    id / ``component.criterion``; ``stat`` is the component statistic."""

    name: str
    kind: str
    key: str | None = None
    stat: str | None = None

    @property
    def per_key(self) -> bool:
        """Whether the metric yields one value per component or criterion."""
        return self.key == "*"

    def label(self, key: str | None) -> str:
        """The name with ``*`` replaced by ``key`` (``components.j.saturated_share``)."""
        return self.name.replace("*", key, 1) if self.per_key and key is not None else self.name


def metric_vocabulary() -> list[str]:
    """Every metric name pattern :meth:`StepStats.metric` answers (``*`` for any id)."""
    return [*SCALAR_METRICS, *(f"components.*.{s}" for s in COMPONENT_STATS), "criteria.*"]


def parse_metric(name: str) -> MetricName:
    """Parse a metric name of :meth:`StepStats.metric`. Raises ``ValueError`` saying what
    is wrong, with the closest known name (:func:`rewardsmith.core.suggest.did_you_mean`).

    Component ids and criterion ids follow the packs' identifier syntax
    (``[A-Za-z_][A-Za-z0-9_]*``, core/component.py and plugins/judges/rubric.py), so a
    name no pack can produce is refused here rather than never matching."""
    if name in SCALAR_METRICS:
        return MetricName(name, "scalar")
    parts = name.split(".")
    if parts[0] == "components" and len(parts) == 3 and _key_ok(parts[1]):
        cid, stat = parts[1], parts[2]
        if stat in COMPONENT_STATS:
            return MetricName(name, "component", cid, stat)
        # Compared on the statistic alone (the shared prefix would make any name look
        # close), with a looser cutoff: 'saturation' is 0.56 from 'saturated_share'.
        near = closest(stat, COMPONENT_STATS, cutoff=0.5)
        hint = f" (did you mean 'components.{cid}.{near[0]}'?)" if near else ""
        raise ValueError(f"unknown component statistic {stat!r} in {name!r}{hint}; "
                         "a component metric is "
                         f"components.<id or *>.<{'|'.join(COMPONENT_STATS)}>")
    if parts[0] == "components" and len(parts) == 3:
        raise ValueError(f"{parts[1]!r} in {name!r} is not a component id (letters, digits "
                         "and '_', not starting with a digit) nor '*'")
    if parts[0] == "criteria" and (parts[1:] == ["*"] or (
            len(parts) == 3 and _IDENT.fullmatch(parts[1]) and _IDENT.fullmatch(parts[2]))):
        return MetricName(name, "criterion", ".".join(parts[1:]))
    if parts[0] == "criteria":
        raise ValueError(f"unknown criterion metric {name!r}: a criterion metric is "
                         "criteria.* (every criterion) or criteria.<component>.<criterion>")
    choices = metric_vocabulary()
    if len(parts) == 3:  # 'component.x.mean', 'criterion.q.correct': keep their ids
        choices += [f"components.{parts[1]}.{s}" for s in COMPONENT_STATS]
        choices.append(f"criteria.{parts[1]}.{parts[2]}")
    raise ValueError(f"unknown metric {name!r}{did_you_mean(name, choices)}; "
                     f"the monitor computes {', '.join(SCALAR_METRICS)}, "
                     f"components.<id or *>.<{'|'.join(COMPONENT_STATS)}>, criteria.* and "
                     "criteria.<component>.<criterion>")


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _key_ok(key: str) -> bool:
    return key == "*" or _IDENT.fullmatch(key) is not None


class MonitorInputError(RewardsmithError, ValueError):
    """A step file cannot be read: missing, empty, or with no line the monitor knows."""


# -- small statistics ------------------------------------------------------------------
def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho of paired values (average ranks for ties); ``None`` when fewer than
    :data:`MIN_CORRELATION_N` pairs or either side is constant. Raises ``ValueError`` when
    the lengths differ."""
    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} x values but {len(y)} y values")
    if len(x) < MIN_CORRELATION_N:
        return None
    rx, ry = _ranks(x), _ranks(y)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


@dataclass
class Distribution:
    """Mean, population std and nearest-rank p10/p50/p90 of some values."""

    n: int
    mean: float | None
    std: float | None
    p10: float | None
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, None, None, None, None, None)
        ordered = sorted(values)
        return cls(len(values), statistics.fmean(values),
                   statistics.pstdev(values) if len(values) > 1 else 0.0,
                   quantile(ordered, 0.1), quantile(ordered, 0.5), quantile(ordered, 0.9))

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "std": self.std, "p10": self.p10,
                "p50": self.p50, "p90": self.p90}


@dataclass
class ComponentStats:
    """One component over one step: its values' distribution, the share of samples at
    the top of its range (``saturated_share``: value >= 1.0, the top of the default
    [0, 1] range), its pass rate and whether it is a judge (it made judge calls)."""

    id: str
    type: str
    judge: bool
    values: Distribution
    saturated_share: float | None
    pass_rate: float | None
    errors: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "judge": self.judge, "values": self.values.to_json(),
                "saturated_share": self.saturated_share, "pass_rate": self.pass_rate,
                "errors": self.errors}


@dataclass
class StepStats:
    """What the monitor knows about one step. ``source`` is ``"rows"`` (score JSONL) or
    ``"lambda"`` (log lines); sample-level statistics are ``None`` for ``"lambda"``.

    Rates are shares in [0, 1]; ``judge_cost_usd`` is US dollars (the judges' estimate).
    """

    step: int  # 1-based, in the order the files were given
    path: str
    source: str
    samples: int
    failed: int = 0
    gated: int = 0
    reward: Distribution = field(default_factory=lambda: Distribution.of([]))
    components: dict[str, ComponentStats] = field(default_factory=dict)
    groups: int = 0  # groups of two or more rollouts
    zero_variance_group_share: float | None = None
    length_reward_corr: float | None = None
    mean_response_chars: float | None = None
    judge_check_corr: float | None = None
    criteria_pass_rates: dict[str, float] = field(default_factory=dict)
    swap_inconsistency: float | None = None
    judge_outcomes: int = 0  # judge component outcomes (calls for "lambda")
    parse_failure_rate: float | None = None
    refusal_rate: float | None = None
    judge_calls: float = 0.0
    judge_cost_usd: float = 0.0
    deadline_hits: int = 0

    def metric(self, name: str) -> dict[str | None, float]:
        """The named statistic's value(s) at this step: ``{None: value}`` for a step-level
        one, ``{component_id: value}`` for ``components.<id or *>.<stat>`` and
        ``{"component.criterion": pass_rate}`` for ``criteria.*`` /
        ``criteria.<component>.<criterion>``; undefined values are left out (``{}``).

        Names: :data:`SCALAR_METRICS`, ``components.<id or *>.<stat>`` for a stat of
        :data:`COMPONENT_STATS`, ``criteria.*`` and ``criteria.<component>.<criterion>``.
        Raises ``ValueError`` (from :func:`parse_metric`) for any other name.
        """
        m = parse_metric(name)
        if m.kind == "component":
            out: dict[str | None, float] = {}
            for cid, comp in self.components.items():
                if m.key not in ("*", cid):
                    continue
                value = comp.values.mean if m.stat == "mean" else getattr(comp, str(m.stat))
                if value is not None:
                    out[cid] = value
            return out
        if m.kind == "criterion":
            return {k: v for k, v in self.criteria_pass_rates.items() if m.key in ("*", k)}
        value = {
            "reward_mean": self.reward.mean,
            "reward_std": self.reward.std,
            "zero_variance_group_share": self.zero_variance_group_share,
            "length_reward_corr": self.length_reward_corr,
            "judge_check_corr": self.judge_check_corr,
            "swap_inconsistency": self.swap_inconsistency,
            "parse_failure_rate": self.parse_failure_rate,
            "refusal_rate": self.refusal_rate,
            "judge_cost_usd": self.judge_cost_usd,
            "judge_calls": self.judge_calls,
            "failed_share": self.failed / self.samples if self.samples else None,
            "mean_response_chars": self.mean_response_chars,
        }[name]
        return {} if value is None else {None: value}

    def undefined_reason(self, name: str, key: str | None = None) -> str:
        """Why :meth:`metric` ``name`` has no value (for ``key``, a component id or
        ``component.criterion``) at this step, in words for a warning."""
        m = parse_metric(name)
        if self.source == "lambda" and name not in LAMBDA_METRICS:
            return ("the step is reward-Lambda log lines, which carry per-invocation figures "
                    "only (no samples, components or criteria)")
        if m.kind == "component":
            cid = key if key is not None else m.key
            if cid == "*":
                return f"no component of this step has a {m.stat}"
            comp = self.components.get(str(cid))
            if comp is None:
                return f"no row of this step has component {cid!r}"
            if comp.values.n == 0:
                failed = sum(comp.errors.values())
                return (f"component {cid!r} has no value in this step ({failed} outcome(s) "
                        "failed, the rest skipped or failed samples)")
            return f"component {cid!r} gives no pass/fail in this step"
        if m.kind == "criterion":
            crit = key if key is not None else m.key
            if crit == "*":
                return "no judge of this step returned rubric criterion verdicts"
            return f"no judge of this step returned a verdict on criterion {crit!r}"
        return SCALAR_METRICS[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step, "path": self.path, "source": self.source,
            "samples": self.samples, "failed": self.failed, "gated": self.gated,
            "reward": self.reward.to_json(),
            "components": {cid: c.to_json() for cid, c in self.components.items()},
            "groups": self.groups,
            "zero_variance_group_share": self.zero_variance_group_share,
            "length_reward_corr": self.length_reward_corr,
            "mean_response_chars": self.mean_response_chars,
            "judge_check_corr": self.judge_check_corr,
            "criteria_pass_rates": self.criteria_pass_rates,
            "swap_inconsistency": self.swap_inconsistency,
            "parse_failure_rate": self.parse_failure_rate,
            "refusal_rate": self.refusal_rate,
            "judge_calls": self.judge_calls,
            "judge_cost_usd": round(self.judge_cost_usd, 8),
            "deadline_hits": self.deadline_hits,
        }


# -- from score rows -------------------------------------------------------------------
def _judge_components(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Components that are judges: their type names a judge, or in some row they made
    judge calls or failed with a judge error kind (``judge_*``)."""
    judges: set[str] = set()
    for row in rows:
        for cid, outcome in (row.get("components") or {}).items():
            if not isinstance(outcome, dict) or cid in judges:
                continue
            measurements = outcome.get("measurements") or {}
            if ("judge_calls" in measurements or "judge" in str(outcome.get("type", ""))
                    or str(outcome.get("error_kind") or "").startswith("judge_")):
                judges.add(cid)
    return judges


def stats_from_rows(rows: Sequence[Mapping[str, Any]], *, step: int, path: str) -> StepStats:
    """The statistics of one step's ``rewardsmith score`` rows (``core.wire.jsonl_row``
    shape). Failed samples count in ``failed`` and are left out of the distributions
    (their reward is the pack's failure reward, not a judgement)."""
    st = StepStats(step=step, path=path, source="rows", samples=len(rows))
    rewards: list[float] = []
    lengths: list[tuple[float, float]] = []
    by_group: dict[str, list[float]] = defaultdict(list)
    values: dict[str, list[float]] = defaultdict(list)
    saturated: Counter[str] = Counter()
    passes: dict[str, list[bool]] = defaultdict(list)
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    types: dict[str, str] = {}
    judges = _judge_components(rows)
    criteria: dict[str, list[bool]] = defaultdict(list)
    judge_check: list[tuple[float, float]] = []
    swaps: list[float] = []
    judge_outcomes = parse_failures = refusals = 0
    for row in rows:
        status = row.get("status", "ok")
        st.failed += status == "failed"
        st.gated += status == "gated"
        for cid, outcome in (row.get("components") or {}).items():
            if not isinstance(outcome, dict):
                continue
            types.setdefault(cid, str(outcome.get("type", "")))
            measurements = outcome.get("measurements") or {}
            if cid in judges:
                judge_outcomes += not outcome.get("skipped")
                st.judge_calls += finite_number(measurements.get("judge_calls")) or 0.0
                st.judge_cost_usd += finite_number(measurements.get("cost_usd")) or 0.0
                swap = finite_number(measurements.get("position_inconsistency"))
                if swap is not None:
                    swaps.append(swap)
            kind = outcome.get("error_kind")
            if kind:
                errors[cid][str(kind)] += 1
                parse_failures += kind in PARSE_KINDS
                refusals += kind in REFUSAL_KINDS
            for crit, verdict in ((outcome.get("details") or {}).get("criteria") or {}).items():
                if isinstance(verdict, dict) and isinstance(verdict.get("passed"), bool):
                    criteria[f"{cid}.{crit}"].append(verdict["passed"])
        if status == "failed":
            continue
        reward = finite_number(row.get(REWARD_KEY))
        if reward is None:
            continue
        rewards.append(reward)
        chars = finite_number(row.get("response_chars"))
        if chars is not None:
            lengths.append((chars, reward))
        if row.get("group"):
            by_group[str(row["group"])].append(reward)
        judge_vals, check_vals = [], []
        for cid, outcome in (row.get("components") or {}).items():
            if not isinstance(outcome, dict):
                continue
            value = finite_number(outcome.get("value"))
            if value is None:
                continue
            values[cid].append(value)
            saturated[cid] += value >= 1.0 - SATURATION_EPS
            if isinstance(outcome.get("passed"), bool):
                passes[cid].append(outcome["passed"])
            (judge_vals if cid in judges else check_vals).append(value)
        if judge_vals and check_vals:
            judge_check.append((statistics.fmean(judge_vals), statistics.fmean(check_vals)))
    st.reward = Distribution.of(rewards)
    for cid, ctype in types.items():
        vals = values.get(cid, [])
        st.components[cid] = ComponentStats(
            id=cid, type=ctype, judge=cid in judges, values=Distribution.of(vals),
            saturated_share=saturated[cid] / len(vals) if vals else None,
            pass_rate=(sum(passes[cid]) / len(passes[cid])) if passes.get(cid) else None,
            errors=dict(errors.get(cid, {})))
    multi = [g for g in by_group.values() if len(g) >= 2]
    st.groups = len(multi)
    if multi:
        flat = sum(max(g) - min(g) <= ZERO_VARIANCE_EPS for g in multi)
        st.zero_variance_group_share = flat / len(multi)
    if lengths:
        st.mean_response_chars = statistics.fmean(c for c, _ in lengths)
        st.length_reward_corr = spearman([c for c, _ in lengths], [r for _, r in lengths])
    if judge_check:
        st.judge_check_corr = spearman([j for j, _ in judge_check], [c for _, c in judge_check])
    st.criteria_pass_rates = {k: sum(v) / len(v) for k, v in sorted(criteria.items())}
    st.swap_inconsistency = statistics.fmean(swaps) if swaps else None
    st.judge_outcomes = judge_outcomes
    if judge_outcomes:
        st.parse_failure_rate = parse_failures / judge_outcomes
        st.refusal_rate = refusals / judge_outcomes
    return st


# -- from the Lambda's log lines ---------------------------------------------------------
def _invocation_from_emf(doc: Mapping[str, Any]) -> dict[str, Any]:
    # per judge call (JudgeCallFailures.<kind>); logs from before issue 14's counters had
    # call failures only among Failures.<kind>
    prefix = ("JudgeCallFailures." if any(n.startswith("JudgeCallFailures.") for n in doc)
              else "Failures.")
    failures = {name.removeprefix(prefix): value for name, value in doc.items()
                if name.startswith(prefix)}
    return {"samples": doc.get("Samples"), "failed": doc.get("FailedSamples"),
            "gated": doc.get("GatedSamples"), "judge_calls": doc.get("JudgeCalls"),
            "cost": doc.get("EstimatedCostUSD"), "reward_mean": doc.get("RewardMean"),
            "reward_std": doc.get("RewardStd"), "deadline": doc.get("DeadlineHit"),
            "failures": failures}


def _invocation_from_log(line: Mapping[str, Any]) -> dict[str, Any]:
    return {"samples": line.get("samples"), "failed": line.get("failed_samples"),
            "gated": line.get("gated_samples"), "judge_calls": line.get("judge_calls"),
            "cost": line.get("cost_usd"), "reward_mean": line.get("reward_mean"),
            "reward_std": line.get("reward_std"),
            "deadline": 1 if line.get("deadline_hit") else 0,
            "failures": line.get("judge_call_failures", line.get("failures")) or {}}


def stats_from_lambda(lines: Sequence[Mapping[str, Any]], *, step: int,
                      path: str) -> StepStats:
    """One step from the Lambda's stdout: each invocation's EMF document (preferred) or,
    in a log without EMF (``REWARDSMITH_METRICS=0``), its ``reward_invocation`` line.
    The step's reward mean and std pool the invocations' (weighted by samples); parse
    failures and refusals are per judge call."""
    emf = [d for d in lines if isinstance(d.get("_aws"), dict)]
    invocations = ([_invocation_from_emf(d) for d in emf] if emf else
                   [_invocation_from_log(d) for d in lines
                    if d.get("event") == "reward_invocation"])
    st = StepStats(step=step, path=path, source="lambda", samples=0)
    total = 0.0
    sum_x = sum_x2 = 0.0
    parse = refused = 0.0
    for inv in invocations:
        n = finite_number(inv["samples"]) or 0.0
        st.samples += int(n)
        st.failed += int(finite_number(inv["failed"]) or 0)
        st.gated += int(finite_number(inv["gated"]) or 0)
        st.judge_calls += finite_number(inv["judge_calls"]) or 0.0
        st.judge_cost_usd += finite_number(inv["cost"]) or 0.0
        st.deadline_hits += int(finite_number(inv["deadline"]) or 0)
        failures = inv["failures"] if isinstance(inv["failures"], dict) else {}
        parse += sum(finite_number(failures.get(str(k))) or 0.0 for k in PARSE_KINDS)
        refused += sum(finite_number(failures.get(str(k))) or 0.0 for k in REFUSAL_KINDS)
        mean, std = finite_number(inv["reward_mean"]), finite_number(inv["reward_std"])
        if n and mean is not None:
            total += n
            sum_x += n * mean
            sum_x2 += n * ((std or 0.0) ** 2 + mean ** 2)
    if total:
        mean = sum_x / total
        st.reward = Distribution(int(total), mean, math.sqrt(max(sum_x2 / total - mean ** 2,
                                                                  0.0)), None, None, None)
    if st.judge_calls:
        st.parse_failure_rate = parse / st.judge_calls
        st.refusal_rate = refused / st.judge_calls
    return st


# -- reading files -----------------------------------------------------------------------
@dataclass(frozen=True)
class SkippedLine:
    """A line of a step file the monitor could not use: its 1-based number and why."""

    line: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


_ROW, _LAMBDA, _EVENT, _TEXT, _BAD = "row", "lambda", "event", "text", "bad"


def _classify(text: str) -> tuple[str, Any]:
    """One non-blank line: ``(kind, document or reason)``. ``_TEXT`` is a line that is
    not a JSON object or array (a Lambda platform line such as ``START RequestId: ...`` or
    ``[INFO] ...``), ``_EVENT`` a structlog line of some other event; both are normal in
    a Lambda log and unusable in a file of score rows."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        if text.startswith("{"):
            return _BAD, f"not valid JSON ({getattr(exc, 'msg', exc)} at column " \
                         f"{getattr(exc, 'colno', '?')})"
        return _TEXT, "not JSON"
    if isinstance(doc, list):
        return _BAD, f"a JSON array of {len(doc)} item(s), not an object"
    if not isinstance(doc, dict):
        what = ("null" if doc is None else "boolean" if isinstance(doc, bool)
                else "string" if isinstance(doc, str) else "number")
        return _TEXT, f"a JSON {what}, not an object"
    if REWARD_KEY in doc and ("components" in doc or "status" in doc):
        return _ROW, doc
    if isinstance(doc.get("_aws"), dict) or doc.get("event") == "reward_invocation":
        return _LAMBDA, doc
    keys = ", ".join(repr(k) for k in list(doc)[:5]) + (", ..." if len(doc) > 5 else "")
    reason = (f"a JSON object of another kind (keys {keys}): neither a score row (with "
              f"{REWARD_KEY!r} and 'components' or 'status') nor a reward-Lambda line (an EMF "
              "document or a 'reward_invocation' line)") if doc else "an empty JSON object"
    return (_EVENT if isinstance(doc.get("event"), str) else _BAD), reason


def read_step(path: str | Path, step: int) -> tuple[StepStats, list[SkippedLine]]:
    """The statistics of one step file and the lines of it that could not be used, each
    with its number and why (not valid JSON, a JSON array, a JSON object of another kind;
    in a file of score rows also any other text). Score rows and Lambda lines may not be
    mixed in one file. In a Lambda log, platform lines (``START``/``END``/``REPORT``,
    ``[INFO] ...``) and structlog lines of other events are the Lambda's own logging and
    are passed over.

    Raises :class:`MonitorInputError` naming the step and file when it cannot be read or
    holds no usable line, with the first unusable lines and why.
    """
    p = Path(path)
    lines: list[tuple[int, str, Any]] = []
    try:
        with p.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    lines.append((number, *_classify(line.strip())))
    except (OSError, UnicodeDecodeError) as exc:
        raise MonitorInputError(f"step {step}: cannot read {p}: {exc}") from exc
    rows = [doc for _, kind, doc in lines if kind == _ROW]
    lambda_lines = [doc for _, kind, doc in lines if kind == _LAMBDA]
    if rows and lambda_lines:
        first_row = next(n for n, kind, _ in lines if kind == _ROW)
        first_lambda = next(n for n, kind, _ in lines if kind == _LAMBDA)
        raise MonitorInputError(
            f"step {step}: {p} mixes score rows (line {first_row}) and Lambda log lines "
            f"(line {first_lambda}); give one step's output of one kind per file")
    passed_over = {_TEXT, _EVENT} if lambda_lines else set()
    skipped = [SkippedLine(n, str(reason)) for n, kind, reason in lines
               if kind not in (_ROW, _LAMBDA) and kind not in passed_over]
    if rows:
        return stats_from_rows(rows, step=step, path=str(p)), skipped
    if lambda_lines:
        return stats_from_lambda(lambda_lines, step=step, path=str(p)), skipped
    if not lines:
        raise MonitorInputError(f"step {step}: {p} is empty: no score rows and no "
                                "reward-Lambda log lines")
    shown = "; ".join(f"line {s.line}: {s.reason}" for s in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    raise MonitorInputError(f"step {step}: {p} has no score rows and no reward-Lambda log "
                            f"lines ({len(skipped)} unusable line(s): {shown}{more})")
