"""Scores from the judge's distribution: the openai backend asks the OpenAI simulator for
log-probabilities, and the rubric judge turns the verdict tokens' alternatives into
expected values (numbers below worked out by hand)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.judge_models import sample, sim_pack
from tests.support.judges import read_blocks

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError
from rewardsmith.core.results import Score
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.plugins.judges.logprob_scores import (
    DistributionUnreadable,
    criterion_expectation,
    from_distribution,
    holistic_expectation,
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
    """One generated token: its text, probability and the alternatives at its position."""
    alts = alts or {text: 1.0}
    return {"token": text, "logprob": math.log(alts.get(text, 1.0)),
            "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()]}


def _reply(*tokens: dict[str, Any] | str) -> list[dict[str, Any]]:
    return [t if isinstance(t, dict) else _tok(t) for t in tokens]


def test_the_last_score_is_read_over_single_token_values() -> None:
    # the last "score" wins (a reasoning section may hold an earlier one)
    tokens = _reply('{"score": ', "1", ', "x": 0, "score": ',
                    _tok("3", {"3": 0.5, "4": 0.25, "banana": 0.25}), "}")
    expected, mass, half = holistic_expectation(tokens, 1, 5, 3)
    assert expected == pytest.approx((3 * 0.5 + 4 * 0.25) / 0.75)
    assert mass == pytest.approx(0.75) and half == 0.0
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(_reply('{"rationale": "none"}'), 1, 5, 3)
    assert err.value.reason == "value_not_found"


def test_a_two_digit_score_split_into_digits_is_read_over_both_tokens() -> None:
    # Finding 2: "10" as "1", "0" (Qwen2.5). At "1": 1 (0.9) | 9 (0.06) | 8 (0.04); after
    # "1": "0" (0.8, makes 10) | "}" (0.2, ends the number: 1).
    tokens = _reply('{"score": ', _tok("1", {"1": 0.9, "9": 0.06, "8": 0.04}),
                    _tok("0", {"0": 0.8, "}": 0.2}), "}")
    expected, mass, _ = holistic_expectation(tokens, 1, 10, 10)
    p10, p1, p9, p8 = 0.9 * 0.8, 0.9 * 0.2, 0.06, 0.04
    assert mass == pytest.approx(p10 + p1 + p9 + p8)
    assert expected == pytest.approx((10 * p10 + 1 * p1 + 9 * p9 + 8 * p8) / mass)


def test_a_one_digit_score_whose_first_digit_could_start_ten() -> None:
    # sampled "1" then "}" ends it; the alternative "0}" at the next position would be 10
    tokens = _reply('{"score": ', _tok("1", {"1": 0.5, "2": 0.5}),
                    _tok("}", {"}": 0.6, "0": 0.3, "0}": 0.1}))
    expected, mass, _ = holistic_expectation(tokens, 1, 10, 1)
    p1, p10, p2 = 0.5 * 0.6, 0.5 * 0.4, 0.5
    assert mass == pytest.approx(p1 + p10 + p2)
    assert expected == pytest.approx((p1 + 10 * p10 + 2 * p2) / mass)


def test_negative_scores_are_read_past_the_sign_token() -> None:
    # scale [-3, 3]: "-" (0.7) | "1" (0.2) | "2" (0.1); after "-": "2" (0.5) | "3" (0.5)
    tokens = _reply('{"score": ', _tok("-", {"-": 0.7, "1": 0.2, "2": 0.1}),
                    _tok("2", {"2": 0.5, "3": 0.5}), "}")
    expected, mass, _ = holistic_expectation(tokens, -3, 3, -2)
    assert mass == pytest.approx(1.0)
    assert expected == pytest.approx(0.7 * (0.5 * -2 + 0.5 * -3) + 0.2 * 1 + 0.1 * 2)


def test_leading_spaces_and_number_tokens_with_their_terminator() -> None:
    # a tokenizer that keeps the space and the closing brace with the number
    tokens = _reply('{"score":', _tok(" 4}", {" 4}": 0.5, " 5}": 0.3, "5": 0.2}))
    expected, mass, _ = holistic_expectation(tokens, 1, 5, 4)
    assert mass == pytest.approx(1.0) and expected == pytest.approx(4 * 0.5 + 5 * 0.5)
    # JSON allows spaces before a number: "  3" at the number's own token is 3
    tokens = _reply('{"score": ', _tok("4", {"4": 0.5, " 3": 0.5}), "}")
    expected, mass, _ = holistic_expectation(tokens, 1, 5, 4)
    assert mass == pytest.approx(1.0) and expected == pytest.approx(3.5)


def test_an_ambiguous_first_digit_falls_back_unless_its_bounds_are_tight() -> None:
    # sampled 8 on [1, 10] with "1" (1 or 10: its next token never came back) at 0.2
    wide = _reply('{"score": ', _tok("8", {"8": 0.8, "1": 0.2}), "}")
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(wide, 1, 10, 8)
    assert err.value.reason == "ambiguous_prefix"
    # 0.0001 on "1": the expectation lies in [8 - 0.0007, 8 + 0.0002]; the midpoint is used
    tight = _reply('{"score": ', _tok("8", {"8": 0.9999, "1": 0.0001}), "}")
    expected, _, half = holistic_expectation(tight, 1, 10, 8)
    low = (8 * 0.9999 + 1 * 0.0001)
    high = (8 * 0.9999 + 10 * 0.0001)
    assert expected == pytest.approx((low + high) / 2) and half == pytest.approx((high - low) / 2)


def test_a_position_without_top_logprobs_cannot_be_read() -> None:
    bare = {"token": "0", "logprob": -0.01, "top_logprobs": []}
    tokens = _reply('{"score": ', _tok("1", {"1": 0.9, "9": 0.1}), bare, "}")
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(tokens, 1, 10, 10)
    assert err.value.reason == "no_top_logprobs"


def test_verdict_words_split_into_several_tokens() -> None:
    crit = Criterion.model_validate({"id": "a", "pass_if": "A."})
    # '"pa' (0.6) | '"fail' (0.3) | '"Pass' (0.1, not a verdict the schema allows);
    # after '"pa': 'ss' (1.0)
    tokens = _reply('{"a": {"rationale": "r", "verdict": ',
                    _tok('"pa', {'"pa': 0.6, '"fail': 0.3, '"Pass': 0.1}), 'ss"', "}}")
    value, mass, _ = criterion_expectation(tokens, crit, "pass")
    assert mass == pytest.approx(0.9) and value == pytest.approx(0.6 / 0.9)
    # the word after a separate quote token; inside a string " p" is not a verdict
    tokens = _reply('{"a": {"rationale": "r", "verdict": "',
                    _tok("f", {"f": 0.5, "p": 0.25, " p": 0.25}), 'ail"', "}}")
    value, mass, _ = criterion_expectation(tokens, crit, "fail")
    assert mass == pytest.approx(0.75) and value == pytest.approx(1 / 3)


def test_levels_with_multi_digit_scores() -> None:
    leveled = Criterion.model_validate({
        "id": "depth", "pass_if": "Deep.", "levels": [
            {"score": 0, "description": "none"}, {"score": 5, "description": "some"},
            {"score": 10, "description": "full"}]})
    tokens = _reply('{"depth": {"rationale": "r", "level": ',
                    _tok("1", {"1": 0.7, "5": 0.2, "0": 0.1}), _tok("0", {"0": 1.0}), "}}")
    value, mass, _ = criterion_expectation(tokens, leveled, 10)
    assert mass == pytest.approx(1.0)
    assert value == pytest.approx(0.7 * 1.0 + 0.2 * 0.5 + 0.1 * 0.0)


def test_tokens_that_spell_another_value_than_the_verdict_cannot_be_read() -> None:
    """s4 tester2 F2: the content said 5 (a proxy rewrote it) while the log-probabilities
    spell 2 with {2: 0.5, 5: 0.5}: an expectation of 3.5 was reported as the distribution's.
    Tokens of another reply are no distribution of this verdict."""
    tokens = _reply('{"score": ', _tok("2", {"2": 0.5, "5": 0.5}), "}")
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(tokens, 1, 5, 5)
    assert err.value.reason == "tokens_disagree"
    assert "spell '2' where the verdict says '5'" in str(err.value)
    crit = Criterion.model_validate({"id": "a", "pass_if": "A."})
    tokens = _reply('{"a": {"rationale": "r", "verdict": ',
                    _tok('"fail', {'"fail': 0.7, '"pass': 0.3}), '"', "}}")
    with pytest.raises(DistributionUnreadable) as err:
        criterion_expectation(tokens, crit, "pass")
    assert err.value.reason == "tokens_disagree"


def test_log_probabilities_that_are_not_a_distribution_cannot_be_read() -> None:
    """s4 tester2 F3: a sampled token with logprob 5.0 (p would be e^5) was clipped to p = 1
    and gave a value with a mass of 1.36; repeated alternatives summed to 1.5."""
    positive = _reply('{"score": ', {"token": "4", "logprob": 5.0,
                                      "top_logprobs": [{"token": "4", "logprob": 5.0},
                                                       {"token": "1", "logprob": -1.0}]}, "}")
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(positive, 1, 5, 4)
    assert err.value.reason in ("sampled_probability_missing", "mass_above_one")
    repeated = _reply('{"score":', {"token": " 4}", "logprob": math.log(0.75),
                                     "top_logprobs": [
                                         {"token": " 4}", "logprob": math.log(0.75)},
                                         {"token": " 4}", "logprob": math.log(0.75)}]})
    with pytest.raises(DistributionUnreadable) as err:
        holistic_expectation(repeated, 1, 5, 4)
    assert err.value.reason == "mass_above_one"


def test_an_unreadable_reply_keeps_the_sampled_value_with_its_reason() -> None:
    telemetry = BatchTelemetry()
    token = bind_telemetry(telemetry)
    try:
        wide = _reply('{"score": ', _tok("8", {"8": 0.8, "1": 0.2}), "}")
        score = from_distribution(Score(7 / 9, measurements={"holistic_score": 8}), wide,
                                  [], (1, 10), "judge")
    finally:
        unbind_telemetry(token)
    assert score.value == 7 / 9
    assert score.measurements["score_source"] == "sampled_fallback"
    assert score.measurements["distribution_fallback_reason"] == "ambiguous_prefix"
    assert telemetry.summary()["judge_stats"]["judge"]["distribution_fallback"] == {
        "n": 1, "mean": 1.0}
    assert "ambiguous_prefix" in telemetry.judge_notices["distribution_fallback:judge:"
                                                        "ambiguous_prefix"]


def test_a_sampled_ten_split_into_digits_scores_near_the_top(tmp_path: Path,
                                                             hostile: str) -> None:
    """Finding 2 as the tester ran it: the hostile server's ``lp10`` mode answers 10 on
    [1, 10] one character per token, sure of "1" (then "0"); the reward was 0.0079."""
    settings = {"backend": "openai", "model": "judge", "base_url": f"{hostile}/lp10/v1",
                "logprobs": True, "top_logprobs": 5}
    component = IMPLICIT.replace("scale = [1, 5]", "scale = [1, 10]")
    scorer = Scorer(sim_pack(tmp_path, settings, component))
    try:
        batch = scorer.score([sample("It is 4.", "s0")], timeout_s=60)
    finally:
        scorer.close()
    outcome = batch.results[0].components["judge"]
    # P(10) = e^-.01 * e^-.01 (the "1" and the "0" tokens) * e^-.01 ("}" ends it);
    # P(9) = e^-5 and P(8) = e^-6 at the first digit; nothing else is on the scale.
    p10, p9, p8 = math.exp(-0.03), math.exp(-5), math.exp(-6)
    expected = (10 * p10 + 9 * p9 + 8 * p8) / (p10 + p9 + p8)
    assert outcome.measurements["score_source"] == "distribution"
    assert outcome.measurements["holistic_expected"] == pytest.approx(expected, abs=1e-6)
    assert outcome.value == pytest.approx((expected - 1) / 9)
    assert outcome.value > 0.99
    assert httpx.get(f"{hostile}/stats").json()["counts"] == {"lp10": 1}
