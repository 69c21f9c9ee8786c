"""The pairwise judge: both orders, position bias as ties, reference/baseline modes,
group tournaments with win rate and Bradley-Terry, and the pair budget."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.support.judges import always_first, prefer, read_blocks, sample

from rewardsmith import Scorer
from rewardsmith.core.errors import ComponentError, PackError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.plugins.judges.tournament import (
    PairResult,
    bradley_terry,
    expected_win_rates,
    plan_pairs,
    round_robin_order,
)


def _component(mode: str, extra: str = "") -> str:
    return f"""
[[components]]
id = "pairwise"
type = "pairwise-judge"
mode = "{mode}"
{extra}
"""


def _group(responses: list[str], prompt: str = "Review clause 7.") -> list[dict[str, Any]]:
    return [sample(r, prompt=prompt, sid=f"{prompt[:10]}-{i}") for i, r in enumerate(responses)]


def _outcomes(batch) -> list[Any]:
    return [r.components["pairwise"] for r in batch.results]


# -- per-sample modes -------------------------------------------------------------------
def test_always_first_judge_yields_ties_not_winners_in_reference_mode(pack_factory) -> None:
    pack, recorder = pack_factory(always_first, _component("reference"))
    batch = Scorer(pack).score([sample("short", sid="a", reference_answer="a long reference"),
                                sample("a much longer candidate", sid="b",
                                       reference_answer="ref")])
    for outcome in _outcomes(batch):
        assert outcome.value == 0.5
        assert outcome.measurements["ties"] == 1 and outcome.measurements["wins"] == 0
        assert outcome.measurements["position_inconsistency"] == 1.0
        assert "disagreed" in outcome.rationale
    assert len(recorder.requests) == 4
    # The two requests for one sample put the candidate in opposite slots.
    first, second = (read_blocks(r.user) for r in recorder.requests[:2])
    assert first["response_a"] == second["response_b"] == "short"
    assert first["response_b"] == second["response_a"] == "a long reference"


@pytest.mark.parametrize(("response", "value"), [
    ("a candidate longer than the reference", 1.0),
    ("tiny", 0.0),
    ("exactly as long!", 0.5),  # same length as the reference: a consistent tie
])
def test_reference_mode_scores_the_candidate_against_the_reference(
    pack_factory, response: str, value: float
) -> None:
    pack, _ = pack_factory(prefer(len), _component("reference"))
    batch = Scorer(pack).score([sample(response, reference_answer="a reference text")])
    outcome = _outcomes(batch)[0]
    assert outcome.value == value
    assert outcome.measurements["position_inconsistency"] == 0.0
    assert outcome.passed is (value > 0.5)


def test_baseline_mode_compares_with_the_metadata_response(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(lambda t: t.count("Clause")),
                                  _component("baseline", 'context_keys = ["contract"]'))
    baseline = "Clause 7 is fine."
    batch = Scorer(pack).score([
        sample("Clause 7 and Clause 9 need changes.", sid="better", contract="C",
               baseline_response=baseline),
        sample("Nothing to add.", sid="worse", contract="C", baseline_response=baseline),
        sample("Clause 7 and Clause 9.", sid="no-baseline", contract="C"),
    ])
    better, worse, missing = _outcomes(batch)
    assert (better.value, worse.value) == (1.0, 0.0)
    assert missing.error_kind == "missing_context" and "baseline_response" in missing.error
    blocks = read_blocks(recorder.requests[0].user)
    assert set(blocks) == {"prompt", "contract", "response_a", "response_b"}
    assert baseline in (blocks["response_a"], blocks["response_b"])


# -- group mode -------------------------------------------------------------------------
def test_always_first_judge_in_a_group_yields_only_ties(pack_factory) -> None:
    for scoring in ("win_rate", "bradley_terry"):
        pack, _ = pack_factory(always_first, _component("group", f'scoring = "{scoring}"'))
        batch = Scorer(pack).score(_group(["a", "bb", "ccc", "dddd"]))
        for outcome in _outcomes(batch):
            assert outcome.value == pytest.approx(0.5)
            assert outcome.measurements["position_inconsistency"] == 1.0
            assert outcome.measurements["wins"] == 0 and outcome.measurements["ties"] == 3


def test_win_rate_follows_the_judges_preference(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(len), _component("group"))
    batch = Scorer(pack).score(_group(["ccc", "a", "dddd", "bb"]))
    values = [o.value for o in _outcomes(batch)]
    assert values == pytest.approx([2 / 3, 0.0, 1.0, 1 / 3])
    assert len(recorder.requests) == 2 * 6  # every pair, both orders


def test_bradley_terry_ranks_by_length_for_a_length_loving_judge(pack_factory) -> None:
    responses = ["x" * n for n in (7, 2, 9, 4, 1, 5)]
    pack, _ = pack_factory(prefer(len), _component("group", 'scoring = "bradley_terry"'))
    batch = Scorer(pack).score(_group(responses))
    values = [o.value for o in _outcomes(batch)]
    by_value = sorted(range(len(values)), key=lambda k: values[k])
    by_length = sorted(range(len(responses)), key=lambda k: len(responses[k]))
    assert by_value == by_length
    assert all(0.0 < v < 1.0 for v in values)
    assert len(set(values)) == len(values)
    strengths = [o.measurements["bt_strength"] for o in _outcomes(batch)]
    assert sorted(range(6), key=lambda k: strengths[k]) == by_length


def test_groups_are_scored_separately(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(len), _component("group"))
    batch = Scorer(pack).score(_group(["a", "bbb"], prompt="P1")
                               + _group(["cccccc", "dddd"], prompt="P2"))
    assert [o.value for o in _outcomes(batch)] == [0.0, 1.0, 1.0, 0.0]
    assert len(recorder.requests) == 4
    for request in recorder.requests:
        blocks = read_blocks(request.user)
        pair = {blocks["response_a"], blocks["response_b"]}
        assert pair in ({"a", "bbb"}, {"cccccc", "dddd"})


def test_call_budget_is_respected_and_covers_every_member(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(len),
                                  _component("group", "max_pairs_per_group = 4"))
    batch = Scorer(pack).score(_group(["x" * n for n in range(1, 7)]))
    assert len(recorder.requests) == 2 * 4
    outcomes = _outcomes(batch)
    assert all(o.error is None and o.measurements["comparisons"] >= 1 for o in outcomes)
    assert sum(o.measurements["comparisons"] for o in outcomes) == 2 * 4


def test_members_left_out_by_a_tiny_budget_get_the_failure_policy(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(len), _component(
        "group", 'max_pairs_per_group = 1\non_error = "neutral"\nneutral_value = 0.5'))
    batch = Scorer(pack).score(_group(["a", "bb", "ccc", "dddd"]))
    assert len(recorder.requests) == 2
    outcomes = _outcomes(batch)
    left_out = [o for o in outcomes if o.error_kind == "not_compared"]
    assert len(left_out) == 2 and all(o.value == 0.5 for o in left_out)
    assert sorted(o.value for o in outcomes if o.error is None) == [0.0, 1.0]
    assert all(math.isfinite(r.reward) for r in batch.results)


def test_a_failing_pair_costs_only_its_members(pack_factory) -> None:
    def policy(request: JudgeRequest) -> dict[str, Any]:
        blocks = read_blocks(request.user)
        if "BOOM" in blocks["response_a"] + blocks["response_b"]:
            raise ComponentError("throttled", kind="judge_throttled")
        return prefer(len)(request)

    pack, _ = pack_factory(policy, _component("group"))
    batch = Scorer(pack).score(_group(["BOOM", "bb", "ccc"]))
    boom, short, long_ = _outcomes(batch)
    assert boom.error_kind == "judge_throttled" and boom.value is None
    assert (short.value, long_.value) == (0.0, 1.0)
    assert short.measurements["comparisons"] == 1


def test_a_single_rollout_cannot_play_a_tournament(pack_factory) -> None:
    pack, recorder = pack_factory(prefer(len), _component("group"))
    batch = Scorer(pack).score(_group(["alone"]))
    assert _outcomes(batch)[0].error_kind == "group_too_small"
    assert recorder.requests == []


@pytest.mark.parametrize(("extra", "message"), [
    ("", "mode"),
    ('mode = "group"\nscoring = "elo"', "scoring"),
    ('mode = "reference"\nmax_pairs_per_group = 3', "only to mode 'group'"),
    ('mode = "reference"\ninclude_reference = true', "show it twice"),
    ('mode = "group"\nmax_pairs_per_group = 0', "max_pairs_per_group"),
])
def test_bad_pairwise_configs_fail_at_load(pack_factory, extra: str, message: str) -> None:
    text = f'[[components]]\nid = "pairwise"\ntype = "pairwise-judge"\n{extra}\n'
    with pytest.raises(PackError, match=message):
        pack_factory(prefer(len), text)


# -- tournament maths -------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9])
def test_round_robin_order_lists_every_pair_once(n: int) -> None:
    pairs = round_robin_order(n)
    assert len(pairs) == n * (n - 1) // 2 == len(set(pairs))
    assert all(0 <= i < j < n for i, j in pairs)
    assert plan_pairs(n, None) == pairs


@pytest.mark.parametrize(("n", "budget"), [(4, 2), (5, 3), (8, 4), (8, 5), (9, 7), (16, 8)])
def test_budgeted_plans_cover_every_member(n: int, budget: int) -> None:
    pairs = plan_pairs(n, budget)
    assert len(pairs) == budget == len(set(pairs))
    covered = {m for pair in pairs for m in pair}
    assert covered == set(range(n))
    assert plan_pairs(n, budget) == pairs  # deterministic


def test_bradley_terry_recovers_a_known_order_and_stays_finite() -> None:
    # 0 beats everyone, 2 loses to everyone, 1 is in between; 3 only tied with 1.
    results = [PairResult(0, 1, 1.0, False), PairResult(0, 2, 1.0, False),
               PairResult(1, 2, 1.0, False), PairResult(1, 3, 0.5, False)]
    strength = bradley_terry(4, results)
    assert all(math.isfinite(s) and s > 0 for s in strength)
    assert strength[0] > strength[1] > strength[2]
    rates = expected_win_rates(strength, [0, 1, 2, 3])
    assert rates[0] > rates[1] > rates[2]
    assert expected_win_rates([1.0, 1.0, 1.0], [0, 1, 2]) == {0: 0.5, 1: 0.5, 2: 0.5}


def test_pairwise_judge_can_share_the_rubric_judges_criteria(tmp_path, pack_factory) -> None:
    (tmp_path / "criteria.toml").write_text(
        '[[criteria]]\nid = "grounded"\npass_if = "Quotes clauses from the contract."\n'
        '[[criteria]]\nid = "actionable"\npass_if = "Says what to change."\n',
        encoding="utf-8")
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    criteria_file = "criteria.toml"

    [[components]]
    id = "pairwise"
    type = "pairwise-judge"
    mode = "reference"
    criteria_file = "criteria.toml"
    question = "Which review would a senior lawyer rather receive?"
    allow_tie = false
    """

    def policy(request: JudgeRequest) -> dict[str, Any]:
        if request.schema_name == "pairwise_verdict":
            return prefer(len)(request)
        return {cid: {"rationale": "r", "verdict": "pass"}
                for cid in (request.json_schema or {})["required"]}

    pack, recorder = pack_factory(policy, components)
    batch = Scorer(pack).score([sample("a long candidate review", reference_answer="short")])
    assert batch.results[0].components["pairwise"].value == 1.0
    pairwise = [r for r in recorder.requests if r.schema_name == "pairwise_verdict"]
    assert len(pairwise) == 2
    system = pairwise[0].system
    assert system.startswith("[template pairwise-judge/1]")
    assert "Which review would a senior lawyer rather receive?" in system
    assert "`grounded`: Quotes clauses from the contract." in system
    assert pairwise[0].json_schema is not None
    assert pairwise[0].json_schema["properties"]["winner"]["enum"] == ["A", "B"]


# -- identical rollouts in a group (s5 tester F2) -----------------------------------------
def good_wins(request: JudgeRequest) -> dict[str, Any]:
    """A perfect judge: the response containing GOOD wins; otherwise a tie."""
    blocks = read_blocks(request.user)
    a, b = "GOOD" in blocks["response_a"], "GOOD" in blocks["response_b"]
    return {"rationale": "r", "winner": "A" if a and not b else "B" if b and not a else "tie"}


@pytest.mark.parametrize("scoring", ["win_rate", "bradley_terry"])
@pytest.mark.parametrize("responses", [
    ["GOOD answer", "GOOD answer", "GOOD answer", "bad answer"],
    ["GOOD answer", "bad answer", "bad answer", "bad answer"],
    ["bad answer", "GOOD answer", "bad answer", "GOOD answer", "bad answer"],
])
def test_copies_of_a_response_get_its_score_whatever_their_number(
        pack_factory, scoring: str, responses: list[str]) -> None:
    """A repeated good answer scored 0.667 and a repeated bad one 0.333 when copies were
    compared with each other; now every copy scores as its response does in the group of
    distinct responses, and only distinct responses are compared."""
    pack, recorder = pack_factory(good_wins, _component("group", f'scoring = "{scoring}"'))
    batch = Scorer(pack).score(_group(responses))
    alone, _ = pack_factory(good_wins, _component("group", f'scoring = "{scoring}"'))
    distinct = Scorer(alone).score(_group(["GOOD answer", "bad answer"]))
    expected = {"GOOD answer": distinct.results[0].components["pairwise"].value,
                "bad answer": distinct.results[1].components["pairwise"].value}
    if scoring == "win_rate":
        assert expected == {"GOOD answer": 1.0, "bad answer": 0.0}
    assert expected["GOOD answer"] > 0.5 > expected["bad answer"]
    outcomes = _outcomes(batch)
    assert [o.value for o in outcomes] == [expected[r] for r in responses]
    for response, outcome in zip(responses, outcomes, strict=True):
        m = outcome.measurements
        assert (m["comparisons"], m["ties"], m["group_distinct"]) == (1, 0, 2)
        assert m["duplicates"] == responses.count(response) - 1
    assert len(recorder.requests) == 2  # one pair, both orders; never a response with itself
    for request in recorder.requests:
        blocks = read_blocks(request.user)
        assert blocks["response_a"] != blocks["response_b"]


def test_a_judge_forced_to_pick_between_copies_is_never_asked_to(pack_factory) -> None:
    """With allow_tie = false a judge shown two identical texts must pick a slot, which
    read as position inconsistency on every copy (and fired the monitor's swap alarms on
    group collapse)."""
    def policy(request: JudgeRequest) -> dict[str, Any]:
        blocks = read_blocks(request.user)
        if blocks["response_a"] == blocks["response_b"]:
            return {"rationale": "same", "winner": "A"}
        return good_wins(request)

    pack, _ = pack_factory(policy, _component("group", "allow_tie = false"))
    batch = Scorer(pack).score(_group(["GOOD answer"] * 3 + ["bad answer"] * 3))
    outcomes = _outcomes(batch)
    assert [o.value for o in outcomes] == [1.0] * 3 + [0.0] * 3
    assert {o.measurements["position_inconsistency"] for o in outcomes} == {0.0}


@pytest.mark.parametrize("scoring", ["win_rate", "bradley_terry"])
def test_a_group_of_one_response_has_nothing_to_compare(pack_factory, scoring: str) -> None:
    pack, recorder = pack_factory(good_wins, _component("group", f'scoring = "{scoring}"'))
    batch = Scorer(pack).score(_group(["same answer"] * 4))
    assert recorder.requests == []
    for outcome in _outcomes(batch):
        assert outcome.error is None and outcome.value == 0.5
        m = outcome.measurements
        assert (m["comparisons"], m["judge_calls"], m["group_distinct"], m["duplicates"]) == \
            (0, 0, 1, 3)
        assert "same response" in outcome.rationale


def test_the_pair_budget_is_spent_on_distinct_responses_only(pack_factory) -> None:
    # 6 rollouts, 3 distinct: the 3 distinct pairs fit a budget of 3 (the 15 pairs of the
    # rollouts' round robin would have spent it partly on copies).
    pack, recorder = pack_factory(prefer(len), _component("group", "max_pairs_per_group = 3"))
    responses = ["a", "bb", "ccc", "a", "bb", "ccc"]
    batch = Scorer(pack).score(_group(responses))
    assert len(recorder.requests) == 2 * 3
    assert [o.value for o in _outcomes(batch)] == [0.0, 0.5, 1.0] * 2
    assert {o.measurements["comparisons"] for o in _outcomes(batch)} == {2}


# -- accounting against a real Bedrock wire (s5 tester F2, F9) ----------------------------
def simulated_pairwise(responses_a: str, responses_b: str) -> Any:
    """The Converse simulator's pairwise policy: GOOD wins; a pair showing BOOM gets a
    reply that is no verdict (and again on the repair turn), so that comparison fails."""
    from rewardsmith.simulators.faults import default_verdict

    def policy(request: Any) -> dict[str, Any] | str:
        if not request.schema or "winner" not in (request.schema.get("properties") or {}):
            return default_verdict(request)
        blocks = read_blocks(request.messages[0][1])
        a, b = blocks[responses_a], blocks[responses_b]
        if "BOOM" in a + b:
            return "I would rather not say."
        good_a, good_b = "GOOD" in a, "GOOD" in b
        return {"rationale": "r",
                "winner": "A" if good_a and not good_b else "B" if good_b and not good_a
                else "tie"}

    return policy


ROW_KEYS = ("judge_calls", "deduplicated", "cached", "input_tokens", "output_tokens",
            "judge_attempts", "judge_repairs", "judge_failed_calls")


def test_rows_of_copies_and_of_a_failed_pair_sum_to_what_the_server_got(
        tmp_path, converse_simulator) -> None:
    from rewardsmith import load_pack
    from rewardsmith.simulators.wiring import FAST_RETRIES, judges_pointed_at

    converse_simulator.set_policy(simulated_pairwise("response_a", "response_b"))
    (tmp_path / "pack.toml").write_text("""
[pack]
name = "pairwise-accounting"
version = "1"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
boto_max_attempts = 1
max_retries = 0

[[components]]
id = "pairwise"
type = "pairwise-judge"
mode = "group"
on_error = "abstain"
""", encoding="utf-8")
    pack = load_pack(tmp_path / "pack.toml")
    responses = ["GOOD answer", "GOOD answer", "bad answer", "BOOM answer", "bad answer"]
    with judges_pointed_at(pack, "bedrock", converse_simulator.endpoint_url,
                           overrides=FAST_RETRIES):
        scorer = Scorer(pack)
        try:
            batch = scorer.score(_group(responses), timeout_s=60)
        finally:
            scorer.close()
    outcomes = _outcomes(batch)
    good, good_copy, bad, boom, bad_copy = outcomes
    # 3 distinct pairs, 6 calls, the 4 calls of the BOOM pairs each repaired once and failed
    assert converse_simulator.request_count == 6 + 4
    assert (good.value, good_copy.value, bad.value, bad_copy.value) == (1.0, 1.0, 0.0, 0.0)
    assert boom.error_kind == "judge_parse" and boom.value is None
    rows = {k: sum(o.measurements.get(k, 0) for o in outcomes) for k in ROW_KEYS}
    t = batch.telemetry
    assert rows["judge_calls"] == t.judge_calls == 6
    assert rows["judge_attempts"] == t.judge_attempts
    assert rows["judge_repairs"] == t.judge_repairs == 4
    assert rows["judge_failed_calls"] == sum(t.judge_call_failures.values()) == 4
    assert (rows["input_tokens"], rows["output_tokens"]) == (t.input_tokens, t.output_tokens)
    assert sum(o.measurements["cost_usd"] for o in outcomes) == pytest.approx(t.cost_usd,
                                                                              abs=1e-7)
    # every member of a failed pair (every copy of its response) says so
    assert [o.measurements["failed_comparisons"] for o in outcomes] == [1, 1, 1, 2, 1]
    # a member scored from its other comparisons still counts the failed one (s5 F4 kind);
    # the member with no comparison left fails outright (and, nothing else scoring it, so
    # does its sample): one judge failure per sample either way
    assert [o.partial_error_kind for o in (good, good_copy, bad, bad_copy)] == \
        ["judge_parse"] * 4
    assert batch.telemetry.failures == {"judge_parse": 5, "sample_failed": 1}
    assert boom.measurements["input_tokens"] > 0
    assert "1 failed" in good.rationale and "1 failed" in bad.rationale


@pytest.mark.parametrize("mode", ["reference", "baseline"])
def test_a_candidate_identical_to_its_opponent_ties_without_a_call(pack_factory,
                                                                  mode: str) -> None:
    """The per-sample modes' instance of F2: a judge without "tie" shown one text twice
    must pick a slot, which read as position inconsistency."""
    pack, recorder = pack_factory(always_first, _component(mode, "allow_tie = false"))
    text = "Clause 7 caps liability at the fees paid."
    batch = Scorer(pack).score([sample(text, sid="same", reference_answer=text,
                                       baseline_response=text)])
    outcome = _outcomes(batch)[0]
    assert recorder.requests == []
    assert outcome.value == 0.5 and outcome.passed is False
    assert outcome.measurements["position_inconsistency"] == 0.0
    assert (outcome.measurements["ties"], outcome.measurements["judge_calls"]) == (1, 0)
