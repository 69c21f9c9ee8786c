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
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.telemetry import quantile
from rewardsmith.core.wire import REWARD_KEY, finite_number

MIN_CORRELATION_N = 8
# A component value within this of its observed maximum of 1.0 counts as saturated.
SATURATION_EPS = 1e-9
ZERO_VARIANCE_EPS = 1e-9
PARSE_KINDS = frozenset({ErrorKind.JUDGE_PARSE, ErrorKind.JUDGE_INVALID_VERDICT,
                         ErrorKind.AMBIGUOUS_VERDICT})
REFUSAL_KINDS = frozenset({ErrorKind.JUDGE_REFUSED})


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
        """The named statistic's value(s): ``{None: value}`` for a step-level one,
        ``{component_id: value}`` for ``components.*.<stat>`` and
        ``{criterion: value}`` for ``criteria.*``. Unknown or undefined: ``{}``.

        Names: ``reward_mean``, ``reward_std``, ``zero_variance_group_share``,
        ``length_reward_corr``, ``judge_check_corr``, ``swap_inconsistency``,
        ``parse_failure_rate``, ``refusal_rate``, ``judge_cost_usd``, ``judge_calls``,
        ``failed_share``, ``mean_response_chars``, ``components.*.mean``,
        ``components.*.saturated_share``, ``components.*.pass_rate``, ``criteria.*``.
        """
        if name.startswith("components.*."):
            stat = name.removeprefix("components.*.")
            out: dict[str | None, float] = {}
            for cid, comp in self.components.items():
                value = (comp.values.mean if stat == "mean"
                         else getattr(comp, stat, None) if stat in ("saturated_share",
                                                                     "pass_rate") else None)
                if value is not None:
                    out[cid] = value
            return out
        if name == "criteria.*":
            return dict(self.criteria_pass_rates)
        scalar: dict[str, float | None] = {
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
        }
        if name not in scalar:
            return {}
        value = scalar[name]
        return {} if value is None else {None: value}

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
def _json_lines(path: Path) -> Iterable[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or not text.startswith("{"):
                continue  # Lambda logs interleave START/END/REPORT platform lines
            try:
                yield number, json.loads(text)
            except ValueError:
                yield number, None


def read_step(path: str | Path, step: int) -> tuple[StepStats, int]:
    """The statistics of one step file and how many of its JSON-looking lines could not be
    used (malformed JSON, or JSON of no known kind). Score rows and Lambda lines may not
    be mixed in one file.

    Raises :class:`MonitorInputError` naming the file when it cannot be read or holds no
    usable line.
    """
    p = Path(path)
    try:
        parsed = list(_json_lines(p))
    except (OSError, UnicodeDecodeError) as exc:
        raise MonitorInputError(f"step {step}: cannot read {p}: {exc}") from exc
    rows, lambda_lines, skipped = [], [], 0
    for _, doc in parsed:
        if not isinstance(doc, dict):
            skipped += 1
        elif REWARD_KEY in doc and ("components" in doc or "status" in doc):
            rows.append(doc)
        elif isinstance(doc.get("_aws"), dict) or doc.get("event") == "reward_invocation":
            lambda_lines.append(doc)
        else:
            skipped += 1
    if rows and lambda_lines:
        raise MonitorInputError(f"step {step}: {p} mixes score rows and Lambda log lines; "
                                "give one step's output of one kind per file")
    if rows:
        return stats_from_rows(rows, step=step, path=str(p)), skipped
    if lambda_lines:
        return stats_from_lambda(lambda_lines, step=step, path=str(p)), skipped
    raise MonitorInputError(f"step {step}: {p} has no score rows and no reward-Lambda log "
                            f"lines ({skipped} JSON line(s) of another kind)")
