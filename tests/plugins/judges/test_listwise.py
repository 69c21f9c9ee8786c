"""The listwise judge against the OpenAI simulator: one call per group (per order asked),
identical rollouts collapsed, shared prefixes sent once, orders seeded and reproducible,
and position bias visible in the details and measured by ``position_bias``."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support.judge_models import sample, sim_pack
from tests.support.judges import read_blocks

from rewardsmith import Scorer
from rewardsmith.core.wire import outcome_json
from rewardsmith.plugins.judges.listwise import (
    call_orders,
    position_bias,
    position_correlation,
    shared_prefix,
)


def _component(extra: str = "") -> str:
    return f"""
[[components]]
id = "listwise"
type = "listwise-judge"
{extra}
"""


def _candidates(request: Any) -> dict[str, str]:
    """The candidate blocks of a policy's request or of a request the server recorded."""
    text = getattr(request, "last_user_text", None) or _user(request)
    return {k: v for k, v in read_blocks(text).items() if k.startswith("candidate_")}


def quality(text: str) -> int:
    """The number after 'q=' in a response: what the simulated judge scores."""
    found = re.search(r"q=(\d+)", text)
    return int(found.group(1)) if found else 0


def by_quality(first_slot_bonus: int = 0) -> Any:
    def policy(request: Any) -> dict[str, Any]:
        scores = {}
        for name, text in _candidates(request).items():
            bonus = first_slot_bonus if name == "candidate_1" else 0
            scores[name] = min(10, quality(text) + bonus)
        return {"rationale": "by q", "scores": scores}

    return policy


def _score(tmp_path: Path, settings: dict[str, Any], component: str,
           groups: list[list[str]]) -> Any:
    samples = [sample(text, f"g{g}-{k}", prompt=f"Task {g}")
               for g, texts in enumerate(groups) for k, text in enumerate(texts)]
    scorer = Scorer(sim_pack(tmp_path, settings, component))
    try:
        return scorer.score(samples, timeout_s=60)
    finally:
        scorer.close()


def _user(request: Any) -> str:
    return str(request.body["messages"][-1]["content"])


def test_one_call_ranks_a_shuffled_group_and_duplicates_are_collapsed(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality())
    texts = ["answer q=2", "answer q=8", "answer q=5", "answer q=2",
             "answer q=8", "answer q=8", "answer q=0", "answer q=5"]
    random.Random(7).shuffle(texts)
    batch = _score(tmp_path, openai_judge_settings, _component(), [texts])
    assert openai_simulator.request_count == 1
    shown = _candidates(openai_simulator.requests[0])
    assert sorted(shown.values()) == ["answer q=0", "answer q=2", "answer q=5", "answer q=8"]
    outcomes = [r.components["listwise"] for r in batch.results]
    assert [o.value for o in outcomes] == [quality(t) / 10 for t in texts]
    assert [o.measurements["duplicates"] for o in outcomes] == [texts.count(t) - 1
                                                               for t in texts]
    assert all(o.measurements["group_distinct"] == 4 for o in outcomes)
    assert sum(o.measurements["judge_calls"] for o in outcomes) == 1


def test_groups_are_judged_separately_with_the_prompt_sent_once(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality())
    _score(tmp_path, openai_judge_settings, _component(),
           [["q=1", "q=3"], ["q=9", "q=4", "q=6"]])
    assert openai_simulator.request_count == 2
    for request in openai_simulator.requests:
        blocks = read_blocks(_user(request))
        assert list(blocks).count("prompt") == 1
        assert blocks["prompt"].count("Task") == 1
    sizes = sorted(len(_candidates(r)) for r in openai_simulator.requests)
    assert sizes == [2, 3]


def test_orders_are_seeded_reproducible_and_the_second_is_reversed(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality())
    texts = [f"response q={k}" for k in range(8)]

    def shown_orders(seed: int) -> list[list[str]]:
        openai_simulator.reset()
        _score(tmp_path, openai_judge_settings,
               _component(f"orders = 2\nseed = {seed}"), [texts])
        orders = [[v for _, v in sorted(_candidates(r).items(),
                                        key=lambda kv: int(kv[0].split("_")[1]))]
                  for r in openai_simulator.requests]
        return sorted(orders)  # both calls run at once: arrival order is not the asked order

    first = shown_orders(1)
    assert len(first) == 2 and sorted(first[0]) == sorted(texts)
    assert first[1] in (first[0][::-1],) or first[0] == first[1][::-1]
    assert first[0] != texts  # shuffled, not the rollout order
    assert shown_orders(1) == first  # same seed, same group: same orders
    assert shown_orders(2) != first


def test_position_bias_is_measurable_and_halved_by_the_reversed_order(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality(first_slot_bonus=4))
    groups = [[f"g{g} q={q}" for q in (2, 3, 4, 5)] for g in range(6)]
    one = _score(tmp_path, openai_judge_settings, _component(), groups)
    outcomes = [outcome_json(r.components["listwise"]) for r in one.results]
    bias = position_bias(outcomes)
    assert bias is not None and bias["first_minus_last"] > 0.2
    assert bias["position_correlation"] < 0
    assert one.telemetry.summary()["judge_stats"]["listwise"]["position_correlation"]["n"] == 6

    two = _score(tmp_path, openai_judge_settings, _component("orders = 2"), groups)
    for k, result in enumerate(two.results):
        q = quality(groups[k // 4][k % 4])
        outcome = result.components["listwise"]
        positions = sorted(s["position"] for s in outcome.details["listwise"])
        assert positions in ([0, 3], [1, 2])  # the second order is the first reversed
        if positions == [0, 3]:  # first once, last once: the +4 bonus counts half
            assert outcome.measurements["listwise_order_spread"] == pytest.approx(0.4)
            assert outcome.value == pytest.approx((q + 2) / 10)
        else:
            assert outcome.measurements["listwise_order_spread"] == 0
            assert outcome.value == pytest.approx(q / 10)


@pytest.mark.parametrize("group", [["q=7"], ["q=7", "q=7", "q=7"]])
def test_a_group_with_one_distinct_response_is_one_call_and_one_order(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any,
        group: list[str]) -> None:
    """Finding 12 (LOW): with orders = 2 a one-candidate group reported judge_calls = 2 and
    two "orders" for one HTTP call, and a spread of 0 that looked like a consistency
    check that never happened. One order exists, one is asked and reported."""
    openai_simulator.set_policy(by_quality())
    batch = _score(tmp_path, openai_judge_settings, _component("orders = 2"), [group])
    assert openai_simulator.request_count == 1
    outcomes = [r.components["listwise"] for r in batch.results]
    assert [o.value for o in outcomes] == [0.7] * len(group)
    assert sum(o.measurements["judge_calls"] for o in outcomes) == 1
    for outcome in outcomes:
        assert outcome.measurements["listwise_orders"] == 1
        assert "listwise_order_spread" not in outcome.measurements
        assert outcome.details["listwise"] == [{"position": 0, "of": 1, "score": 0.7}]


def test_a_two_candidate_group_has_at_most_two_orders(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality())
    batch = _score(tmp_path, openai_judge_settings, _component("orders = 4"),
                   [["q=2", "q=8"]])
    assert openai_simulator.request_count == 2
    shown = sorted(tuple(_candidates(r).values()) for r in openai_simulator.requests)
    assert shown == [("q=2", "q=8"), ("q=8", "q=2")]
    assert all(r.components["listwise"].measurements["listwise_orders"] == 2
               for r in batch.results)


def test_a_long_shared_prefix_is_sent_once(tmp_path: Path, openai_simulator: Any,
                                           openai_judge_settings: Any) -> None:
    transcript = "".join(f"step {k}: called the search tool, read the results\n"
                         for k in range(12))
    openai_simulator.set_policy(by_quality())
    batch = _score(tmp_path, openai_judge_settings, _component(),
                   [[transcript + "final answer q=3", transcript + "final answer q=7"]])
    user = _user(openai_simulator.requests[0])
    assert user.count("step 5: called the search tool") == 1
    blocks = read_blocks(_user(openai_simulator.requests[0]))
    assert blocks["shared_response_prefix"] == transcript
    assert sorted(v for k, v in blocks.items() if k.startswith("candidate_")) == [
        "final answer q=3", "final answer q=7"]
    assert [r.components["listwise"].value for r in batch.results] == [0.3, 0.7]
    assert batch.results[0].components["listwise"].details["shared_prefix_sent"] is True


def test_one_failed_ordering_is_tolerated_and_counted(tmp_path: Path, openai_simulator: Any,
                                                      openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(by_quality())
    openai_simulator.script("validation", "ok")  # not retried: one of the two calls fails
    batch = _score(tmp_path, openai_judge_settings, _component("orders = 2"),
                   [["q=1", "q=9"]])
    outcomes = [r.components["listwise"] for r in batch.results]
    assert [o.value for o in outcomes] == [0.1, 0.9]
    assert all(o.measurements["failed_orderings"] == 1 for o in outcomes)
    # scored from the other ordering, and still a counted failure of each sample
    kind = outcomes[0].partial_error_kind
    assert kind is not None and all(o.partial_error_kind == kind for o in outcomes)
    assert batch.telemetry.failures == {kind: 2}
    assert batch.telemetry.component_failures == {"listwise": {kind: 2}}


def test_too_many_distinct_responses_fail_the_group(tmp_path: Path, openai_simulator: Any,
                                                    openai_judge_settings: Any) -> None:
    batch = _score(tmp_path, openai_judge_settings, _component("max_candidates = 3"),
                   [[f"q={k}" for k in range(4)]])
    assert openai_simulator.request_count == 0
    assert {r.components["listwise"].error_kind for r in batch.results} == {
        "judge_input_too_large"}


def test_helpers() -> None:
    assert shared_prefix(["ab\ncd", "ab\nce", "ab\nc"], 1) == "ab\n"
    assert shared_prefix(["ab\ncd", "ab\nce"], 10) == ""
    assert shared_prefix(["only"], 1) == ""
    orders = call_orders(5, 3, 0, "k")
    assert orders[1] == orders[0][::-1] and sorted(orders[2]) == list(range(5))
    assert len({tuple(o) for o in orders}) == 3
    assert call_orders(1, 4, 0, "k") == [[0]]
    assert len(call_orders(2, 4, 0, "k")) == 2
    three = call_orders(3, 4, 0, "k")  # 3! = 6 orders exist: four distinct ones
    assert len({tuple(o) for o in three}) == 4 and three[1] == three[0][::-1]
    assert (call_orders(5, 3, 0, "k") == orders and call_orders(5, 1, 0, "other") != orders[:1]) \
        or call_orders(5, 1, 1, "k") != orders[:1]
    # first slot 1.0, last slot 0.0: perfectly negative
    assert position_correlation([(0, 1.0, 2), (1, 0.0, 2)]) == pytest.approx(-1.0)
    assert position_correlation([(0, 0.5, 2), (1, 0.5, 2)]) is None
    assert position_bias([{"details": {}}]) is None
    assert json.dumps(position_bias([{"details": {"listwise": [
        {"position": 0, "of": 2, "score": 0.8}, {"position": 1, "of": 2, "score": 0.4}]}}]))
