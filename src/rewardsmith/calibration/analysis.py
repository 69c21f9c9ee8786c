"""One calibration run: correlate a pack's rewards with observed outcomes, refit weights.

Which samples count where (and why):
- the aggregate's correlation uses every matched sample, gated and failed ones included:
  that is the reward the trainer saw;
- a component's correlation uses the samples where it produced a value (not skipped by a
  gate, not abstained);
- the weight fit uses samples with status ``ok`` only: a gated or failed sample's reward
  does not depend on the weights, so it would only add noise to the fit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rewardsmith.calibration._deps import numpy
from rewardsmith.calibration.data import Joined
from rewardsmith.calibration.errors import CalibrationError
from rewardsmith.calibration.fit import WeightFit, fit_weights
from rewardsmith.calibration.stats import Correlation, Method, rank_correlations

if TYPE_CHECKING:
    from rewardsmith.core.pack import Pack

MAX_PLOT_POINTS = 3000


@dataclass
class CalibrationResult:
    pack: dict[str, str]
    n_matched: int
    unmatched_scored: list[Any]
    unmatched_outcomes: list[Any]
    statuses: dict[str, int]
    reward_correlation: dict[Method, Correlation]
    component_correlations: dict[str, dict[Method, Correlation]]
    fit: WeightFit | None
    points: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self, *, include_points: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pack": self.pack,
            "n_matched": self.n_matched,
            "unmatched_scored": {"count": len(self.unmatched_scored),
                                 "ids": self.unmatched_scored[:20]},
            "unmatched_outcomes": {"count": len(self.unmatched_outcomes),
                                   "ids": self.unmatched_outcomes[:20]},
            "statuses": self.statuses,
            "correlations": {
                "reward": {m: c.to_json() for m, c in self.reward_correlation.items()},
                "components": {cid: {m: c.to_json() for m, c in by_method.items()}
                               for cid, by_method in self.component_correlations.items()},
            },
            "fit": self.fit.to_json() if self.fit else None,
            "warnings": self.warnings,
        }
        if include_points:
            out["points"] = self.points
        return out


def _component_value(row: dict[str, Any], cid: str) -> float | None:
    outcome = (row.get("components") or {}).get(cid)
    if not isinstance(outcome, dict) or outcome.get("skipped"):
        return None
    value = outcome.get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _plot_points(joined: Joined, seed: int) -> list[dict[str, Any]]:
    np = numpy()
    order = np.arange(len(joined.rows))
    if len(order) > MAX_PLOT_POINTS:  # keep the page light; a fixed subsample per seed
        order = np.sort(np.random.default_rng(seed).choice(order, MAX_PLOT_POINTS,
                                                            replace=False))
    return [{"id": joined.rows[i]["id"],
             "reward": float(joined.rows[i]["aggregate_reward_score"]),
             "outcome": joined.outcomes[i],
             "status": joined.rows[i].get("status", "ok")} for i in order]


def calibrate(pack: Pack, joined: Joined, *, n_resamples: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> CalibrationResult:
    """Correlations (with bootstrap CIs) of the reward and each component with the
    outcome, and non-negative weights refit for the pack's weighted components."""
    np = numpy()
    warnings: list[str] = []
    hashes = Counter((r.get("pack") or {}).get("hash") for r in joined.rows)
    other = {h: n for h, n in hashes.items() if h != pack.hash}
    if other:
        warnings.append(
            f"{sum(other.values())} rows were scored by a different pack content "
            f"({', '.join(str(h) for h in other)}) than {pack.name} {pack.version} "
            f"({pack.hash}); their rewards may not match this pack"
        )
    unmatched = joined.describe_unmatched()
    if unmatched:
        warnings.append(f"not joined: {unmatched}")

    outcome = np.asarray(joined.outcomes, dtype=float)
    rewards = np.asarray([float(r["aggregate_reward_score"]) for r in joined.rows])
    reward_correlation = rank_correlations(rewards, outcome, n_resamples=n_resamples,
                                           confidence=confidence, seed=seed)
    correlations: dict[str, dict[Method, Correlation]] = {}
    for component in pack.components:
        cid = component.config.id
        values = [_component_value(r, cid) for r in joined.rows]
        keep = [i for i, v in enumerate(values) if v is not None]
        correlations[cid] = rank_correlations(
            [values[i] for i in keep], outcome[keep], n_resamples=n_resamples,
            confidence=confidence, seed=seed)

    fit: WeightFit | None = None
    if pack.document.aggregate.method != "weighted_mean":
        warnings.append(f"pack aggregates with method {pack.document.aggregate.method!r}: "
                        "component weights do not apply, so none were fitted")
    else:
        weighted = [c for c in pack.components if c.config.gate is None]
        ok = [i for i, r in enumerate(joined.rows) if r.get("status", "ok") == "ok"]
        if len(ok) < 2:
            raise CalibrationError(f"only {len(ok)} matched samples have status 'ok'; the "
                                   "weight fit needs ungated, unfailed samples")
        matrix = np.full((len(ok), len(weighted)), np.nan)
        for j, component in enumerate(weighted):
            lo, hi = component.value_range
            for row_at, i in enumerate(ok):
                value = _component_value(joined.rows[i], component.config.id)
                if value is not None:
                    matrix[row_at, j] = (value - lo) / (hi - lo)
        fit = fit_weights(
            matrix, outcome[ok], [c.config.id for c in weighted],
            {c.config.id: c.config.effective_weight for c in weighted},
            n_resamples=n_resamples, confidence=confidence, seed=seed)

    return CalibrationResult(
        pack={"name": pack.name, "version": pack.version, "hash": pack.hash},
        n_matched=len(joined.rows),
        unmatched_scored=joined.unmatched_scored,
        unmatched_outcomes=joined.unmatched_outcomes,
        statuses=dict(Counter(str(r.get("status", "ok")) for r in joined.rows)),
        reward_correlation=reward_correlation,
        component_correlations=correlations,
        fit=fit,
        points=_plot_points(joined, seed),
        warnings=warnings,
    )
