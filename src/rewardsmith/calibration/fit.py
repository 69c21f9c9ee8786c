"""Fitting non-negative component weights that best predict an observed outcome.

Model: ``outcome ≈ intercept + Σ β_i · value_i`` with every ``β_i ≥ 0`` (a reward
component may be worth nothing, never worth a penalty: a negative weight would teach the
policy to fail a check). The intercept is free: for fixed β the least-squares intercept is
``mean(outcome) - β·mean(values)``, so non-negative least squares (scipy ``nnls``) on
*centred* columns gives the exact constrained solution. The weights written to a pack are
``β / Σβ``: a weighted mean only cares about their ratios, so the outcome's scale and
offset drop out.

Missing values. A component that abstained on a sample (value None) has no number there.
The engine renormalises the remaining weights for such a sample, which cannot be written
as one linear model, so the fit imputes the component's mean over the samples where it
did score (a mean adds no signal either way) and reports how many values were imputed.
The *refit aggregate* used for quality figures is computed the way the engine does it
(abstained components dropped, weights renormalised), so it is the reward the new pack
would actually give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.calibration._deps import numpy, scipy_optimize
from rewardsmith.calibration.errors import CalibrationError
from rewardsmith.calibration.stats import point_estimate

METHOD = "nnls"
SMALL_FIT = 100  # below this many samples the fit gets a caution note


@dataclass(frozen=True)
class ComponentFit:
    id: str
    fitted: float  # normalised to sum 1 over the fitted components
    previous: float  # the pack's weight, normalised the same way
    coefficient: float  # β in outcome units per unit of normalised component value
    imputed: int  # values filled with the component's mean
    ci_low: float | None = None  # bootstrap interval of the normalised fitted weight
    ci_high: float | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fitted": self.fitted, "previous": self.previous,
                               "coefficient": self.coefficient, "imputed": self.imputed}
        if self.ci_low is not None and self.ci_high is not None:
            out["ci"] = [self.ci_low, self.ci_high]
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class WeightFit:
    """Fitted weights and how well they predict the outcome, next to the pack's own."""

    n: int
    components: list[ComponentFit]
    intercept: float
    r_squared: float
    spearman_refit: float | None  # rank correlation of the refit aggregate with the outcome
    spearman_previous: float | None  # the same with the pack's current weights
    resamples: int = 0
    confidence: float = 0.95
    notes: list[str] = field(default_factory=list)

    @property
    def weights(self) -> dict[str, float]:
        return {c.id: c.fitted for c in self.components}

    def to_json(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "n": self.n,
            "intercept": self.intercept,
            "r_squared": self.r_squared,
            "spearman_refit": self.spearman_refit,
            "spearman_previous": self.spearman_previous,
            "resamples": self.resamples,
            "confidence": self.confidence,
            "weights": {c.id: c.to_json() for c in self.components},
            "notes": self.notes,
        }


def engine_aggregate(values: Any, weights: Sequence[float]) -> Any:
    """Weighted mean per row over the non-missing (non-NaN) values, as the engine does."""
    np = numpy()
    w = np.asarray(weights, dtype=float)
    present = np.isfinite(values) & (w > 0)
    num = np.where(present, values, 0.0) @ w
    den = present.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _reward_rank_correlation(values: Any, weights: Any, outcome: Any) -> float | None:
    """Spearman of the engine-style reward with the outcome, over samples that have one
    (a sample on which every weighted component abstained fails in the engine)."""
    np = numpy()
    reward = engine_aggregate(values, weights)
    keep = np.isfinite(reward)
    return point_estimate(reward[keep], outcome[keep])


def _normalise(vector: Any) -> Any:
    np = numpy()
    total = float(vector.sum())
    return vector / total if total > 0 else np.zeros_like(vector)


def _nnls_centred(x: Any, y: Any) -> Any:
    np = numpy()
    beta = np.zeros(x.shape[1])
    # A constant column centres to rounding noise, which nnls would happily scale up:
    # it carries no information, so it is left out and keeps weight 0.
    informative = np.ptp(x, axis=0) > 0
    if informative.any():
        columns = x[:, informative]
        beta[informative], _ = scipy_optimize().nnls(columns - columns.mean(axis=0),
                                                     y - y.mean())
    return beta


def fit_weights(
    values: Any,
    outcome: Sequence[float],
    component_ids: Sequence[str],
    previous_weights: Mapping[str, float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> WeightFit:
    """Fit non-negative weights for the columns of ``values`` (n by k, NaN = abstained).

    ``values`` must already be normalised to [0, 1] per component (as the weighted mean
    sees them). Bootstrap resamples give an interval for each normalised weight.
    """
    np = numpy()
    x = np.array(values, dtype=float)
    y = np.asarray(outcome, dtype=float)
    n, k = x.shape
    if k != len(component_ids):
        raise ValueError(f"{k} value columns but {len(component_ids)} component ids")
    if n < 2:
        raise CalibrationError(f"cannot fit weights on {n} sample(s)")
    if np.ptp(y) == 0:
        raise CalibrationError("the outcome is the same for every sample: nothing to fit")

    notes: list[str] = []
    if n < SMALL_FIT:
        notes.append(f"only {n} samples in the fit: the weights are poorly determined, "
                     "read them with their intervals")
    missing = ~np.isfinite(x)
    imputed = missing.sum(axis=0)
    filled = x.copy()
    for j, cid in enumerate(component_ids):
        column = x[:, j]
        scored = column[~missing[:, j]]
        if scored.size == 0:
            notes.append(f"{cid}: never scored on these samples; its weight is fixed at 0")
            filled[:, j] = 0.0
            continue
        filled[missing[:, j], j] = scored.mean()

    beta = _nnls_centred(filled, y)
    if not beta.sum() > 0:
        raise CalibrationError(
            "no component predicts the outcome positively (every non-negative weight fit is "
            "zero); check that the outcome is oriented so that higher is better"
        )
    fitted = _normalise(beta)
    intercept = float(y.mean() - filled.mean(axis=0) @ beta)
    residual = y - (intercept + filled @ beta)
    r_squared = float(1 - (residual @ residual) / ((y - y.mean()) @ (y - y.mean())))

    previous = np.array([max(float(previous_weights.get(c, 0.0)), 0.0) for c in component_ids])
    previous = _normalise(previous)
    spearman_refit = _reward_rank_correlation(x, fitted, y)
    spearman_previous = (_reward_rank_correlation(x, previous, y)
                         if previous.sum() > 0 else None)

    lows = highs = None
    if n_resamples > 0:
        rng = np.random.default_rng(seed)
        draws = np.empty((n_resamples, k))
        for b in range(n_resamples):
            index = rng.integers(0, n, size=n)
            draws[b] = _normalise(_nnls_centred(filled[index], y[index]))
        tail = (1 - confidence) / 2
        lows, highs = np.quantile(draws, [tail, 1 - tail], axis=0)

    components = []
    for j, cid in enumerate(component_ids):
        note = None
        if np.ptp(filled[:, j]) == 0:
            note = "constant across samples: carries no information, weight 0"
        components.append(ComponentFit(
            id=cid,
            fitted=float(fitted[j]),
            previous=float(previous[j]),
            coefficient=float(beta[j]),
            imputed=int(imputed[j]),
            ci_low=None if lows is None else float(lows[j]),
            ci_high=None if highs is None else float(highs[j]),
            note=note,
        ))
    return WeightFit(n=n, components=components, intercept=intercept, r_squared=r_squared,
                     spearman_refit=spearman_refit, spearman_previous=spearman_previous,
                     resamples=max(n_resamples, 0), confidence=confidence, notes=notes)
