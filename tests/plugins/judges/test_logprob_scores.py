"""Scores from the judge's distribution: the openai backend asks the OpenAI simulator for
log-probabilities, and the rubric judge turns the verdict tokens' alternatives into
expected values (numbers below worked out by hand)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from tests.support.judge_models import sample, sim_pack
from tests.support.judges import read_blocks

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError
from rewardsmith.core.results import Score
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.plugins.judges.logprob_scores import (
    criterion_expectation,
    from_distribution,
    holistic_expectation,
    pass_probability,
)
from rewardsmith.plugins.judges.rubric import Criterion

IMPLICIT = """
[[components]]
id = "judge"
type = "rubric-judge"
aggregation = "implicit"
scale = [1, 5]
pass_threshold = 0.5
score_from = "distribution"
criteria = [{ id = "helpful", pass_if = "The answer helps." }]
"""

EXPLICIT = """
[[components]]
id = "judge"
type = "rubric-judge"
score_from = "distribution"
criteria = [{ id = "a", pass_if = "A holds." }, { id = "b", pass_if = "B holds.", weight = 3 }]
"""


def _run(tmp_path: Path, settings: dict[str, Any], component: str,
         responses: list[str]) -> Any:
    scorer = Scorer(sim_pack(tmp_path, {**settings, "logprobs": True, "top_logprobs": 5},
                             component))
    try:
        return scorer.score([sample(r, f"s{k}") for k, r in enumerate(responses)],
                            timeout_s=60)
    finally:
        scorer.close()


def test_holistic_score_is_the_expectation_over_score_tokens(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    def policy(request: Any) -> dict[str, Any]:
        candidate = read_blocks(request.last_user_text)["candidate"]
        return {"rationale": "seen", "score": 4 if candidate == "good" else 2}

    openai_simulator.set_policy(policy)
    openai_simulator.token_distributions = {"4": {"4": 0.6, "5": 0.3, "3": 0.1},
                                            "2": {"2": 0.5, "1": 0.5}}
    batch = _run(tmp_path, openai_judge_settings, IMPLICIT, ["good", "weak"])
    good, weak = (r.components["judge"] for r in batch.results)
    # E = 4*.6 + 5*.3 + 3*.1 = 4.2 -> (4.2 - 1) / 4 = 0.8; sampled 4 -> 0.75
    assert good.value == pytest.approx(0.8)
    assert good.measurements["holistic_expected"] == pytest.approx(4.2)
    assert good.measurements["sampled_value"] == 0.75
    assert good.measurements["score_source"] == "distribution"
    assert good.passed is True
    # E = 1.5 -> 0.125
    assert weak.value == pytest.approx(0.125) and weak.passed is False
    body = openai_simulator.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    stats = batch.telemetry.summary()["judge_stats"]["judge"]
    assert stats["distribution_fallback"] == {"n": 2, "mean": 0.0}


def test_pass_fail_criteria_become_pass_probabilities(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(lambda _r: {"a": {"rationale": "r", "verdict": "pass"},
                                            "b": {"rationale": "r", "verdict": "fail"}})
    openai_simulator.token_distributions = {"pass": {"pass": 0.7, "fail": 0.3},
                                            "fail": {"fail": 0.8, "pass": 0.2}}
    batch = _run(tmp_path, openai_judge_settings, EXPLICIT, ["text"])
    outcome = batch.results[0].components["judge"]
    # (1 * 0.7 + 3 * 0.2) / 4 = 0.325 where the sampled verdicts give (1 + 0) / 4
    assert outcome.value == pytest.approx(0.325)
    assert outcome.measurements["sampled_value"] == 0.25
    assert outcome.measurements["a"] == pytest.approx(0.7)
    assert outcome.measurements["b"] == pytest.approx(0.2)
    assert outcome.passed is False  # the sampled verdict still decides pass/fail
    assert outcome.details["criteria"]["b"]["expected"] == pytest.approx(0.2)


def test_distribution_needs_logprobs_in_the_judge_table(tmp_path: Path,
                                                        openai_judge_settings: Any) -> None:
    with pytest.raises(PackError, match="logprobs = true"):
        sim_pack(tmp_path, openai_judge_settings, IMPLICIT)


def test_missing_logprobs_fall_back_to_the_sampled_score_and_say_so() -> None:
    telemetry = BatchTelemetry()
    token = bind_telemetry(telemetry)
    try:
        score = from_distribution(Score(0.75), None, [], (1, 5), "judge")
    finally:
        unbind_telemetry(token)
    assert score.value == 0.75 and score.measurements["score_source"] == "sampled_fallback"
    assert telemetry.summary()["judge_stats"]["judge"]["distribution_fallback"] == {
        "n": 1, "mean": 1.0}


def _tok(text: str, alts: dict[str, float] | None = None) -> dict[str, Any]:
    alts = alts or {text: 1.0}
    return {"token": text, "logprob": math.log(alts.get(text, 1.0)),
            "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()]}


def test_token_level_helpers() -> None:
    # the last "score" wins (a reasoning section may hold an earlier one)
    tokens = [_tok('{"score": '), _tok("1"), _tok(', "x": 0, "score": '),
              _tok("3", {"3": 0.5, "4": 0.25, "banana": 0.25}), _tok("}")]
    expected, mass = holistic_expectation(tokens, 1, 5) or (None, None)
    assert expected == pytest.approx((3 * 0.5 + 4 * 0.25) / 0.75) and mass == 0.75
    assert holistic_expectation([_tok('{"rationale": "none"}')], 1, 5) is None
    assert pass_probability(_tok("pass", {"pass": 0.6, " Pass": 0.2, "fa": 0.2})) == (
        pytest.approx(0.8), pytest.approx(1.0))
    assert pass_probability(_tok("maybe")) is None
    leveled = Criterion.model_validate({
        "id": "depth", "pass_if": "Deep.", "levels": [
            {"score": 0, "description": "none"}, {"score": 1, "description": "some"},
            {"score": 2, "description": "full"}]})
    tokens = [_tok('{"depth": {"rationale": "r", "level": '),
              _tok("1", {"1": 0.5, "2": 0.5}), _tok("}}")]
    value, _ = criterion_expectation(tokens, leveled) or (None, None)
    assert value == pytest.approx(0.5 * leveled.value_of_level(1)
                                  + 0.5 * leveled.value_of_level(2))
