"""The pairwise judge: both orders, position bias as ties, reference/baseline modes,
group tournaments with win rate and Bradley-Terry, and the pair budget."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.support.judges import always_first, prefer, read_blocks, sample

from rewardsmith import Scorer
from rewardsmith.core.errors import ComponentError, PackError
from rewardsmith.core.judge import JudgeRequest
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
    assert all(math.isfinite(r.aggregate_reward_score) for r in batch.results)


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
