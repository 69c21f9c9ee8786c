"""A failing judge backend never costs the batch: each component's on_error policy
applies and every sample still gets a finite reward."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests.support.judges import failing, read_blocks, rubric_policy, sample

from rewardsmith import Scorer
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.wire import jsonl_row

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
        # every judge failed on every sample: an outage batch, whose rows say so
        assert result.status == "judge_unavailable"
        assert result.reward == pytest.approx(0.4)
        for outcome in result.components.values():
            assert outcome.error_kind == kind and outcome.policy == "neutral"
    assert batch.telemetry.failures[kind] == 8
    assert len(recorder.requests) == 4 * 3  # 1 rubric call + 2 pairwise calls per sample
    assert {(o.component, o.kind) for o in batch.judge_outages} == {
        ("review", kind), ("versus_reference", kind)}


@pytest.mark.parametrize(("policy", "reward", "status"), [
    ("zero", 0.0, "judge_unavailable"),  # the reward computed, without the judges (exit 4)
    ("abstain", 0.0, "failed"),  # everything abstained: the pack's failure reward
    ("fail", 0.0, "failed"),
])
def test_other_policies_still_give_finite_rewards(pack_factory, policy, reward, status) -> None:
    pack, _ = pack_factory(failing("judge_unavailable"), _pack_text(policy))
    batch = Scorer(pack).score(_samples())
    for result in batch.results:
        assert math.isfinite(result.reward)
        assert result.reward == reward
        assert result.status == status
        assert jsonl_row(result)["aggregate_reward_score"] == reward


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
    rewards = [r.reward for r in batch.results]
    assert rewards == [1.0, 0.0, 0.5]
    assert batch.results[2].components["review"].error_kind == "judge_throttled"


def test_unexpected_backend_exception_is_contained(pack_factory) -> None:
    def broken(_request: JudgeRequest) -> Any:
        raise RuntimeError("socket exploded")

    pack, _ = pack_factory(broken, _pack_text("neutral"))
    batch = Scorer(pack).score(_samples())
    assert all(r.reward == pytest.approx(0.4) for r in batch.results)
    outcome = batch.results[0].components["review"]
    # a judge's unclassified exception is a judge failure, and a batch of them an outage
    assert outcome.error_kind == "judge_internal_error"
    assert outcome.error == "RuntimeError: socket exploded"
    assert {(o.component, o.kind) for o in batch.judge_outages} == {
        ("review", "judge_internal_error"), ("versus_reference", "judge_internal_error")}
