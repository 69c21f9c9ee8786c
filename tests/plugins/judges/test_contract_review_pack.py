"""The built-in contract-review pack: it validates with the installed plugins, and its
example rollouts score as the case study expects — through an in-process judge and end to
end through the real bedrock backend against the loopback Converse simulator."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.judges import contract_review_verdict, policy_host

from rewardsmith import Scorer, load_pack
from rewardsmith.core.results import BatchResult
from rewardsmith.core.wire import jsonl_row
from rewardsmith.simulators.wiring import bedrock_settings

ROLLOUTS = Path(__file__).parents[3] / "examples" / "rollouts" / "contract-review.jsonl"
COMPONENTS = [
    ("json", "json-valid"), ("injection", "injection"), ("comment_schema", "json-schema"),
    ("grounded_clauses", "grounding"), ("repetition", "repetition"),
    ("unicode", "unicode-hygiene"), ("length", "length"), ("review", "rubric-judge"),
]
GOOD = ["saas-1-good", "nda-1-good", "lease-1-good", "lease-4-good_with_think",
        "consulting-1-good"]
GATED = {"saas-2-invalid_json": ("json", 0.0), "saas-4-injection": ("injection", 0.0),
         "lease-2-schema_invalid": ("comment_schema", 0.1),
         # a verdict smuggled inside a JSON string: the injection gate reads through it
         "consulting-2-fake_verdict": ("injection", 0.0)}


def _rollouts() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in ROLLOUTS.read_text(encoding="utf-8").splitlines()]


def _toml_value(value: Any) -> str:
    return orjson.dumps(value).decode() if isinstance(value, str) else repr(value).lower() \
        if isinstance(value, bool) else repr(value)


def _child_pack(tmp_path: Path, judge: dict[str, Any]) -> Path:
    """A pack extending contract-review with another [judge] table, as a user would."""
    lines = ["[pack]", 'name = "contract-review-test"', 'version = "1"',
             'extends = "contract-review"', "", "[judge]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in judge.items()]
    path = tmp_path / "child.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _by_id(batch: BatchResult) -> dict[str, Any]:
    return {r.id: r for r in batch.results}


def test_pack_validates_with_the_installed_plugins() -> None:
    pack = load_pack("contract-review")
    assert [(c.config.id, c.config.type) for c in pack.components] == COMPONENTS
    assert [c.config.id for c in pack.components if c.config.gate] == [
        "json", "injection", "comment_schema"]
    review = pack.components[-1]
    assert review.context.judge_defaults["backend"] == "bedrock"
    assert review.context.judge_defaults["model"] == "openai.gpt-oss-120b-1:0"
    assert review.context.judge_defaults["max_concurrency"] == 100
    assert [c.id for c in review.criteria] == ["relies_on_contract", "agrees_with_reference",
                                                "actionable"]
    assert pack.hash.startswith("sha256:")


def test_example_rollouts_are_four_groups_of_four() -> None:
    rows = _rollouts()
    assert len(rows) == 16
    assert len({r["id"] for r in rows}) == 16
    prompts = {orjson.dumps(r["messages"][:2]) for r in rows}
    assert len(prompts) == 4
    for row in rows:
        assert row["contract"] in row["messages"][1]["content"]
        assert row["reference_answer"]["comments"]


def _check_rewards(batch: BatchResult) -> dict[str, float]:
    results = _by_id(batch)
    rewards = {rid: r.reward for rid, r in results.items()}
    assert all(math.isfinite(v) for v in rewards.values())
    for rid, (gate, reward) in GATED.items():
        assert results[rid].status == "gated" and results[rid].gate == gate
        assert rewards[rid] == reward
        assert results[rid].components["review"].skipped
    for rid in GOOD:
        assert rewards[rid] == pytest.approx(1.0), jsonl_row(results[rid])
    defects = ["saas-3-hallucinated", "nda-2-repeated", "nda-3-strange_unicode",
               "nda-4-not_actionable", "lease-3-disagrees",
               "consulting-3-hallucinated_mixed_script"]
    assert max(rewards[d] for d in defects) < min(rewards[g] for g in GOOD)
    # The defect each rollout was written to show is the component that caught it.
    component = {rid: r.components for rid, r in results.items()}
    assert component["saas-3-hallucinated"]["grounded_clauses"].value == 0.0
    assert component["saas-3-hallucinated"]["review"].measurements["relies_on_contract"] == 0.0
    assert component["nda-2-repeated"]["repetition"].value < 1.0
    assert component["nda-3-strange_unicode"]["unicode"].value < 1.0
    assert component["nda-4-not_actionable"]["review"].measurements["actionable"] == 0.0
    assert component["lease-3-disagrees"]["review"].measurements[
        "agrees_with_reference"] == 0.0
    assert component["consulting-3-hallucinated_mixed_script"]["unicode"].value < 1.0
    return rewards


def test_rollouts_score_as_the_case_study_expects(tmp_path: Path) -> None:
    host, recorder = policy_host(lambda request: contract_review_verdict(request.user),
                                 entry_points=True)
    pack = load_pack(_child_pack(tmp_path, {"backend": "policy"}), host)
    batch = Scorer(pack).score(_rollouts())
    _check_rewards(batch)
    assert len(recorder.requests) == 16 - len(GATED)  # gates spare the judge
    assert {r.system for r in recorder.requests} == {recorder.requests[0].system}


def test_end_to_end_through_bedrock_and_the_converse_simulator(
    tmp_path: Path, converse_simulator: Any
) -> None:
    converse_simulator.set_policy(lambda request: contract_review_verdict(request.last_user_text))
    pack = load_pack(_child_pack(tmp_path, bedrock_settings(converse_simulator.endpoint_url)))
    scorer = Scorer(pack)
    try:
        batch = scorer.score(_rollouts(), timeout_s=60)
    finally:
        scorer.close()
    rewards = _check_rewards(batch)
    assert converse_simulator.request_count == 16 - len(GATED)
    assert batch.telemetry.judge_calls == 16 - len(GATED)
    assert batch.telemetry.input_tokens > 0
    review = _by_id(batch)["saas-1-good"].components["review"]
    assert review.measurements["input_tokens"] > 0
    assert review.details["criteria"]["actionable"]["verdict"] == "pass"

    # The same verdict policy behind the in-process backend gives the same rewards.
    host, _ = policy_host(lambda request: contract_review_verdict(request.user),
                          entry_points=True)
    local = Scorer(load_pack(_child_pack(tmp_path, {"backend": "policy"}), host))
    assert _check_rewards(local.score(_rollouts())) == rewards


def test_judge_outage_fails_every_judged_rollout_with_a_finite_reward(
    tmp_path: Path, converse_simulator: Any
) -> None:
    converse_simulator.set_policy(lambda request: contract_review_verdict(request.last_user_text))
    converse_simulator.configure(server_error_rate=1.0)
    pack = load_pack(_child_pack(tmp_path, bedrock_settings(converse_simulator.endpoint_url,
                                                            max_retries=1)))
    scorer = Scorer(pack)
    try:
        batch = scorer.score(_rollouts(), timeout_s=60)
    finally:
        scorer.close()
    assert len(batch.results) == 16
    for result in batch.results:
        assert math.isfinite(result.reward)
        review = result.components["review"]
        if result.status == "gated":
            continue
        # No peer succeeded: group_mean has nothing to borrow, and the checks alone must not
        # make the reward (issue 14), so the sample fails with the pack's failure reward.
        assert result.status == "failed", result
        assert result.reward == pack.failure_reward
        assert review.error_kind in {"judge_unavailable", "circuit_open"}
        assert review.policy == "group_mean" and review.value is None
    assert _by_id(batch)["saas-1-good"].status == "failed"
