"""A failing judge backend never costs the batch: each component's on_error policy
applies and every sample still gets a finite reward."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.support.judges import failing, read_blocks, rubric_policy, sample

from rewardsmith import Scorer
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judge import JudgeRequest

KINDS = ["judge_throttled", "judge_timeout", "judge_unavailable", "judge_config",
         "judge_parse", "judge_refused", "circuit_open"]


def _pack_text(on_error: str) -> str:
    return f"""
[[components]]
id = "review"
type = "rubric-judge"
on_error = "{on_error}"
neutral_value = 0.4
weight = 2
criteria = [{{ id = "grounded", pass_if = "Quotes a clause." }}]

[[components]]
id = "versus_reference"
type = "pairwise-judge"
mode = "reference"
on_error = "{on_error}"
neutral_value = 0.4
weight = 1
"""


def _samples() -> list[dict[str, Any]]:
    return [sample(f"Clause {i} reply", sid=f"s{i}", reference_answer="ref") for i in range(4)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_backend_failure_kind_reaches_the_neutral_policy(pack_factory, kind) -> None:
    pack, recorder = pack_factory(failing(kind), _pack_text("neutral"))
    batch = Scorer(pack).score(_samples())
    assert len(batch.results) == 4
    for result in batch.results:
        assert result.status == "ok"
        assert result.aggregate_reward_score == pytest.approx(0.4)
        for outcome in result.components.values():
            assert outcome.error_kind == kind and outcome.policy == "neutral"
    assert batch.telemetry.failures[kind] == 8
    assert len(recorder.requests) == 4 * 3  # 1 rubric call + 2 pairwise calls per sample


@pytest.mark.parametrize(("policy", "reward", "status"), [
    ("zero", 0.0, "ok"),
    ("abstain", 0.0, "failed"),  # everything abstained: the pack's failure reward
    ("fail", 0.0, "failed"),
])
def test_other_policies_still_give_finite_rewards(pack_factory, policy, reward, status) -> None:
    pack, _ = pack_factory(failing("judge_unavailable"), _pack_text(policy))
    batch = Scorer(pack).score(_samples())
    for result in batch.results:
        assert math.isfinite(result.aggregate_reward_score)
        assert result.aggregate_reward_score == reward
        assert result.status == status
        assert result.to_lambda()["aggregate_reward_score"] == reward


def test_group_mean_policy_borrows_from_the_samples_that_were_judged(pack_factory) -> None:
    def flaky(request: JudgeRequest) -> dict[str, Any]:
        candidate = read_blocks(request.user)["candidate"]
        if "overloaded" in candidate:
            raise ComponentError("throttled after retries", kind="judge_throttled")
        return rubric_policy({"grounded": lambda t: "Clause" in t})(request)

    text = """
[[components]]
id = "review"
type = "rubric-judge"
on_error = "group_mean"
criteria = [{ id = "grounded", pass_if = "Quotes a clause." }]
"""
    pack, _ = pack_factory(flaky, text)
    batch = Scorer(pack).score([sample("Clause 1", sid="a"), sample("nothing", sid="b"),
                                sample("overloaded", sid="c")])
    rewards = [r.aggregate_reward_score for r in batch.results]
    assert rewards == [1.0, 0.0, 0.5]
    assert batch.results[2].components["review"].error_kind == "judge_throttled"


def test_unexpected_backend_exception_is_contained(pack_factory) -> None:
    def broken(_request: JudgeRequest) -> Any:
        raise RuntimeError("socket exploded")

    pack, _ = pack_factory(broken, _pack_text("neutral"))
    batch = Scorer(pack).score(_samples())
    assert all(r.aggregate_reward_score == pytest.approx(0.4) for r in batch.results)
    outcome = batch.results[0].components["review"]
    assert outcome.error_kind == "exception" and "socket exploded" in (outcome.error or "")
