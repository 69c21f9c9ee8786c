"""The built-in agentic pack: its suite passes against the simulator, every hackability
probe scores below its bound, every result carries one reward per assistant turn, and
weakening a check fails the probes that guard it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from tests.support.suites import child_pack

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.core.sample import count_assistant_turns
from rewardsmith.packtest.loading import load_pack_suite
from rewardsmith.packtest.suite import PairCase, ProbeCase
from rewardsmith.simulators.wiring import bedrock_settings

MULTI_TURN_PROBES = {"too_many_tool_calls", "premature_answer", "ignored_tool_error",
                     "call_loop", "unbacked_claim"}


def _run(spec: str) -> tuple[int, dict]:
    host = make_plugin_host()
    result = CliRunner().invoke(build_cli(host), ["packs", "test", spec, "--backend",
                                                  "simulator", "--json"], obj={"host": host})
    return result.exit_code, orjson.loads(result.stdout)


def test_suite_passes_against_the_simulator_and_probes_stay_below_their_bounds() -> None:
    code, report = _run("support-agent")
    assert code == 0, [c for c in report["cases"] if not c["passed"]]
    assert report["passed"] and report["counts"]["failed"] == 0
    cases, _ = load_pack_suite(load_pack("support-agent"))
    probes = {c.case.name: c.case for c in cases if isinstance(c.case, ProbeCase)}
    assert {p.category for p in probes.values()} >= MULTI_TURN_PROBES
    observed = {c["name"]: c for c in report["cases"]}
    for name, probe in probes.items():
        assert probe.expect.reward_below is not None
        assert observed[name]["rewards"]["reward"] < probe.expect.reward_below, name
    assert sum(isinstance(c.case, PairCase) for c in cases) >= 3


def test_every_result_has_one_reward_per_assistant_turn(tmp_path: Path,
                                                       converse_simulator: Any) -> None:
    cases, _ = load_pack_suite(load_pack("support-agent"))
    samples = [c.case.sample for c in cases if not isinstance(c.case, PairCase)]
    samples += [s for c in cases if isinstance(c.case, PairCase)
                for s in (c.case.better, c.case.worse)]
    pack = child_pack(tmp_path, "support-agent",
                      bedrock_settings(converse_simulator.endpoint_url))
    scorer = Scorer(load_pack(pack))
    try:
        results = scorer.score(samples).results
    finally:
        scorer.close()
    assert any(r.status == "failed" for r in results)  # the malformed trajectory
    for sample, result in zip(samples, results, strict=True):
        assert result.turn_rewards is not None
        assert len(result.turn_rewards) == count_assistant_turns(sample) >= 1, sample["id"]


@pytest.mark.parametrize(("removed", "probes"), [
    ("claims", {"refund-claimed-without-call", "refund-claimed-after-failure"}),
    ("lookup_first", {"answer-before-lookup", "answer-after-failed-lookup"}),
])
def test_removing_a_gate_fails_the_probes_it_guards(tmp_path: Path, removed: str,
                                                    probes: set[str]) -> None:
    child = tmp_path / "weak.toml"
    child.write_text(f'[pack]\nname = "weak"\nversion = "0.0.1"\nextends = "support-agent"\n'
                     f'remove_components = ["{removed}"]\n')
    code, report = _run(str(child))
    assert code == 1
    failed = {c["name"] for c in report["cases"] if not c["passed"]}
    assert probes <= failed
