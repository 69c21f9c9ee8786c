"""Scope and the per-turn reward vector: lengths, assignment rules, rows."""

from __future__ import annotations

import math

import pytest
from tests.support import trajectories as tj

from rewardsmith import load_pack
from rewardsmith.core.errors import PackError, SampleError
from rewardsmith.core.wire import TURN_REWARDS_KEY, jsonl_row, lambda_row

PACK = """
[pack]
name = "t"
version = "1"
{extra}

[[components]]
id = "answer"
type = "contains"
needle = "refund"
{scope}
"""


def _score(make_scorer, items, extra: str = "", scope: str = ""):
    scorer = make_scorer(PACK.format(extra=extra, scope=scope))
    try:
        return scorer.score(items).results
    finally:
        scorer.close()


@pytest.mark.parametrize("extra", ["[trajectory]\nassign = 'final'",
                                   "[trajectory]\nassign = 'every'",
                                   "[trajectory]\nassign = 'discounted'\ngamma = 0.5"])
@pytest.mark.parametrize("scope", ["", "scope = 'turn'", "scope = 'trajectory'"])
def test_vector_length_is_the_number_of_assistant_turns_always(make_scorer, extra: str,
                                                               scope: str) -> None:
    items = [build() for build, _ in tj.SHAPES]
    items += [SampleError("line 3: not valid JSON", kind="invalid_json", sample_id=3),
              {"id": "no-assistant", "messages": [{"role": "user", "content": "q"}]}]
    results = _score(make_scorer, items, extra, scope)
    expected = [n for _, n in tj.SHAPES] + [0, 0]
    assert [len(r.turn_rewards or ()) for r in results] == expected
    for r in results:
        assert r.turn_rewards is not None
        assert all(math.isfinite(v) for v in r.turn_rewards)
        assert math.isfinite(r.reward)
    bad = {r.id: r for r in results if r.status == "failed"}
    assert set(bad) == {"bad-call-id", "bad-message", 3, "no-assistant"}
    assert "malformed trajectory" in (bad["bad-call-id"].error or "")


def test_assign_final_every_discounted(make_scorer) -> None:
    sample = tj.openai_chat()  # the last turn mentions the refund: the component gives 1
    final = _score(make_scorer, [sample], "[trajectory]\nassign = 'final'")[0]
    assert final.reward == 1.0 and final.turn_rewards == (0.0, 0.0, 1.0)
    every = _score(make_scorer, [sample], "[trajectory]\nassign = 'every'")[0]
    assert every.turn_rewards == (1.0, 1.0, 1.0)
    disc = _score(make_scorer, [sample], "[trajectory]\nassign = 'discounted'\ngamma = 0.5")[0]
    assert disc.turn_rewards == (0.25, 0.5, 1.0)
    unscored = _score(make_scorer, [sample],
                      "[trajectory]\nassign = 'final'\nunscored_turn_reward = 0.5")[0]
    assert unscored.turn_rewards == (0.5, 0.5, 1.0)


def test_turn_scope_scores_each_turn(make_scorer) -> None:
    sample = tj.openai_chat()
    sample["messages"][4]["content"] = "Starting the refund now."
    (result,) = _score(make_scorer, [sample], scope="scope = 'turn'")
    outcome = result.components["answer"]
    assert outcome.turn_values == [0.0, 1.0, 1.0]
    assert result.reward == pytest.approx(2 / 3)  # the mean over turns
    assert result.turn_rewards == (0.0, 1.0, 1.0)
    row = jsonl_row(result)
    assert row["components"]["answer"]["turn_values"] == [0.0, 1.0, 1.0]


def test_gated_sample_gets_its_reward_assigned(make_scorer) -> None:
    text = PACK.format(extra="[trajectory]\nassign = 'every'", scope="") + """
[[components]]
id = "gate"
type = "contains"
needle = "NEVER"
gate = { fail_reward = 0.1 }
"""
    scorer = make_scorer(text)
    try:
        (result,) = scorer.score([tj.openai_chat()]).results
    finally:
        scorer.close()
    assert result.status == "gated" and result.turn_rewards == (0.1, 0.1, 0.1)


def test_rows_carry_the_vector_only_when_there_is_one(make_scorer) -> None:
    plain = _score(make_scorer, [tj.rft_single_turn(), tj.openai_chat()])
    single, multi = plain
    assert single.turn_rewards is None
    assert TURN_REWARDS_KEY not in jsonl_row(single)
    assert TURN_REWARDS_KEY not in lambda_row(single, failure_reward=0.0)
    # a multi-turn sample carries it even under a response-only pack
    assert lambda_row(multi, failure_reward=0.0)[TURN_REWARDS_KEY] == [0.0, 0.0, 1.0]
    assert jsonl_row(multi)[TURN_REWARDS_KEY] == [0.0, 0.0, 1.0]
    # an agentic pack gives every sample its vector, single-turn ones too
    (agentic,) = _score(make_scorer, [tj.rft_single_turn()], "[trajectory]")
    assert lambda_row(agentic, failure_reward=0.0)[TURN_REWARDS_KEY] == [0.0]


@pytest.mark.parametrize(("table", "message"), [
    ("[trajectory]\nassign = 'discounted'", "needs a 'gamma'"),
    ("[trajectory]\ngamma = 0.9", "'gamma' is given but assign is not 'discounted'"),
    ("[trajectory]\nunscored_turn_reward = 3.0", "outside reward_range"),
    ("[trajectory]\nassign = 'sometimes'", "assign"),
])
def test_trajectory_table_is_validated(write_pack, host, table: str, message: str) -> None:
    with pytest.raises(PackError, match=message):
        load_pack(write_pack(PACK.format(extra=table, scope="")), host)


def test_default_scope_does_not_move_the_pack_hash(write_pack, host) -> None:
    plain = load_pack(write_pack(PACK.format(extra="", scope="")), host)
    explicit = load_pack(write_pack(PACK.format(extra="", scope="scope = 'response'"),
                                    "b.toml"), host)
    assert plain.hash == explicit.hash
    turn = load_pack(write_pack(PACK.format(extra="", scope="scope = 'turn'"), "c.toml"), host)
    assert turn.hash != plain.hash


def test_group_components_cannot_score_turns(write_pack, host) -> None:
    text = PACK.format(extra="", scope="") + """
[[components]]
id = "rank"
type = "length-rank"
scope = "turn"
"""
    with pytest.raises(PackError, match="cannot have scope = 'turn'"):
        load_pack(write_pack(text), host)


def test_a_turn_scoped_component_failing_on_some_turns_is_counted(make_scorer) -> None:
    """s5 tester F4: a component that failed on one turn and was scored from the others was
    counted nowhere (no failure, no error in the summary); the failure reaches the sample."""
    from rewardsmith.report.summary import component_stats

    sample = tj.openai_chat("The refund would explode the budget.")  # the last turn raises
    sample["messages"][4]["content"] = "Starting the refund now."
    clean_sample = tj.openai_chat()
    clean_sample["id"] = "clean"
    scorer = make_scorer(PACK.format(extra="", scope="scope = 'turn'"))
    try:
        batch = scorer.score([sample, clean_sample])
    finally:
        scorer.close()
    partial, clean = (r.components["answer"] for r in batch.results)
    assert partial.error is None and partial.partial_error_kind == "exception"
    assert partial.turn_values == [0.0, 1.0, None]  # the failed turn abstains
    assert partial.measurements["turns_failed"] == 1
    assert clean.partial_error_kind is None and clean.measurements["turns_failed"] == 0
    assert batch.telemetry.failures == {"exception": 1}
    assert batch.telemetry.component_failures == {"answer": {"exception": 1}}
    stats = component_stats(batch.results)["answer"]
    assert (stats["errors"], stats["ran"], stats["failure_rate"]) == (1, 2, 0.5)
    row = lambda_row(batch.results[0], failure_reward=0.0)
    assert {"name": "answer.turns_failed", "value": 1.0, "type": "Metric"} in \
        row["metrics_list"]
