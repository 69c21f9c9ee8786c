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


def _draw_counts(index: Any, n: int) -> Any:
    """How often each original sample appears in each resample: (resamples, n)."""
    np = numpy()
    offsets = np.arange(index.shape[0])[:, None] * n
    counts = np.bincount((offsets + index).ravel(), minlength=index.shape[0] * n)
    return counts.reshape(index.shape[0], n).astype(np.float64)


def _tie_groups(values: Any) -> tuple[Any, Any, Any]:
    """Group index of each sample (groups in value order), a gather order, group starts."""
    np = numpy()
    _, group = np.unique(values, return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(group.max() + 1))
    return group, order, starts


def _group_sums(counts: Any, order: Any, starts: Any) -> Any:
    return numpy().add.reduceat(counts[:, order], starts, axis=1)


def _spearman_by_counts(x: Any, y: Any, counts: Any) -> Any:
    """Spearman's rho for every resample without sorting any resample.

    A resample holds ``counts[i]`` copies of sample i, so the average rank of i in it is
    (draws of smaller values) + (draws of equal values + 1) / 2, and rho is the Pearson
    correlation of those ranks weighted by the counts.
    """
    np = numpy()
    n = counts.shape[1]
    ranks = []
    for values in (x, y):
        group, order, starts = _tie_groups(values)
        per_group = _group_sums(counts, order, starts)
        below = np.cumsum(per_group, axis=1) - per_group
        ranks.append((below + (per_group + 1) / 2)[:, group])
    rx, ry = ranks
    rx -= (counts * rx).sum(axis=1, keepdims=True) / n
    ry -= (counts * ry).sum(axis=1, keepdims=True) / n
    cov = (counts * rx * ry).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt((counts * rx * rx).sum(axis=1) * (counts * ry * ry).sum(axis=1))


# Up to this many samples Kendall's tau for all resamples is one matrix product with an
# n-by-n sign matrix (float32, 64 MB at the limit); above it, one scipy call per resample.
_KENDALL_MATRIX_LIMIT = 4000
_RESAMPLE_CHUNK = 256


def _kendall_by_counts(x: Any, y: Any, counts: Any) -> Any:
    """Kendall's tau-b for every resample, from how often each sample was drawn.

    tau-b = sum c_i c_j sx_ij sy_ij / sqrt(sum c_i c_j |sx_ij| * sum c_i c_j |sy_ij|),
    with sx_ij = sign(x_i - x_j): a resample only reweights the original pairs (a sample
    paired with its own copy is tied on both sides and drops out). The denominators are
    n^2 minus the squared draw counts of each tie group. Equal to scipy's ``kendalltau``.
    """
    np = numpy()
    n = counts.shape[1]
    concordance = (np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])
                   ).astype(np.float32)
    numerator = np.empty(counts.shape[0])
    for start in range(0, counts.shape[0], _RESAMPLE_CHUNK):
        c = counts[start:start + _RESAMPLE_CHUNK].astype(np.float32)
        numerator[start:start + len(c)] = ((c @ concordance) * c).sum(axis=1, dtype=np.float64)
    untied = []
    for values in (x, y):
        _, order, starts = _tie_groups(values)
        untied.append(n * n - (_group_sums(counts, order, starts) ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / np.sqrt(untied[0] * untied[1])


def _kendall_rows(x: Any, y: Any, index: Any, counts: Any) -> Any:
    np = numpy()
    if len(x) <= _KENDALL_MATRIX_LIMIT:
        return _kendall_by_counts(x, y, counts)
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
    counts = _draw_counts(index, n)
    resampled = {"spearman": _spearman_by_counts(xa, ya, counts),
                 "kendall": _kendall_rows(xa, ya, index, counts)}
    tail = (1 - confidence) / 2
    out: dict[Method, Correlation] = {}
    for m in METHODS:
        values = resampled[m][np.isfinite(resampled[m])]
        if len(values) < MIN_VALID_RESAMPLE_SHARE * n_resamples:
            out[m] = Correlation(
                m, n, estimates[m], confidence=confidence, resamples=len(values),
                reason=f"no interval: {1 - len(values) / n_resamples:.0%} of the resamples "
                       "had a constant input",
            )
            continue
        low, high = np.quantile(values, [tail, 1 - tail])
        out[m] = Correlation(m, n, estimates[m], float(low), float(high), confidence,
                             len(values))
    return out
