"""The real-judge suite (issue 14): each judge pack in every structured-output mode, a
pairwise comparison in both orders, and ``packs test`` on one pack, through the real
``openai`` backend.

- ``real_judge``-marked tests run live against the pinned 0.5B model behind llama-server
  (skipped, with the reason, when no server is available: building it does not fit CI).
- The replay tests run in every CI run against the cassettes recorded from that model
  (``bench/real_judge.py --record``), malformed replies included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardsmith.judgemodel.cassette import RecordingProxy, ReplayServer, load_cassette
from rewardsmith.judgemodel.scenarios import (
    JUDGE_PACKS,
    MODES,
    plumbing_problems,
    run_judge_pack,
    run_packs_test,
    run_pairwise,
)

CASSETTES = Path(__file__).resolve().parent / "cassettes"


def _cassette(name: str) -> Path:
    path = CASSETTES / f"{name}.jsonl"
    if not path.exists():
        # Said, not hidden: -ra lists it. The live run of issue 14 did not reach every
        # scenario in its time (bench/RESULTS.md names the missing ones).
        pytest.skip(f"cassette {path.name} not recorded yet: record it with "
                    "`python bench/real_judge.py --record` against the real judge")
    return path


def _check_both_orders(exchanges: list[dict], samples: int) -> None:
    firsts = [e for e in exchanges if len(e["request"]["messages"]) <= 2]  # no repair turns
    assert len(firsts) == 2 * samples  # every comparison asked twice
    texts = [e["request"]["messages"][-1]["content"] for e in firsts]
    for text in texts:
        assert "response_a" in text and "response_b" in text
    # each asked order has its mirror: the candidate once in each slot
    assert len(set(texts)) == len(texts)


# -- replayed in every run ------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pack", JUDGE_PACKS)
def test_replayed_judge_pack(tmp_path: Path, pack: str, mode: str) -> None:
    path = _cassette(f"{pack}--{mode}")
    with ReplayServer(path) as server:
        run = run_judge_pack(tmp_path, server.base_url, pack, mode)
    assert server.misses == [], "the requests changed since the cassette was recorded"
    assert plumbing_problems(run) == []
    assert server.served == run.telemetry["judge_attempts"]


def test_replayed_pairwise_both_orders(tmp_path: Path) -> None:
    path = _cassette("pairwise--json_schema")
    with ReplayServer(path) as server:
        run = run_pairwise(tmp_path, server.base_url)
    assert server.misses == []
    assert plumbing_problems(run) == []
    _check_both_orders(load_cassette(path), samples=1)
    for row in run.rows:
        measured = row["components"]["cmp"].get("measurements") or {}
        if not row["components"]["cmp"].get("error_kind"):
            assert 0.0 <= measured["position_inconsistency"] <= 1.0


def test_replayed_packs_test(tmp_path: Path) -> None:
    path = _cassette("packs-test--json_schema")
    with ReplayServer(path) as server:
        report = run_packs_test(tmp_path, server.base_url)
    assert server.misses == []
    assert report.judge_outages == {}
    assert report.judges["components"]["review"]["scored"] == 1
    assert json.dumps(report.to_json())  # the JSON report is whole


# -- live, when the real judge is there --------------------------------------------------------
@pytest.mark.real_judge
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pack", JUDGE_PACKS)
def test_live_judge_pack(tmp_path: Path, live_judge_url: str, pack: str, mode: str) -> None:
    run = run_judge_pack(tmp_path, live_judge_url, pack, mode)
    assert plumbing_problems(run) == []


@pytest.mark.real_judge
def test_live_pairwise_both_orders(tmp_path: Path, live_judge_url: str) -> None:
    with RecordingProxy(live_judge_url, tmp_path / "pairwise.jsonl") as proxy:
        run = run_pairwise(tmp_path, proxy.base_url)
    assert plumbing_problems(run) == []
    _check_both_orders(proxy.exchanges, samples=1)


@pytest.mark.real_judge
def test_live_packs_test(tmp_path: Path, live_judge_url: str) -> None:
    report = run_packs_test(tmp_path, live_judge_url)
    assert report.judge_outages == {}
    assert report.judges["components"]["review"]["scored"] == 1
