"""Human summaries of a scored run: per-component table and reward distribution."""

from __future__ import annotations

import statistics
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rewardsmith.core.results import ComponentOutcome, SampleResult, id_key
from rewardsmith.core.telemetry import quantile
from rewardsmith.report.svg import bin_counts

if TYPE_CHECKING:
    from rewardsmith.core.pack import Pack

_BARS = " ▁▂▃▄▅▆▇█"


def histogram(values: Sequence[float], lo: float, hi: float, bins: int = 10) -> str:
    """A one-line histogram of ``values`` over [lo, hi]: ``bins`` block characters, each as
    tall as its count relative to the fullest bin (the bins of :func:`.svg.bin_counts`)."""
    counts = bin_counts(values, lo, hi, bins)
    top = max(counts) or 1
    return "".join(_BARS[round(c / top * (len(_BARS) - 1))] for c in counts)


def budget_path(outcome: ComponentOutcome) -> str | None:
    """The budget degrade path a component outcome took, or None (plugins/judges/budget.py):
    a judged-but-degraded sample names it in ``budget_degraded``; an unjudged one failed
    with kind ``budget_exhausted`` and took its group's mean or the checks-only reward."""
    path = outcome.measurements.get("budget_degraded")
    if isinstance(path, str):
        return path
    if outcome.error_kind == "budget_exhausted":
        return "group_mean" if outcome.policy == "group_mean" else "checks_only"
    return None


def component_stats(results: Sequence[SampleResult]) -> dict[str, dict[str, float | int]]:
    """Per component: mean value, pass rate, errors and skips over the scored samples
    (:meth:`RunSummary.component_stats` over ``results``)."""
    return RunSummary().add_all(results).component_stats()


@dataclass
class _ComponentTally:
    value_sum: float = 0.0
    scored: int = 0
    passed: int = 0
    verdicts: int = 0
    errors: int = 0
    ran: int = 0
    skipped: int = 0


@dataclass
class RunSummary:
    """The summary of a run, accumulated one result at a time (``rewardsmith score``):
    what it keeps does not depend on the batch size, and per sample only its reward (8
    bytes, for exact quantiles), never the result itself.

    :meth:`add` each result, then :meth:`table`; the same text as :func:`summary_table`
    over all the results.
    """

    rewards: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    components: dict[str, _ComponentTally] = field(default_factory=dict)
    #: Results whose id repeats an earlier result's (scored and echoed, but reported), and
    #: the first few such ids. Keeping the ids seen costs a set entry per distinct id.
    duplicate_ids: int = 0
    duplicate_examples: list[object] = field(default_factory=list)
    #: Per component, samples that took each budget degrade path (see :func:`budget_path`).
    degraded: dict[str, Counter[str]] = field(default_factory=dict)
    _ids_seen: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def add(self, result: SampleResult) -> None:
        key = id_key(result.id)
        if key in self._ids_seen:
            self.duplicate_ids += 1
            if len(self.duplicate_examples) < 5 and result.id not in self.duplicate_examples:
                self.duplicate_examples.append(result.id)
        self._ids_seen.add(key)
        self.rewards.append(result.reward)
        self.statuses[result.status] += 1
        if result.status == "failed":
            self.failures[str(result.error_kind)] += 1
        for cid, outcome in result.components.items():
            tally = self.components.setdefault(cid, _ComponentTally())
            if outcome.value is not None and outcome.error is None:
                tally.value_sum += outcome.value
                tally.scored += 1
            if outcome.passed is not None:
                tally.verdicts += 1
                tally.passed += bool(outcome.passed)
            # a component that failed on some turns of a sample (scored from the others)
            # failed that sample too, as the batch's ``failures`` counts it
            tally.errors += (outcome.error is not None
                             or outcome.partial_error_kind is not None)
            tally.ran += not outcome.skipped
            tally.skipped += bool(outcome.skipped)
            path = budget_path(outcome)
            if path is not None:
                self.degraded.setdefault(cid, Counter())[path] += 1

    def add_all(self, results: Iterable[SampleResult]) -> RunSummary:
        for result in results:
            self.add(result)
        return self

    def component_stats(self) -> dict[str, dict[str, float | int]]:
        """As :func:`component_stats`."""
        nan = float("nan")
        return {cid: {"mean": t.value_sum / t.scored if t.scored else nan,
                      "pass_rate": t.passed / t.verdicts if t.verdicts else nan,
                      "scored": t.scored, "errors": t.errors,
                      # over the samples it ran on: a component gated out did not fail
                      "failure_rate": t.errors / t.ran if t.ran else nan,
                      "ran": t.ran, "skipped": t.skipped}
                for cid, t in self.components.items()}

    def table(self, pack: Pack) -> str:
        """As :func:`summary_table`, plus a line counting duplicate ids when there are any."""
        table = _table(pack, sorted(self.rewards), self.statuses, self.component_stats(),
                       self.failures, self.degraded)
        warning = self.duplicate_warning()
        return table + ("\n" + warning if warning else "")

    def duplicate_warning(self) -> str | None:
        """``"warning: 2 rows repeat an earlier row's id ..."``, or None when ids are unique."""
        if not self.duplicate_ids:
            return None
        examples = ", ".join(repr(i) for i in self.duplicate_examples)
        return (f"warning: {self.duplicate_ids} row(s) repeat an earlier row's id "
                f"(e.g. {examples}); scored anyway, each row echoes its id")


def summary_table(pack: Pack, results: Sequence[SampleResult]) -> str:
    """The terminal summary of a scored run: a header (pack, sample count by status), the
    reward distribution (mean, std, quantiles, a histogram over the pack's reward range) and
    one row per component (see :func:`component_stats`); lines joined by newlines."""
    failures = Counter(str(r.error_kind) for r in results if r.status == "failed")
    degraded: dict[str, Counter[str]] = {}
    for r in results:
        for cid, outcome in r.components.items():
            path = budget_path(outcome)
            if path is not None:
                degraded.setdefault(cid, Counter())[path] += 1
    return _table(pack, sorted(r.reward for r in results),
                  Counter(r.status for r in results), component_stats(results), failures,
                  degraded)


def _table(pack: Pack, rewards: list[float], statuses: Counter[str],
           stats: dict[str, dict[str, float | int]], failures: Counter[str],
           degraded: dict[str, Counter[str]] | None = None) -> str:
    lines = [f"pack {pack.name} {pack.version} ({pack.hash}) — {sum(statuses.values())} "
             "samples: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))]
    if rewards:
        lo, hi = pack.reward_range
        lines.append(
            f"reward  mean {statistics.fmean(rewards):.3f}  std "
            f"{statistics.pstdev(rewards):.3f}  min {rewards[0]:.3f}  p10 "
            f"{quantile(rewards, 0.1):.3f}  p50 {quantile(rewards, 0.5):.3f}  p90 "
            f"{quantile(rewards, 0.9):.3f}  max {rewards[-1]:.3f}  [{lo:g} "
            f"{histogram(rewards, lo, hi)} {hi:g}]"
        )
    if stats:
        width = max(9, *(len(c) for c in stats))
        lines.append(f"{'component':<{width}}  {'mean':>6}  {'pass':>6}  {'scored':>6}  "
                     f"{'errors':>6}  {'failed':>6}  {'skipped':>7}")
        for cid, s in stats.items():
            mean = "-" if s["mean"] != s["mean"] else f"{s['mean']:.3f}"
            pass_rate = "-" if s["pass_rate"] != s["pass_rate"] else f"{s['pass_rate']:.0%}"
            failed = ("-" if s["failure_rate"] != s["failure_rate"]
                      else f"{s['failure_rate']:.0%}")
            lines.append(f"{cid:<{width}}  {mean:>6}  {pass_rate:>6}  {s['scored']:>6}  "
                         f"{s['errors']:>6}  {failed:>6}  {s['skipped']:>7}")
    for cid, paths in (degraded or {}).items():
        # "100% scored, 0 errors" must not hide that a budget degraded the judging.
        ran = int(stats.get(cid, {}).get("ran", 0))
        lines.append(f"budget: {cid}: {sum(paths.values())} of {ran} samples degraded ("
                     + ", ".join(f"{p} {n}" for p, n in sorted(paths.items())) + ")")
    if failures:
        lines.append("failed samples: " + ", ".join(f"{k}={n}" for k, n in failures.items()))
    return "\n".join(lines)
