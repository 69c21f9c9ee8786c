"""Deadline handling: the answer arrives before the Lambda's deadline with finite rewards,
however little time is left and whatever hangs. Time assertions here check correctness
of the deadline logic (the answer is late or it is not), with generous slack."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import HANGING_PACK, FakeContext, metrics_of, sample, validate_answer

from rewardsmith import Scorer, load_pack
from rewardsmith.aws_lambda import HandlerSettings, InvocationBudget, make_handler
from rewardsmith.core.plugins import PluginHost


def _batch(n: int) -> list[dict[str, Any]]:
    return [sample(f"s{i}", "ok" if i % 2 == 0 else "no") for i in range(n)]


def test_budget_is_remaining_time_minus_margin() -> None:
    settings = HandlerSettings(deadline_margin_s=2.0, min_budget_s=0.25, default_timeout_s=30)
    budget = InvocationBudget.from_context(FakeContext(60_000), settings)
    assert budget.remaining_s is not None
    assert budget.budget_s == pytest.approx(budget.remaining_s - 2.0)
    assert budget.budget_s < budget.hard_stop_s < budget.remaining_s


@pytest.mark.parametrize("remaining_ms", [0, 40, 600, 1500])
def test_short_remaining_time_keeps_a_budget_below_the_deadline(remaining_ms: int) -> None:
    settings = HandlerSettings(deadline_margin_s=2.0, min_budget_s=0.25)
    budget = InvocationBudget.from_context(FakeContext(remaining_ms), settings)
    assert budget.remaining_s is not None
    assert 0 <= budget.budget_s <= budget.hard_stop_s <= budget.remaining_s
    assert budget.budget_s <= max(0.25, 0.0)


@pytest.mark.parametrize("context", [None, {}, object(), {"aws_request_id": "x"}])
def test_contexts_without_a_deadline_use_the_default_timeout(context: Any) -> None:
    budget = InvocationBudget.from_context(context, HandlerSettings(default_timeout_s=12.0))
    assert budget.remaining_s is None
    assert budget.budget_s == 12.0


def test_a_context_whose_clock_raises_is_treated_as_no_deadline() -> None:
    class Broken:
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("boom")

    assert InvocationBudget.from_context(Broken(), HandlerSettings()).remaining_s is None


@pytest.fixture
def hanging_handler(write_pack: Callable[..., Path], host: PluginHost) -> Any:
    return make_handler(Scorer(load_pack(write_pack(HANGING_PACK), host)))


@pytest.mark.parametrize("remaining_ms", [300, 1500, 2600])
def test_hanging_component_answers_before_the_deadline(
    hanging_handler: Any, remaining_ms: int, captured_emf: Callable[[], list[dict[str, Any]]]
) -> None:
    batch = _batch(12)
    context = FakeContext(remaining_ms)
    out = hanging_handler(batch, context)
    arrived = time.monotonic()
    assert arrived < context.deadline, "the answer arrived after the Lambda deadline"
    validate_answer(out, [s["id"] for s in batch])
    for result in out:
        metrics = metrics_of(result)
        assert metrics["judge.failed"] == 1.0
        assert metrics["deadline_abandoned"] == 1.0
        assert metrics["components_failed"] == 1.0
        # The hanging judge abstains (default policy): the reward is the match alone.
        expected = 1.0 if result["id"] in {"s0", "s2", "s4", "s6", "s8", "s10"} else 0.0
        assert result["aggregate_reward_score"] == expected
    (emf,) = captured_emf()
    assert emf["Failures.deadline"] == 12.0
    assert emf["DeadlineHit"] == 1.0


def test_nova_forge_local_check_shape_with_empty_dict_context(
    write_pack: Callable[..., Path], host: PluginHost
) -> None:
    # handler(samples, {}) has no deadline: the default timeout bounds the hang.
    handler = make_handler(Scorer(load_pack(write_pack(HANGING_PACK), host)),
                           default_timeout_s=0.3)
    started = time.monotonic()
    out = handler(_batch(3), {})
    assert time.monotonic() - started < 5.0
    validate_answer(out, ["s0", "s1", "s2"])
    assert all(metrics_of(r)["deadline_abandoned"] == 1.0 for r in out)


BLOCKING_PACK = """
[pack]
name = "lambda-blocking"
version = "1.0.0"

[[components]]
id = "stuck"
type = "t-blocks-loop"
seconds = 1.5
"""


def test_watchdog_answers_when_a_component_blocks_the_engine(
    write_pack: Callable[..., Path], host: PluginHost,
    captured_emf: Callable[[], list[dict[str, Any]]],
) -> None:
    # A sync component that sleeps inline stalls the event loop, so the engine cannot
    # stop at its deadline; the handler stops waiting and answers with failure rewards.
    scorer = Scorer(load_pack(write_pack(BLOCKING_PACK), host))
    handler = make_handler(scorer, deadline_margin_s=0.6, failure_reward=0.0)
    context = FakeContext(1200)
    out = handler(_batch(2), context)
    assert time.monotonic() < context.deadline
    validate_answer(out, ["s0", "s1"])
    for result in out:
        assert result["aggregate_reward_score"] == 0.0
        assert metrics_of(result)["engine_error"] == 1.0
    (emf,) = captured_emf()
    assert emf["EngineError"] == 1.0 and emf["DeadlineHit"] == 1.0
    scorer.close()  # waits for the stalled batch, so nothing outlives the test
