"""Every judge request is counted once, in the right counter, whatever its outcome (s5
tester F1, F3, F9): summed over a batch's rows, the judge figures equal the batch
telemetry, and the telemetry equals what the Converse simulator received, when shared
calls fail, when calls are abandoned at the deadline or over ``timeout_s``, and when one
order of a cascade's ``check_orders`` fails."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import trajectories as tj
from tests.support.judge_accounting import (
    CountingConverse,
    assert_rows_match_telemetry,
    assert_server_agrees,
)

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host

RUBRIC = """
[[components]]
id = "review"
type = "rubric-judge"
include_prompt = true
{extra}
criteria = [{{ id = "correct", pass_if = "The answer is right." }},
            {{ id = "polite", pass_if = "The answer is polite." }}]
"""

CASCADE = """
[[components]]
id = "review"
type = "cascade-judge"
include_prompt = true
check_orders = true
first = {{ model = "openai.gpt-oss-20b-1:0" }}
second = {{ model = "openai.gpt-oss-120b-1:0" }}
criteria = [{{ id = "correct", pass_if = "The answer is right." }},
            {{ id = "polite", pass_if = "The answer is polite." }}]
"""


@pytest.fixture
def sim(aws_dummy_env: None) -> Iterator[CountingConverse]:
    with CountingConverse() as server:
        yield server


def _pack(tmp_path: Path, sim: CountingConverse, components: str, judge: str = "") -> Path:
    path = tmp_path / "pack.toml"
    path.write_text(f"""
[pack]
name = "accounting"
version = "1"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
region = "us-east-1"
endpoint_url = "{sim.endpoint_url}"
cache_path = ""
boto_max_attempts = 1
retry_base_delay_s = 0.005
retry_max_delay_s = 0.02
{judge if "circuit_cooldown_s" in judge else judge + chr(10) + "circuit_cooldown_s = 0.05"}
{components}
""", encoding="utf-8")
    return path


def _batch(prompts: int, rollouts: int, distinct: int, seed: int = 5) -> list[dict[str, Any]]:
    """``prompts`` x ``rollouts`` samples, ``distinct`` different answers per prompt."""
    out = [{"id": f"p{p}-r{r}", "messages": [
        {"role": "user", "content": f"Question {p}: what is {p}+{p}?"},
        {"role": "assistant", "content": f"Answer {r % distinct} to question {p}."}]}
        for p in range(prompts) for r in range(rollouts)]
    random.Random(seed).shuffle(out)
    return out


def _score(path: Path, samples: list[dict[str, Any]], **kwargs: Any) -> Any:
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    try:
        return scorer.score(samples, **kwargs)
    finally:
        scorer.close()


@pytest.mark.parametrize(("faults", "judge", "kind"), [
    ({"malformed_rate": 1.0}, "", "judge_parse"),
    ({"server_error_rate": 1.0}, "max_retries = 1\ncircuit_failure_threshold = 1000",
     "judge_unavailable"),
    ({"throttle_rate": 1.0}, "max_throttle_wait_s = 0.05", "judge_throttled"),
])
def test_a_failed_shared_call_is_one_call_and_its_followers_are_deduplicated(
    tmp_path: Path, sim: CountingConverse, faults: dict[str, float], judge: str, kind: str,
) -> None:
    sim.configure(**faults)
    samples = _batch(6, 8, 3)  # 48 samples, 18 distinct requests
    batch = _score(_pack(tmp_path, sim, RUBRIC.format(extra=""), judge), samples)

    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary)
    assert summary["judge_calls"] + summary["deduplicated"] == len(samples)
    assert summary["judge_failures"] == summary["judge_calls"]
    assert kind in summary["judge_call_failures"]
    # every sample still fails, with its shared call's kind
    assert all(r.components["review"].error_kind is not None for r in batch.results)
    followers = [r.components["review"] for r in batch.results
                 if r.components["review"].measurements.get("deduplicated")]
    assert len(followers) == summary["deduplicated"] > 0
    for outcome in followers:
        assert outcome.measurements["judge_calls"] == 0
        assert outcome.measurements["input_tokens"] == 0
        assert outcome.measurements["cost_usd"] == 0
        assert outcome.measurements["judge_attempts"] == 0
        assert "judge_failed_calls" not in outcome.measurements


def test_partial_faults_with_repeats_keep_rows_telemetry_and_server_equal(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    sim.configure(server_error_rate=0.3, malformed_rate=0.3, seed=1)
    batch = _score(_pack(tmp_path, sim, RUBRIC.format(extra=""), "max_retries = 0"),
                   _batch(6, 8, 3))
    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary)
    assert summary["judge_failures"] > 0


def test_calls_in_flight_at_the_batch_deadline_are_calls_and_deadline_failures(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    # 1 s per answer, 4 at a time, 2.5 s: some calls answered, 4 in flight at the deadline.
    sim.configure(latency_s=1.0)
    samples = _batch(6, 8, 3)
    batch = _score(_pack(tmp_path, sim, RUBRIC.format(extra=""), "max_concurrency = 4"),
                   samples, timeout_s=2.5)

    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary, abandoned=True)
    abandoned = summary["judge_call_failures"].get("deadline", 0)
    assert abandoned > 0 and summary["judge_failures"] == abandoned
    assert summary["judge_calls"] == sim.request_count
    # deduplicated counts answers shared: only rows that got a verdict from another's call
    shared = [r for r in batch.results
              if r.components["review"].measurements.get("deduplicated")]
    assert all(r.components["review"].error is None for r in shared)
    assert summary["deduplicated"] == len(shared)
    # the rows of the abandoned calls carry them
    carriers = [r.components["review"] for r in batch.results
                if r.components["review"].measurements.get("judge_failed_calls")]
    assert len(carriers) == abandoned
    assert all(o.error_kind == "deadline" for o in carriers)
    # an abandoned call at the deadline is not an outage unless nothing was judged
    assert summary["judge_calls"] > abandoned
    assert summary["judge_unavailable"] == {}


def test_a_call_over_the_components_timeout_is_a_call_and_a_timeout_failure(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    sim.configure(latency_s=1.0)
    samples = _batch(6, 1, 1)  # 6 distinct requests, all sent at once
    batch = _score(_pack(tmp_path, sim, RUBRIC.format(extra="timeout_s = 0.3")), samples)

    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary, abandoned=True)
    assert summary["judge_call_failures"] == {"timeout": 6}
    assert summary["judge_calls"] == 6
    assert all(r.components["review"].error_kind == "timeout" for r in batch.results)


def test_cascade_check_orders_with_one_order_failing_keeps_both_calls(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    sim.configure(server_error_rate=0.3, seed=2)
    samples = _batch(32, 1, 1)  # 32 distinct samples, no repeats
    batch = _score(_pack(tmp_path, sim, CASCADE.format(), "max_retries = 0\n"
                         "circuit_failure_threshold = 1000"), samples)

    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary)
    assert summary["judge_failures"] > 0
    failed = [r for r in batch.results if r.components["review"].error is not None]
    assert failed
    # a failed sample's row counts both of its first judge's orders
    assert all(r.components["review"].measurements["judge_calls"] >= 2 for r in failed)


CRITERIA = """criteria = [{ id = "correct", pass_if = "The answer is right." },
            { id = "polite", pass_if = "The answer is polite." }]"""

#: Every judge type that de-duplicates, as a component table (pairwise ``group`` is
#: checked with its own module's tests).
JUDGES = {
    "rubric": f"""type = "rubric-judge"
include_prompt = true
{CRITERIA}""",
    "cascade": f"""type = "cascade-judge"
include_prompt = true
first = {{ model = "openai.gpt-oss-20b-1:0" }}
second = {{ model = "openai.gpt-oss-120b-1:0" }}
band = [0.0, 0.6]
{CRITERIA}""",
    "jury": f"""type = "jury-judge"
include_prompt = true
jurors = [{{ model = "judge-a" }}, {{ model = "judge-b" }}, {{ model = "judge-c" }}]
{CRITERIA}""",
    "pairwise-reference": """type = "pairwise-judge"
mode = "reference"
include_prompt = true""",
    "listwise": f"""type = "listwise-judge"
include_prompt = true
orders = 2
{CRITERIA}""",
    "trajectory": f"""type = "rubric-judge"
scope = "trajectory"
include_prompt = true
{CRITERIA}""",
    "turn": f"""type = "rubric-judge"
scope = "turn"
{CRITERIA}""",
}


def _with_reference(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "reference_answer": "The answer is 2."} for s in samples]


def _trajectories(count: int, distinct: int) -> list[dict[str, Any]]:
    return [{**tj.openai_chat(final=f"Refund {k % distinct} for NW-100200 is on its way."),
             "id": f"t{k}"} for k in range(count)]


@pytest.mark.parametrize("judge", sorted(JUDGES))
@pytest.mark.parametrize("faults", [
    {"malformed_rate": 1.0}, {"server_error_rate": 0.3, "malformed_rate": 0.3, "seed": 1},
])
def test_every_judge_type_with_repeats_and_failing_calls_sums_to_the_telemetry(
    tmp_path: Path, sim: CountingConverse, judge: str, faults: dict[str, Any],
) -> None:
    sim.configure(**faults)
    samples = (_trajectories(24, 3) if judge in {"trajectory", "turn"}
               else _with_reference(_batch(4, 8, 3)))
    component = f'[[components]]\nid = "review"\n{JUDGES[judge]}\n'
    batch = _score(_pack(tmp_path, sim, component, "max_retries = 0\n"
                         "circuit_failure_threshold = 1000"), samples)

    summary = assert_rows_match_telemetry(batch)
    assert_server_agrees(sim, summary)
    assert summary["judge_failures"] > 0
    if judge != "listwise":  # listwise shows a group's repeated responses once: no repeats
        assert summary["deduplicated"] > 0


def test_calls_refused_by_an_open_circuit_are_failed_calls_shared_like_any_other(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    sim.configure(server_error_rate=1.0)
    path = _pack(tmp_path, sim, RUBRIC.format(extra=""),
                 "max_retries = 0\ncircuit_failure_threshold = 2\ncircuit_cooldown_s = 0.2")
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    try:
        scorer.score(_batch(2, 1, 1))  # two failures: the circuit opens
        sent = sim.request_count
        batch = scorer.score(_batch(6, 8, 3, seed=9))
    finally:
        scorer.close()

    summary = assert_rows_match_telemetry(batch)
    # the probe sent after the cooldown fails, and every waiting call with circuit_open
    assert sim.request_count - sent == summary["judge_attempts"]
    assert summary["judge_call_failures"]["circuit_open"] > 0
    assert summary["judge_failures"] == summary["judge_calls"]
    assert summary["judge_calls"] + summary["deduplicated"] == 48
    assert summary["deduplicated"] > 0


def test_a_stopped_run_counts_the_calls_it_abandoned(
    tmp_path: Path, sim: CountingConverse,
) -> None:
    # Ctrl-C in `rewardsmith score` stops the stream: what was in flight is cancelled.
    sim.configure(latency_s=1.0)
    path = _pack(tmp_path, sim, RUBRIC.format(extra=""), "max_concurrency = 4")
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    try:
        run = scorer.stream(_batch(6, 8, 3))
        first = next(run)  # the first verdicts are in; 4 more calls are in flight
        run.stop()
        rest = list(run)
        telemetry = run.telemetry
    finally:
        scorer.close()

    assert run.stopped and telemetry is not None
    summary = telemetry.summary()
    assert_server_agrees(sim, summary, abandoned=True)
    assert summary["judge_call_failures"].get("deadline", 0) > 0
    answered = summary["judge_calls"] - summary["judge_failures"]
    # the rows delivered carry the calls answered, and shared answers only
    rows = [first, *rest]
    assert sum(r.components["review"].measurements.get("judge_calls", 0)
               for r in rows) == answered
    assert sum(r.components["review"].measurements.get("deduplicated", 0)
               for r in rows) == summary["deduplicated"]
