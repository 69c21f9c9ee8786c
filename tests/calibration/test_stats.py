from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rewardsmith.calibration.stats import (
    _draw_counts,
    _kendall_by_counts,
    _spearman_by_counts,
    point_estimate,
    rank_correlations,
)


def _pair(n: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.random(n), 1)  # rounded: plenty of ties, as real scores have
    return x, x + rng.normal(0, 0.3, n)


def test_point_estimates_match_scipy():
    x, y = _pair()
    out = rank_correlations(x, y, n_resamples=0)
    assert out["spearman"].value == pytest.approx(stats.spearmanr(x, y).statistic)
    assert out["kendall"].value == pytest.approx(stats.kendalltau(x, y).statistic)
    assert out["spearman"].ci_low is None  # no bootstrap asked for


def test_resampled_correlations_by_counts_equal_scipy_on_each_resample():
    x, y = _pair(200)
    index = np.random.default_rng(5).integers(0, 200, size=(7, 200))
    counts = _draw_counts(index, 200)
    kendall = [stats.kendalltau(x[i], y[i]).statistic for i in index]
    spearman = [stats.spearmanr(x[i], y[i]).statistic for i in index]
    assert _kendall_by_counts(x, y, counts) == pytest.approx(kendall, abs=1e-6)
    assert _spearman_by_counts(x, y, counts) == pytest.approx(spearman, abs=1e-9)


def test_intervals_are_reproducible_and_bracket_the_estimate():
    x, y = _pair()
    first = rank_correlations(x, y, n_resamples=200, seed=3)
    again = rank_correlations(x, y, n_resamples=200, seed=3)
    other = rank_correlations(x, y, n_resamples=200, seed=4)
    for method, corr in first.items():
        assert corr.ci_low == again[method].ci_low and corr.ci_high == again[method].ci_high
        assert corr.ci_low < corr.value < corr.ci_high
        assert corr.resamples == 200
    assert first["spearman"].ci_low != other["spearman"].ci_low


def test_a_constant_score_is_undefined_not_nan():
    y = np.arange(50.0)
    out = rank_correlations(np.full(50, 0.7), y, n_resamples=100)
    for corr in out.values():
        assert corr.value is None and not corr.defined
        assert "constant" in corr.reason and "zero variance" in corr.reason
        assert corr.to_json()["value"] is None
    assert point_estimate([1, 1, 1, 1], [1, 2, 3, 4]) is None


def test_a_constant_outcome_and_too_few_pairs_are_named():
    assert "outcome is constant" in rank_correlations([1, 2, 3], [5, 5, 5])["spearman"].reason
    assert "only 2 paired values" in rank_correlations([1, 2], [1, 2])["kendall"].reason


def test_a_rare_binary_score_gets_no_interval_when_resamples_are_constant():
    x = np.zeros(60)
    x[0] = 1.0  # one positive in 60: about a third of resamples miss it
    y = np.arange(60.0)
    out = rank_correlations(x, y, n_resamples=200)
    assert out["spearman"].value is not None
    assert out["spearman"].ci_low is None
    assert "resamples had a constant input" in out["spearman"].reason
    assert all(math.isfinite(v) for v in [out["kendall"].value])


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="equal length"):
        rank_correlations([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        rank_correlations([1, 2, 3], [1, 2, 3], confidence=1.5)
