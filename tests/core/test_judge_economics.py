"""Issue 13, fixes (1) and (5) seen through the engine: the pack's concurrency limit
composes with the judge's as documented, and a batch sends each distinct judge request
once whatever the order of its rollouts (the Converse simulator counts the calls)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.simulators import ConverseSimulator


def _pack(tmp_path: Path, sim: ConverseSimulator, *, judge_limit: int,
          pack_limit: int | None = None) -> Path:
    limit = f"max_concurrency = {pack_limit}\n" if pack_limit is not None else ""
    path = tmp_path / "pack.toml"
    path.write_text(f"""
[pack]
name = "econ"
version = "1"
{limit}
[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
region = "us-east-1"
endpoint_url = "{sim.endpoint_url}"
max_concurrency = {judge_limit}
cache_path = ""

[[components]]
id = "review"
type = "rubric-judge"
include_prompt = true
criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
""", encoding="utf-8")
    return path


def _sample(sid: str, prompt: str, response: str) -> dict[str, Any]:
    return {"id": sid, "messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": response}]}


def _score(path: Path, samples: list[dict[str, Any]]) -> Any:
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    try:
        return scorer.score(samples)
    finally:
        scorer.close()


def test_a_shuffled_batch_of_8_rollouts_per_prompt_sends_each_distinct_request_once(
    tmp_path: Path, converse_simulator: ConverseSimulator,
) -> None:
    # 12 prompts x 8 rollouts, 3 distinct answers per prompt (RL groups repeat answers),
    # shuffled; a pack limit of 4 samples in flight, so most repeats ask after their first
    # asking was answered (the case in-flight merging alone missed: 1.14-1.25x calls).
    converse_simulator.configure(latency_s=0.05)
    rng = random.Random(13)
    samples = []
    for p in range(12):
        for r in range(8):
            samples.append(_sample(f"p{p}-r{r}", f"Question {p}?", f"Answer {r % 3} to {p}."))
    rng.shuffle(samples)
    distinct = {(s["messages"][0]["content"], s["messages"][1]["content"]) for s in samples}
    assert len(distinct) == 36

    batch = _score(_pack(tmp_path, converse_simulator, judge_limit=4, pack_limit=4), samples)

    assert converse_simulator.request_count == len(distinct)
    assert batch.telemetry.judge_calls == len(distinct)
    assert batch.telemetry.deduplicated == len(samples) - len(distinct)
    assert all(r.error is None for r in batch.results)
    # Every repeat got the verdict of its first asking.
    by_pair: dict[tuple[str, str], set[float]] = {}
    for s, result in zip(samples, batch.results, strict=True):
        pair = (s["messages"][0]["content"], s["messages"][1]["content"])
        by_pair.setdefault(pair, set()).add(result.reward)
    assert all(len(rewards) == 1 for rewards in by_pair.values())


def test_a_second_batch_asks_again(tmp_path: Path,
                                   converse_simulator: ConverseSimulator) -> None:
    samples = [_sample(f"s{i}", "Q?", "Same answer.") for i in range(4)]
    path = _pack(tmp_path, converse_simulator, judge_limit=2)
    scorer = Scorer(load_pack(str(path), make_plugin_host()))
    try:
        scorer.score(samples)
        scorer.score(samples)
    finally:
        scorer.close()
    assert converse_simulator.request_count == 2  # one per batch: the memory is the batch's


def test_without_a_pack_limit_the_judges_limit_is_what_runs(
    tmp_path: Path, converse_simulator: ConverseSimulator,
) -> None:
    # The pack-level default used to be 256 and capped every judge call below the
    # judge's own max_concurrency.
    converse_simulator.configure(latency_s=2.0)
    samples = [_sample(f"s{i}", "Q?", f"Answer {i}.") for i in range(270)]
    _score(_pack(tmp_path, converse_simulator, judge_limit=300), samples)
    assert converse_simulator.request_count == 270
    assert converse_simulator.max_in_flight > 256


def test_a_lower_pack_limit_caps_the_judge(tmp_path: Path,
                                           converse_simulator: ConverseSimulator) -> None:
    converse_simulator.configure(latency_s=0.2)
    samples = [_sample(f"s{i}", "Q?", f"Answer {i}.") for i in range(32)]
    _score(_pack(tmp_path, converse_simulator, judge_limit=64, pack_limit=6), samples)
    assert converse_simulator.request_count == 32
    assert converse_simulator.max_in_flight <= 6
