"""Suite metrics: agreement with expected labels, reward distributions, judge health."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.telemetry import quantile
from rewardsmith.plugins.judges.jury import juror_values_of, jury_agreement
from rewardsmith.plugins.judges.listwise import position_bias

PARSE_FAILURE_KINDS = frozenset({"judge_parse", "ambiguous_verdict", "judge_invalid_verdict"})


@dataclass(frozen=True)
class Agreement:
    n: int
    accuracy: float | None
    kappa: float | None  # None when undefined (no pairs, or chance agreement is 1)

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "kappa": self.kappa}


def agreement(pairs: Sequence[tuple[Hashable, Hashable]]) -> Agreement:
    """Accuracy and Cohen's kappa of (expected, observed) label pairs.

    kappa = (p_o - p_e) / (1 - p_e), p_e from the two raters' marginal frequencies; it is
    undefined (None) when both raters always give the same single category.
    """
    n = len(pairs)
    if n == 0:
        return Agreement(0, None, None)
    observed = sum(a == b for a, b in pairs) / n
    expected_counts = Counter(a for a, _ in pairs)
    observed_counts = Counter(b for _, b in pairs)
    chance = sum(expected_counts[c] * observed_counts.get(c, 0) for c in expected_counts) / n**2
    kappa = None if chance >= 1.0 else (observed - chance) / (1.0 - chance)
    return Agreement(n, observed, kappa)


def distribution(values: Iterable[float]) -> dict[str, Any]:
    """Count, mean, standard deviation, min, quartiles and max of rewards."""
    data = sorted(values)
    if not data:
        return {"n": 0}
    return {
        "n": len(data),
        "mean": statistics.fmean(data),
        "std": statistics.pstdev(data) if len(data) > 1 else 0.0,
        "min": data[0],
        "p25": quantile(data, 0.25),
        "median": quantile(data, 0.5),
        "p75": quantile(data, 0.75),
        "max": data[-1],
    }


def observed_label(row: Mapping[str, Any], label: str) -> bool | int | str | None:
    """What the judge said for ``"<component>.<criterion>"`` (or ``"<component>"``) in a
    ``core.wire.jsonl_row`` row; None when it gave no verdict (skipped or failed)."""
    components = row.get("components") or {}
    component_id, _, criterion = label.partition(".")
    outcome = components.get(component_id)
    if outcome is None or outcome.get("error_kind") or outcome.get("skipped"):
        return None
    if not criterion:
        passed = outcome.get("passed")
        return bool(passed) if passed is not None else None
    found = ((outcome.get("details") or {}).get("criteria") or {}).get(criterion)
    if found is None:
        return None
    verdict = found.get("verdict")
    if isinstance(verdict, int) and not isinstance(verdict, bool):
        return verdict
    return bool(found.get("passed"))


def normalise_label(value: bool | int | str) -> bool | int | str:
    """A suite label as compared with a verdict: ``"pass"``/``"fail"`` (any case) as
    ``True``/``False``; anything else unchanged."""
    if isinstance(value, str) and value.lower() in ("pass", "fail"):
        return value.lower() == "pass"
    return value


def judge_health(rows: Sequence[Mapping[str, Any]], judge_ids: Sequence[str],
                 expected: Mapping[str, Sequence[float | None]] | None = None
                 ) -> dict[str, Any]:
    """Parse-failure rate and position inconsistency per judge component, and cost; for a
    jury judge the agreement of each pair of jurors (``jury``: errors against
    ``expected[cid]``, the expected value per row, when given), for a listwise judge its
    position bias (``position_bias``)."""
    per_component: dict[str, dict[str, Any]] = {}
    for cid in judge_ids:
        ran = failed = 0
        inconsistency: list[float] = []
        errors: Counter[str] = Counter()
        jurors: list[dict[str, float]] = []
        juror_labels: list[float | None] = []
        listwise: list[Mapping[str, Any]] = []
        for k, row in enumerate(rows):
            outcome = (row.get("components") or {}).get(cid)
            if outcome is None or outcome.get("skipped"):
                continue
            ran += 1
            votes = juror_values_of(outcome.get("measurements") or {})
            if votes:
                jurors.append(votes)
                juror_labels.append(expected[cid][k] if expected and cid in expected
                                    else None)
            listwise.append(outcome)
            kind = outcome.get("error_kind")
            if kind:
                errors[kind] += 1
                failed += kind in PARSE_FAILURE_KINDS
            value = (outcome.get("measurements") or {}).get("position_inconsistency")
            if isinstance(value, int | float):
                inconsistency.append(float(value))
        per_component[cid] = {
            "scored": ran,
            "parse_failures": failed,
            "parse_failure_rate": failed / ran if ran else None,
            "errors": dict(errors),
            "position_inconsistency": statistics.fmean(inconsistency) if inconsistency
            else None,
        }
        if jurors:
            per_component[cid]["jury"] = jury_agreement(jurors, juror_labels)
        bias = position_bias(listwise)
        if bias is not None:
            per_component[cid]["position_bias"] = bias
    costs = [sample_cost(row) for row in rows]
    total_ran = sum(c["scored"] for c in per_component.values())
    total_failed = sum(c["parse_failures"] for c in per_component.values())
    return {
        "components": per_component,
        "parse_failure_rate": total_failed / total_ran if total_ran else None,
        "cost_per_sample_usd": statistics.fmean(costs) if costs else None,
        "cost_total_usd": sum(costs),
    }


def sample_cost(row: Mapping[str, Any]) -> float:
    """Estimated judge cost of one scored sample: its components' ``cost_usd``."""
    total = 0.0
    for outcome in (row.get("components") or {}).values():
        value = (outcome.get("measurements") or {}).get("cost_usd")
        if isinstance(value, int | float) and not isinstance(value, bool):
            total += float(value)
    return total
