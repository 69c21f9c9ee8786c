"""Rank correlations with paired-bootstrap confidence intervals.

Rank correlations (Spearman's rho, Kendall's tau-b) rather than Pearson: a reward only
has to *order* samples the way the product outcome does, and neither side is assumed
linear or normal. Confidence intervals are percentile intervals over a paired bootstrap
(whole samples are resampled, so each reward stays with its own outcome); both methods
share the same resamples. A constant input has no defined rank correlation: it is
reported as undefined with the reason, never as NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rewardsmith.calibration._deps import numpy, scipy_stats

Method = Literal["spearman", "kendall"]
METHODS: tuple[Method, ...] = ("spearman", "kendall")
MIN_PAIRS = 3
# Below this share of usable resamples (the rest were constant by chance, e.g. a rare
# binary component), a percentile interval would describe a biased subset: none is given.
MIN_VALID_RESAMPLE_SHARE = 0.9


@dataclass(frozen=True)
class Correlation:
    """One rank correlation; ``value`` is None when it is undefined (see ``reason``)."""

    method: Method
    n: int
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    resamples: int = 0
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None

    def contains(self, target: float) -> bool:
        """True when ``target`` lies inside the confidence interval."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low <= target <= self.ci_high

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "n": self.n, "value": self.value}
        if self.ci_low is not None and self.ci_high is not None:
            out["ci"] = [self.ci_low, self.ci_high]
            out["confidence"] = self.confidence
            out["resamples"] = self.resamples
        if self.reason:
            out["reason"] = self.reason
        return out


def _undefined_reason(x: Any, y: Any) -> str | None:
    np = numpy()
    if len(x) < MIN_PAIRS:
        return f"only {len(x)} paired values (need at least {MIN_PAIRS})"
    if np.ptp(x) == 0:
        return "the score is constant across these samples (zero variance)"
    if np.ptp(y) == 0:
        return "the outcome is constant across these samples (zero variance)"
    return None


def _spearman_rows(xs: Any, ys: Any) -> Any:
    """Spearman's rho for each row pair of two (resamples, n) arrays; NaN where constant."""
    np = numpy()
    rx = scipy_stats().rankdata(xs, axis=1)
    ry = scipy_stats().rankdata(ys, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / denom


# Up to this many samples Kendall's tau for all resamples is three matrix products over
# n-by-n sign matrices (n² float32 each, 64 MB at the limit); above it, one scipy call per
# resample.
_KENDALL_MATRIX_LIMIT = 4000
_RESAMPLE_CHUNK = 256


def _kendall_by_counts(x: Any, y: Any, index: Any) -> Any:
    """Kendall's tau-b for every resample, from how often each sample was drawn.

    tau-b = Σ c_i c_j sx_ij sy_ij / sqrt(Σ c_i c_j |sx_ij| · Σ c_i c_j |sy_ij|), where
    sx_ij = sign(x_i - x_j) and c counts the draws of each sample: a resample repeats
    original samples, so it only reweights the original pairs (a sample paired with its
    own copy is tied on both sides and drops out). Equal to scipy's ``kendalltau``.
    """
    np = numpy()
    n = len(x)
    sx = np.sign(x[:, None] - x[None, :]).astype(np.float32)
    sy = np.sign(y[:, None] - y[None, :]).astype(np.float32)
    both, ax, ay = sx * sy, np.abs(sx), np.abs(sy)
    out = np.empty(index.shape[0])
    for start in range(0, index.shape[0], _RESAMPLE_CHUNK):
        rows = index[start:start + _RESAMPLE_CHUNK]
        offsets = np.arange(rows.shape[0])[:, None] * n
        counts = np.bincount((offsets + rows).ravel(), minlength=rows.shape[0] * n)
        c = counts.reshape(rows.shape[0], n).astype(np.float32)
        numerator = ((c @ both) * c).sum(axis=1, dtype=np.float64)
        tx = ((c @ ax) * c).sum(axis=1, dtype=np.float64)
        ty = ((c @ ay) * c).sum(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + rows.shape[0]] = numerator / np.sqrt(tx * ty)
    return out


def _kendall_rows(x: Any, y: Any, index: Any) -> Any:
    np = numpy()
    if len(x) <= _KENDALL_MATRIX_LIMIT:
        return _kendall_by_counts(x, y, index)
    stats = scipy_stats()
    out = np.full(index.shape[0], np.nan)
    for i, rows in enumerate(index):
        xs, ys = x[rows], y[rows]
        if np.ptp(xs) > 0 and np.ptp(ys) > 0:
            out[i] = stats.kendalltau(xs, ys).statistic
    return out


def point_estimate(x: Sequence[float], y: Sequence[float], method: Method = "spearman",
                   ) -> float | None:
    """The rank correlation of ``x`` and ``y``, or None where it is undefined."""
    np = numpy()
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if _undefined_reason(xa, ya) is not None:
        return None
    stats = scipy_stats()
    result = stats.spearmanr(xa, ya) if method == "spearman" else stats.kendalltau(xa, ya)
    return float(result.statistic)


def rank_correlations(
    x: Sequence[float],
    y: Sequence[float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[Method, Correlation]:
    """Spearman and Kendall correlations of paired ``x``/``y`` with bootstrap CIs.

    ``n_resamples=0`` skips the bootstrap (point estimates only). The same seed gives the
    same intervals.
    """
    np = numpy()
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of equal length, got {xa.shape} and "
                         f"{ya.shape}")
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    n = len(xa)
    reason = _undefined_reason(xa, ya)
    if reason is not None:
        return {m: Correlation(m, n, None, confidence=confidence, reason=reason)
                for m in METHODS}

    estimates = {m: point_estimate(xa, ya, m) for m in METHODS}
    if n_resamples <= 0:
        return {m: Correlation(m, n, estimates[m], confidence=confidence) for m in METHODS}

    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_resamples, n))
    xs, ys = xa[index], ya[index]
    resampled = {"spearman": _spearman_rows(xs, ys), "kendall": _kendall_rows(xa, ya, index)}
    tail = (1 - confidence) / 2
    out: dict[Method, Correlation] = {}
    for m in METHODS:
        values = resampled[m][np.isfinite(resampled[m])]
        if len(values) < MIN_VALID_RESAMPLE_SHARE * n_resamples:
            out[m] = Correlation(
                m, n, estimates[m], confidence=confidence, resamples=len(values),
                reason=f"no interval: {n_resamples - len(values)} of {n_resamples} "
                       "resamples had a constant input",
            )
            continue
        low, high = np.quantile(values, [tail, 1 - tail])
        out[m] = Correlation(m, n, estimates[m], float(low), float(high), confidence,
                             len(values))
    return out
