"""Per-sample judge accounting (plugins/judges/calling.py ``CallStats``): summed over a
batch's rows, calls, tokens and cost are what the judge server was really sent; answers
shared by identical requests and answers from the verdict cache are counted apart.

Found by the s4 tester (F4): rows of de-duplicated copies said ``judge_calls: 1`` with the
full tokens, so 24 rows summed to 24 calls against 4 the server got.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.hostile_judge import HostileServer, hostile_server

from rewardsmith import Scorer, load_pack
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.judging import JudgeReply
from rewardsmith.core.results import BatchResult
from rewardsmith.plugins.judges.calling import CallStats


def reply(**fields: Any) -> JudgeReply:
    base: dict[str, Any] = {"text": "{}", "input_tokens": 100, "output_tokens": 20,
                            "latency_ms": 40.0, "cost_usd": 0.002}
    return JudgeReply(**{**base, **fields})


def test_shared_and_cached_answers_spend_nothing_and_are_counted_apart() -> None:
    stats = CallStats()
    stats.add(reply(extra={"attempts": 2, "repairs": 1, "queued_ms": 6.0, "mode": "tool"}))
    stats.add(reply(cost_usd=0.0, extra={"attempts": 2, "repairs": 1, "mode": "tool",
                                         "deduplicated": True}))
    stats.add(reply(cost_usd=0.0, cached=True, latency_ms=0.1))
    stats.add_failure(ComponentError("gave up", kind=ErrorKind.JUDGE_TIMEOUT,
                                     measurements={"judge_attempts": 3,
                                                   "judge_latency_ms": 80.0,
                                                   "input_tokens": 7}))
    m = stats.measurements()
    assert (m["judge_calls"], m["deduplicated"], m["cached"], m["judge_failed_calls"]) == \
        (2, 1, 1, 1)
    assert (m["input_tokens"], m["output_tokens"]) == (107, 20)
    assert m["cost_usd"] == 0.002
    assert (m["judge_attempts"], m["judge_repairs"]) == (5, 1)
    assert m["judge_latency_ms"] == 60.0  # (40 + 80) / 2 sent calls
    assert m["judge_queued_ms"] == 3.0
    assert m["judge_mode"] == "tool"


def test_a_split_sums_to_the_whole_and_keeps_the_means() -> None:
    stats = CallStats()
    for _ in range(3):
        stats.add(reply(extra={"queued_ms": 3.0}))
    stats.add(reply(cached=True, cost_usd=0.0))
    stats.input_tokens += 2  # 302: not a multiple of the 7 shares
    shares = [s.measurements() for s in stats.split(7)]
    whole = stats.measurements()
    for key in ("judge_calls", "cached", "input_tokens", "output_tokens", "judge_attempts"):
        assert sum(s[key] for s in shares) == whole[key], key
    # each share's dollars are rounded to 8 decimals, as every row's are
    assert sum(s["cost_usd"] for s in shares) == pytest.approx(whole["cost_usd"], abs=7e-8)
    assert [s["judge_calls"] for s in shares] == [3, 0, 0, 0, 0, 0, 0]
    assert {s["input_tokens"] for s in shares} == {43, 44}
    assert {s["judge_latency_ms"] for s in shares} == {40.0}
    assert {s["judge_queued_ms"] for s in shares} == {3.0}
    with pytest.raises(ValueError, match="0 samples"):
        stats.split(0)


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def score(tmp_path: Path, server: HostileServer, samples: list[dict[str, Any]],
          component: str) -> BatchResult:
    path = tmp_path / "pack.toml"
    path.write_text(f"""
[pack]
name = "accounting"
version = "1"

[judge]
backend = "openai"
model = "judge"
base_url = "{server.url}/ok/v1"
max_retries = 0
cache_path = "verdicts.sqlite"

[[components]]
id = "q"
{component}
""", encoding="utf-8")
    scorer = Scorer(load_pack(path))
    try:
        return scorer.score(samples, timeout_s=120)
    finally:
        scorer.close()


def shuffled_groups(prompts: int, rollouts: int) -> list[dict[str, Any]]:
    """``rollouts`` identical answers per prompt, shuffled across the batch."""
    rows = [{"id": f"p{p}-r{r}", "group_id": f"p{p}",
             "messages": [{"role": "user", "content": f"What is {p} + {p}?"},
                          {"role": "assistant", "content": f"It is {2 * p}."}]}
            for p in range(prompts) for r in range(rollouts)]
    random.Random(7).shuffle(rows)
    return rows


def totals(batch: BatchResult) -> dict[str, float]:
    keys = ("judge_calls", "deduplicated", "cached", "input_tokens", "cost_usd")
    return {k: sum(r.components["q"].measurements[k] for r in batch.results) for k in keys}


RUBRIC = 'type = "rubric-judge"\ncriteria = [{ id = "right", pass_if = "It is right." }]'


def test_rows_of_a_shuffled_batch_sum_to_the_calls_the_server_got(
        tmp_path: Path, server: HostileServer) -> None:
    samples = shuffled_groups(prompts=4, rollouts=6)
    before = server.calls["ok"]
    first = score(tmp_path, server, samples, RUBRIC)
    sent = server.calls["ok"] - before
    assert sent == 4
    rows = totals(first)
    assert rows["judge_calls"] == sent == first.telemetry.judge_calls
    assert rows["deduplicated"] == 20 == first.telemetry.deduplicated
    assert rows["cached"] == 0
    assert rows["input_tokens"] == first.telemetry.input_tokens > 0
    # every copy got the same verdict as the sample whose call answered it
    assert {r.components["q"].value for r in first.results} == {1.0}

    again = score(tmp_path, server, samples, RUBRIC)  # the same batch: the cache answers
    assert server.calls["ok"] - before == sent
    rows = totals(again)
    assert (rows["judge_calls"], rows["input_tokens"], rows["cost_usd"]) == (0, 0, 0.0)
    assert rows["cached"] + rows["deduplicated"] == 24
    assert rows["cached"] == again.telemetry.cache_hits


def test_a_pairwise_groups_calls_are_counted_once_over_its_members(
        tmp_path: Path, server: HostileServer) -> None:
    samples = [{"id": f"s{k}", "group_id": "g",
                "messages": [{"role": "user", "content": "Name a colour."},
                             {"role": "assistant", "content": colour}]}
               for k, colour in enumerate(["red", "green", "blue"])]
    before = server.calls["ok"]
    batch = score(tmp_path, server, samples,
                  'type = "pairwise-judge"\nmode = "group"\n'
                  'criteria = [{ id = "better", pass_if = "It is better." }]')
    assert [r.components["q"].error for r in batch.results] == [None] * 3
    rows = totals(batch)
    assert rows["judge_calls"] == server.calls["ok"] - before == batch.telemetry.judge_calls
    assert rows["input_tokens"] == batch.telemetry.input_tokens
