"""HTTP cassettes: recorded through the proxy in front of a live OpenAI-compatible server
(here the loopback simulator), replayed by the replay server to the real openai backend."""

from __future__ import annotations

from pathlib import Path

import httpx

from rewardsmith.core.wire import REWARD_KEY
from rewardsmith.judgemodel.cassette import RecordingProxy, ReplayServer, load_cassette
from rewardsmith.judgemodel.scenarios import plumbing_problems, run_judge_pack
from rewardsmith.simulators import OpenAISimulator


def test_a_recorded_run_replays_to_the_same_rewards(
    tmp_path: Path, openai_simulator: OpenAISimulator,
) -> None:
    openai_simulator.script("malformed")  # a malformed reply and its repair are recorded too
    cassette = tmp_path / "cs.jsonl"
    with RecordingProxy(openai_simulator.base_url, cassette) as proxy:
        live = run_judge_pack(tmp_path / "live", proxy.base_url, "customer-support",
                              "json_schema")
    recorded = load_cassette(cassette)
    assert len(recorded) == openai_simulator.request_count == live.telemetry["judge_attempts"]
    assert live.telemetry["judge_repairs"] == 1
    assert plumbing_problems(live) == []
    with ReplayServer(cassette) as server:
        replayed = run_judge_pack(tmp_path / "replay", server.base_url, "customer-support",
                                  "json_schema")
    assert server.misses == [] and server.served == len(recorded)
    assert [r[REWARD_KEY] for r in replayed.rows] == [r[REWARD_KEY] for r in live.rows]
    assert replayed.telemetry["judge_repairs"] == 1


def test_a_request_missing_from_the_cassette_is_a_loud_404(tmp_path: Path) -> None:
    cassette = tmp_path / "empty.jsonl"
    cassette.write_text("", encoding="utf-8")
    with ReplayServer(cassette) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "judge"})
    assert response.status_code == 404
    assert "no recorded exchange" in response.json()["error"]["message"]
    assert server.misses == [{"model": "judge"}]
