"""The jury judge against the OpenAI simulator: each juror is a model of its own, the vote
is majority or mean, and agreement (per sample, per batch, per pair of jurors with the
correlation of their errors) is checked against numbers worked out by hand below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.judge_models import calls_per_model, named_in, per_model, sample, sim_pack

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError
from rewardsmith.plugins.judges.jury import juror_values_of, jury_agreement


def _component(vote: str, extra: str = "") -> str:
    return f"""
[[components]]
id = "jury"
type = "jury-judge"
vote = "{vote}"
jurors = [{{ model = "m1" }}, {{ model = "m2" }}, {{ model = "m3" }}]
criteria = [{{ id = "ok", pass_if = "The answer is right." }}]
{extra}
"""


POLICY = per_model({m: named_in(m) for m in ("m1", "m2", "m3")})
# who passes each sample: all, m1+m2, m3 alone, nobody
RESPONSES = ["m1 m2 m3", "m1 m2", "m3", "none"]


def _score(tmp_path: Path, settings: dict[str, Any], component: str) -> Any:
    scorer = Scorer(sim_pack(tmp_path, settings, component))
    try:
        return scorer.score([sample(r, f"s{k}") for k, r in enumerate(RESPONSES)],
                            timeout_s=60)
    finally:
        scorer.close()


@pytest.mark.parametrize(("vote", "values"), [
    ("majority", [1.0, 1.0, 0.0, 0.0]),
    ("mean", [1.0, 2 / 3, 1 / 3, 0.0]),
])
def test_votes_and_per_sample_agreement(tmp_path: Path, openai_simulator: Any,
                                        openai_judge_settings: Any, vote: str,
                                        values: list[float]) -> None:
    openai_simulator.set_policy(POLICY)
    batch = _score(tmp_path, openai_judge_settings, _component(vote))
    outcomes = [r.components["jury"] for r in batch.results]
    assert [o.value for o in outcomes] == pytest.approx(values)
    assert [o.passed for o in outcomes] == [True, True, False, False]
    # pairs (m1,m2), (m1,m3), (m2,m3): all agree; only m1-m2 agree; only m1-m2; all agree
    assert [o.measurements["jury_agreement"] for o in outcomes] == pytest.approx(
        [1.0, 1 / 3, 1 / 3, 1.0], abs=1e-6)
    assert outcomes[1].measurements["juror.m3"] == 0.0
    assert outcomes[1].measurements["juror.m1"] == 1.0
    assert outcomes[1].measurements["jury_spread"] == 1.0
    assert calls_per_model(openai_simulator) == {"m1": 4, "m2": 4, "m3": 4}
    assert outcomes[0].measurements["judge_calls"] == 3
    stats = batch.telemetry.summary()["judge_stats"]["jury"]
    assert stats["jury_agreement"] == {"n": 4, "mean": pytest.approx(2 / 3, abs=1e-6)}
    assert stats["jurors_failed"] == {"n": 4, "mean": 0.0}


def test_a_failed_juror_is_left_out_and_counted(tmp_path: Path, openai_simulator: Any,
                                                openai_judge_settings: Any) -> None:
    def policy(request: Any) -> Any:
        if request.model == "m3":
            return "cannot decide"
        return POLICY(request)

    openai_simulator.set_policy(policy)
    batch = _score(tmp_path, openai_judge_settings, _component("majority"))
    first = batch.results[0].components["jury"]
    assert first.error is None and first.value == 1.0
    assert first.measurements["jurors_voted"] == 2
    assert first.measurements["jurors_failed"] == 1
    assert "juror.m3" not in first.measurements
    assert first.details["jurors_failed"] == {"m3": "judge_parse"}


def test_every_juror_failing_fails_the_sample(tmp_path: Path, openai_simulator: Any,
                                              openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(lambda _request: "no")
    batch = _score(tmp_path, openai_judge_settings, _component("majority"))
    outcome = batch.results[0].components["jury"]
    assert outcome.error_kind == "judge_parse"
    assert "every juror failed" in (outcome.error or "")


def test_pairwise_agreement_kappa_and_error_correlation_by_hand() -> None:
    # m1 = m2 = [1, 1, 0, 0], m3 = [1, 0, 1, 0]; labels [1, 0, 0, 0]
    rows = [{"m1": 1.0, "m2": 1.0, "m3": 1.0}, {"m1": 1.0, "m2": 1.0, "m3": 0.0},
            {"m1": 0.0, "m2": 0.0, "m3": 1.0}, {"m1": 0.0, "m2": 0.0, "m3": 0.0}]
    report = jury_agreement(rows, labels=[1.0, 0.0, 0.0, 0.0])
    same, different = report["pairs"]["m1|m2"], report["pairs"]["m1|m3"]
    # identical jurors: full agreement, kappa 1, errors (0,1,0,0) vs (0,1,0,0) correlate fully
    assert same == {"n": 4, "agreement": 1.0, "kappa": 1.0, "value_correlation": 1.0,
                    "error_correlation": pytest.approx(1.0)}
    # m1 vs m3: agree on 2 of 4; chance agreement 0.5*0.5+0.5*0.5 = 0.5 so kappa 0;
    # values (1,1,0,0) vs (1,0,1,0) are uncorrelated; errors (0,1,0,0) vs (0,0,1,0):
    # cov = 4 * (1/16) - 2 * (3/16) = -1/4 (sum), var = 3/4 each, r = -1/3
    assert different["agreement"] == 0.5
    assert different["kappa"] == 0.0
    assert different["value_correlation"] == 0.0
    assert different["error_correlation"] == pytest.approx(-1 / 3)
    assert report["samples"] == 4
    assert jury_agreement(rows)["pairs"]["m1|m3"]["error_correlation"] is None


def test_juror_values_are_read_from_measurements() -> None:
    assert juror_values_of({"juror.a": 1, "juror.b": 0.5, "jury_agreement": 0.3,
                            "juror.c": True}) == {"a": 1.0, "b": 0.5}


def test_bad_jury_config_fails_the_pack(tmp_path: Path, openai_judge_settings: Any) -> None:
    with pytest.raises(PackError, match="juror_names has 1 names for 3 jurors"):
        sim_pack(tmp_path, openai_judge_settings,
                 _component("majority", 'juror_names = ["x"]'))
    with pytest.raises(PackError, match="jurors"):
        sim_pack(tmp_path, openai_judge_settings, _component("mean").replace(
            'jurors = [{ model = "m1" }, { model = "m2" }, { model = "m3" }]',
            'jurors = [{ model = "m1" }]'))


@pytest.mark.parametrize(("jurors", "named"), [
    # a "self-consistency" jury: one sampled verdict would have been voted three times
    ('[{ model = "m1", temperature = 1.0 }, { model = "m1", temperature = 1.0 }, '
     '{ model = "m1", temperature = 1.0 }]', "jurors 1 ('s1') and 2 ('s2')"),
    # [a, a, b]: the duplicated juror alone would decide every majority
    ('[{ model = "m1" }, { model = "m2" }, { model = "m1" }]', "jurors 1 ('s1') and 3 ('s3')"),
    # settings that do not shape the answer (retries, rate limits) make no other juror
    ('[{ model = "m2" }, { model = "m2", max_retries = 1, requests_per_minute = 60 }, '
     '{ model = "m3" }]', "jurors 1 ('s1') and 2 ('s2')"),
])
def test_jurors_one_call_would_answer_are_refused_at_load(
        tmp_path: Path, openai_judge_settings: Any, jurors: str, named: str) -> None:
    """s5 tester F8: identical requests to identical settings are one call (the in-batch
    de-duplication and the verdict cache), so such jurors never voted independently."""
    component = _component("mean", 'juror_names = ["s1", "s2", "s3"]').replace(
        'jurors = [{ model = "m1" }, { model = "m2" }, { model = "m3" }]', f"jurors = {jurors}")
    with pytest.raises(PackError, match="same judge settings") as raised:
        sim_pack(tmp_path, openai_judge_settings, component)
    message = str(raised.value)
    assert named in message and "one call would answer both" in message
    assert "different model" in message


def test_jurors_differing_in_sampling_settings_are_separate_calls(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(per_model({"m1": named_in("m1")}))
    component = _component("mean").replace(
        'jurors = [{ model = "m1" }, { model = "m2" }, { model = "m3" }]',
        'jurors = [{ model = "m1", temperature = 0.0 }, { model = "m1", temperature = 1.0 }]'
        '\njuror_names = ["cold", "hot"]')
    scorer = Scorer(sim_pack(tmp_path, openai_judge_settings, component))
    try:
        batch = scorer.score([sample("m1", "s0")], timeout_s=60)
    finally:
        scorer.close()
    outcome = batch.results[0].components["jury"]
    assert outcome.measurements["judge_calls"] == 2 == len(openai_simulator.requests)
    assert outcome.measurements["deduplicated"] == 0
