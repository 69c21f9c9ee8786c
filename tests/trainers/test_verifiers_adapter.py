"""The verifiers adapter: one reward function per component, with weights whose weighted
sum is the pack's reward — the same rewards ``rewardsmith score`` writes — for gated,
failed and abstaining samples too. Run inside verifiers when its classic ``Rubric`` is
installed (see bench/RESULTS.md for a recorded run with verifiers 0.1.14)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.support import trajectories as tj
from tests.support.trajectories import LOOKUP, REFUND

from rewardsmith import make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.trainers.verifiers import PackRubricFunctions, rollout_sample

PACK = """
[pack]
name = "vf-agent"
version = "1"
reward_range = [-1.0, 1.0]

[[components]]
id = "no_apology_loop"
type = "regex"
forbid = ['(?i)sorry.*sorry.*sorry']
gate = { fail_reward = -0.5 }

[[components]]
id = "calls"
type = "tool-call-valid"
scope = "turn"
weight = 1

[[components]]
id = "efficiency"
type = "tool-efficiency"
max_calls = 2
weight = 2

[[components]]
id = "outcome"
type = "task-success"
checks = [{ path = "refunded_orders", op = "eq", reference = "refunded_orders" }]
weight = 3
"""

DONE = "Refund R-9 for NW-100200 is on its way."


def _trajectories() -> list[dict[str, Any]]:
    ok = tj.chat([("", [LOOKUP]), ("", [REFUND]), (DONE, [])], sid="ok",
                 final_state={"refunded_orders": ["NW-100200"]},
                 reference_answer={"refunded_orders": ["NW-100200"]})
    loop = tj.chat([("", [LOOKUP])] * 3 + [("", [REFUND]), (DONE, [])], sid="loop",
                   final_state={"refunded_orders": []},
                   reference_answer={"refunded_orders": ["NW-100200"]})
    no_state = tj.chat([("", [LOOKUP]), (DONE, [])], sid="no-state",
                       reference_answer={"refunded_orders": []})  # outcome abstains
    gated = tj.chat([("", [LOOKUP]), ("Sorry, sorry, so sorry.", [])], sid="gated",
                    final_state={"refunded_orders": []},
                    reference_answer={"refunded_orders": []})
    return [ok, loop, no_state, gated]


def _as_rollout(sample: dict[str, Any]) -> dict[str, Any]:
    """The same trajectory as verifiers hands it to reward functions."""
    messages = sample["messages"]
    first = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return {"prompt": messages[:first], "completion": messages[first:],
            "answer": sample.get("reference_answer", ""),
            "state": {"final_state": sample.get("final_state"), "id": sample["id"]},
            "info": {"oai_tools": sample["tools"]}}


def _score_cli(pack: Path, samples: list[dict[str, Any]], tmp_path: Path) -> dict[Any, float]:
    rollouts = tmp_path / "rollouts.jsonl"
    rollouts.write_text("".join(json.dumps(s) + "\n" for s in samples))
    host = make_plugin_host()
    result = CliRunner().invoke(build_cli(host), ["score", str(rollouts), "--pack", str(pack),
                                                  "--no-summary"], obj={"host": host})
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {r["id"]: r["aggregate_reward_score"] for r in rows}


@pytest.fixture
def pack_path(tmp_path: Path) -> Path:
    path = tmp_path / "vf-agent.toml"
    path.write_text(PACK)
    return path


def test_weighted_sum_equals_rewardsmith_score(pack_path: Path, tmp_path: Path) -> None:
    samples = _trajectories()
    expected = _score_cli(pack_path, samples, tmp_path)
    functions = PackRubricFunctions(str(pack_path))
    try:
        assert [f.__name__ for f in functions.funcs] == ["no_apology_loop", "calls",
                                                         "efficiency", "outcome"]
        assert functions.weights == [0.0, 1 / 6, 2 / 6, 3 / 6]
        for sample in samples:
            rollout = _as_rollout(sample)
            values = [asyncio.run(f(**rollout)) for f in functions.funcs]
            total = sum(w * v for w, v in zip(functions.weights, values, strict=True))
            assert total == pytest.approx(expected[sample["id"]], abs=1e-12), sample["id"]
    finally:
        functions.close()
    assert expected["gated"] == -0.5 and expected["ok"] == 1.0
    assert expected["loop"] < expected["no-state"] == 1.0  # the outcome abstains there


def test_the_rollout_becomes_the_sample_it_was(pack_path: Path) -> None:
    sample = _trajectories()[0]
    raw = rollout_sample(**_as_rollout(sample))
    assert raw["messages"] == sample["messages"]
    assert raw["final_state"] == sample["final_state"]
    assert raw["reference_answer"] == sample["reference_answer"]
    assert raw["tools"] == sample["tools"] and raw["id"] == "ok"
    assert rollout_sample("hi", "hello")["messages"] == [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


def test_inside_verifiers(pack_path: Path, tmp_path: Path) -> None:
    vf = pytest.importorskip("verifiers")
    if not hasattr(vf, "Rubric"):
        pytest.skip("this verifiers has no classic Rubric (0.4 moved to verifiers.v1)")
    from rewardsmith.trainers.verifiers import pack_rubric

    samples = _trajectories()
    expected = _score_cli(pack_path, samples, tmp_path)
    rubric = pack_rubric(str(pack_path))
    try:
        states = []
        for sample in samples:
            rollout = _as_rollout(sample)
            state = {"prompt": rollout["prompt"], "completion": rollout["completion"],
                     "answer": rollout["answer"], "info": rollout["info"],
                     **rollout["state"], "trajectory": []}
            asyncio.run(rubric.score_rollout(state))
            assert state["reward"] == pytest.approx(expected[sample["id"]], abs=1e-9)
            assert set(state["metrics"]) == {"no_apology_loop", "calls", "efficiency",
                                             "outcome"}
            states.append({k: v for k, v in state.items() if k not in ("reward", "metrics")})
        asyncio.run(rubric.score_group(states))  # the whole group, as training scores it
        assert [s["reward"] for s in states] == pytest.approx(
            [expected[s["id"]] for s in samples], abs=1e-9)
    finally:
        rubric.rewardsmith.close()
