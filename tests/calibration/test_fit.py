"""Weight recovery on data whose outcome was generated from known weights."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from scipy import stats
from tests.support.calibration_data import TRUE_WEIGHTS, make_synthetic

from rewardsmith import load_pack
from rewardsmith.calibration import CalibrationError, calibrate, fit_weights, join, read_outcomes
from rewardsmith.calibration.fit import engine_aggregate

WEIGHT_TOLERANCE = 0.05  # absolute, after normalising to sum 1


def test_recovers_known_weights_and_covers_the_true_correlations(
        tmp_path, host, pack_path, score_rows):
    syn = make_synthetic(n=2000, seed=0)
    rows = score_rows(pack_path, syn.samples())
    outcomes = read_outcomes(syn.write_outcomes(tmp_path / "outcomes.jsonl"))
    pack = load_pack(pack_path, host)

    result = calibrate(pack, join(rows, outcomes), n_resamples=200, seed=0)

    fitted = result.fit.weights
    for cid, true in TRUE_WEIGHTS.items():
        assert fitted[cid] == pytest.approx(true, abs=WEIGHT_TOLERANCE), (cid, fitted)
        comp = next(c for c in result.fit.components if c.id == cid)
        assert comp.ci_low <= true <= comp.ci_high or abs(fitted[cid] - true) < 0.01
        assert comp.previous == pytest.approx(0.25)  # the pack weighs all four equally
    assert sum(fitted.values()) == pytest.approx(1.0)
    assert result.fit.r_squared > 0.95
    # The refit reward orders samples like the outcome much better than equal weights.
    assert result.fit.spearman_refit > result.fit.spearman_previous + 0.1

    # The true correlation of each component (and of the equal-weight reward) with the
    # noiseless outcome lies inside the reported interval.
    for cid, values in syn.values.items():
        for method, fn in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
            truth = fn(values, syn.noiseless).statistic
            corr = result.component_correlations[cid][method]
            assert corr.contains(truth), (cid, method, truth, corr)
    rewards = np.array([r["aggregate_reward_score"] for r in rows])
    truth = stats.spearmanr(rewards, syn.noiseless).statistic
    assert result.reward_correlation["spearman"].contains(truth)
    # And everything is plain JSON (no NaN sneaks out).
    orjson.loads(orjson.dumps(result.to_json(include_points=True)))


def test_abstained_values_are_imputed_and_counted(tmp_path, host, pack_path, score_rows):
    syn = make_synthetic(n=600, seed=2)
    samples = syn.samples()
    for i in range(0, 600, 10):  # 'grounded' abstains (no score) on 60 samples
        del samples[i]["metadata"]["scores"]["grounded"]
    rows = score_rows(pack_path, samples)
    assert rows[0]["components"]["grounded"]["value"] is None
    outcomes = read_outcomes(syn.write_outcomes(tmp_path / "o.jsonl"))
    result = calibrate(load_pack(pack_path, host), join(rows, outcomes), n_resamples=50)

    by_id = {c.id: c for c in result.fit.components}
    assert by_id["grounded"].imputed == 60
    assert by_id["helpful"].imputed == 0
    assert result.component_correlations["grounded"]["spearman"].n == 540
    for cid, true in TRUE_WEIGHTS.items():
        assert by_id[cid].fitted == pytest.approx(true, abs=WEIGHT_TOLERANCE)


def test_a_constant_component_gets_zero_weight_and_an_undefined_correlation(
        tmp_path, host, pack_path, score_rows):
    syn = make_synthetic(n=300, seed=3)
    samples = syn.samples()
    for s in samples:
        s["metadata"]["scores"]["polite"] = 0.8
    rows = score_rows(pack_path, samples)
    result = calibrate(load_pack(pack_path, host),
                       join(rows, read_outcomes(syn.write_outcomes(tmp_path / "o.jsonl"))),
                       n_resamples=50)
    polite = result.component_correlations["polite"]["spearman"]
    assert polite.value is None and "zero variance" in polite.reason
    comp = next(c for c in result.fit.components if c.id == "polite")
    assert comp.fitted == 0.0 and "constant" in comp.note
    text = orjson.dumps(result.to_json()).decode()
    assert "NaN" not in text and "nan" not in text


def test_engine_aggregate_drops_missing_values_and_renormalises():
    values = np.array([[1.0, 0.0], [1.0, np.nan], [np.nan, np.nan]])
    out = engine_aggregate(values, [0.75, 0.25])
    assert out[0] == pytest.approx(0.75)
    assert out[1] == pytest.approx(1.0)
    assert math.isnan(out[2])


def test_an_outcome_no_component_predicts_is_a_clear_error():
    rng = np.random.default_rng(0)
    x = rng.random((100, 2))
    with pytest.raises(CalibrationError, match="no component predicts the outcome"):
        fit_weights(x, -x.sum(axis=1), ["a", "b"], {"a": 1, "b": 1}, n_resamples=0)
    with pytest.raises(CalibrationError, match="same for every sample"):
        fit_weights(x, np.ones(100), ["a", "b"], {}, n_resamples=0)


def test_samples_where_every_component_abstained_do_not_poison_the_rank_figures():
    rng = np.random.default_rng(1)
    x = rng.random((50, 2))
    y = x @ [0.7, 0.3]
    x[:5] = np.nan  # nothing scored on five samples: imputed for the fit, left out here
    fit = fit_weights(x, y, ["a", "b"], {"a": 1, "b": 1}, n_resamples=0)
    assert fit.spearman_refit is not None and fit.spearman_refit > 0.99
    assert fit.spearman_previous is not None and math.isfinite(fit.spearman_previous)
    assert [c.imputed for c in fit.components] == [5, 5]
