"""Record a run's judge exchanges, replay them offline: same rewards, no network."""

from __future__ import annotations

import json

import orjson
import pytest

from rewardsmith.core.pack import load_pack
from rewardsmith.packtest.cassette import CASSETTE_MISS, Cassette
from rewardsmith.packtest.loading import load_pack_suite
from rewardsmith.packtest.runner import run_suite
from rewardsmith.packtest.suite import SuiteError
from rewardsmith.simulators.converse_sim import ConverseSimulator


def _rewards(report):
    return {c.name: c.rewards for c in report.cases}


def test_replay_reproduces_rewards_without_any_request(tmp_path, host):
    cassette = tmp_path / "contract-review.cassette.jsonl"
    pack = load_pack("contract-review", host)
    cases, _ = load_pack_suite(pack)
    recorded = run_suite(pack, cases, backend="simulator", record=cassette)
    assert recorded.passed
    entries = [orjson.loads(line) for line in cassette.read_text().splitlines()]
    assert entries and all(len(e["key"]) == 64 for e in entries)
    assert recorded.cassette["entries"] == len(entries)

    # A simulator is running and the pack points at it: replay must not call it.
    with ConverseSimulator() as sim:
        replay_pack = load_pack("contract-review", host)
        replay_pack.backends.overrides.update(endpoint_url=sim.endpoint_url,
                                              region="us-east-1")
        replayed = run_suite(replay_pack, cases, backend="pack", replay=cassette)
        assert sim.request_count == 0
    assert replayed.passed
    assert _rewards(replayed) == _rewards(recorded)  # exactly, not approximately
    assert replayed.cassette["misses"] == [] and replayed.cassette["stale"] == []
    assert replayed.cassette["used"] == len(entries)
    # Costs come from the recorded replies (what the calls cost when they were made).
    assert replayed.judges["cost_per_sample_usd"] > 0


def test_a_missing_entry_fails_the_case_naming_the_key_and_stale_ones_are_listed(
        tmp_path, host, run_cli):
    cassette = tmp_path / "c.jsonl"
    assert run_cli("contract-review", "--backend", "simulator", "--record", str(cassette),
                   "--case", "saas-good-review", "--case", "nda-good-review").exit_code == 0
    lines = cassette.read_text().splitlines()
    assert len(lines) == 2
    dropped = orjson.loads(lines[0])
    stale = {**orjson.loads(lines[1]), "key": "0" * 64}
    cassette.write_text(lines[1] + "\n" + json.dumps(stale) + "\n")

    # The endpoint refuses connections: a fallback to the network would show as an error
    # kind other than cassette_miss.
    result = run_cli("contract-review", "--replay", str(cassette), "--json",
                     "--case", "saas-good-review", "--case", "nda-good-review")
    report = json.loads(result.output)
    assert result.exit_code == 1
    failed = [c for c in report["cases"] if not c["passed"]]
    assert len(failed) == 1
    assert any(dropped["key"] in f and "cassette miss" in f for f in failed[0]["failures"])
    assert report["cassette"]["misses"] == [dropped["key"]]
    assert report["cassette"]["stale"] == ["0" * 64]
    assert report["judges"]["components"]["review"]["errors"] == {CASSETTE_MISS: 1}


def test_cassette_problems_are_config_errors(tmp_path, run_cli):
    result = run_cli("contract-review", "--replay", str(tmp_path / "none.jsonl"))
    assert result.exit_code == 2 and "does not exist" in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"key": "k", "reply": {}}\nnot json\n')
    result = run_cli("contract-review", "--replay", str(broken))
    assert result.exit_code == 2 and f"{broken}:2" in result.output
    with pytest.raises(SuiteError, match="exclude each other"):
        run_suite(None, [], record=broken, replay=broken)  # type: ignore[arg-type]


def test_cassette_round_trip_keeps_the_reply(tmp_path):
    from rewardsmith.core.judge import JudgeReply

    cassette = Cassette()
    cassette.entries["k"] = {"key": "k", "reply": {"text": "{}", "parsed": {"a": 1},
                                                   "input_tokens": 3, "cost_usd": 0.5}}
    path = cassette.save(tmp_path / "x.jsonl")
    reply = Cassette.load(path).get("k")
    assert isinstance(reply, JudgeReply)
    assert (reply.parsed, reply.input_tokens, reply.cost_usd) == ({"a": 1}, 3, 0.5)


def test_recorded_judge_failures_replay_as_the_same_failures(tmp_path, host):
    from .conftest import sample, write_suite

    cases_file = write_suite(tmp_path / "pack", [
        {"kind": "golden", "name": "garbled", "sample": sample("Use a wrench."),
         "expect": {}, "verdicts": {"review": {"malformed": True}, "cmp": {"winner": "B"}}},
        {"kind": "golden", "name": "fine", "sample": sample("Call a plumber."),
         "expect": {}, "verdicts": {"cmp": {"winner": "A"}}},
    ])
    cassette = tmp_path / "c.jsonl"
    pack = load_pack(str(cases_file), host)
    cases, _ = load_pack_suite(pack)
    recorded = run_suite(pack, cases, backend="simulator", record=cassette)
    errors = [orjson.loads(line).get("error") for line in cassette.read_text().splitlines()]
    assert [e["kind"] for e in errors if e] == ["judge_parse"]

    replayed = run_suite(load_pack(str(cases_file), host), cases, replay=cassette)
    assert _rewards(replayed) == _rewards(recorded)
    assert replayed.judges["components"]["review"]["errors"] == {"judge_parse": 1}
    assert replayed.judges["parse_failure_rate"] == recorded.judges["parse_failure_rate"] > 0
