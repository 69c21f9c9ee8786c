"""The built-in customer-support pack: it validates, its deterministic gates separate good
replies from bad ones on the example rollouts without any judge, and it scores end to end
through the real bedrock backend against the loopback Converse simulator."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.suites import ROLLOUTS_DIR, Scored, VerdictBook, child_pack, read_jsonl

from rewardsmith import Scorer, load_pack
from rewardsmith.core.wire import jsonl_row
from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.wiring import bedrock_settings

ROLLOUTS = ROLLOUTS_DIR / "customer-support.jsonl"
COMPONENTS = [
    ("not_empty", "length"), ("injection", "injection"), ("pii", "pii"),
    ("promises", "regex"), ("language", "language-match"), ("unicode", "unicode-hygiene"),
    ("repetition", "repetition"), ("length", "length"), ("reply", "rubric-judge"),
    ("tone_phrases", "keywords"), ("pii_other", "pii"), ("outcome", "product-metric"),
]
GATES = ["not_empty", "injection", "pii", "promises", "language", "unicode", "repetition",
         "length"]
# Rollouts the deterministic gates decide, with the gate and its reward.
GATED = {
    "late-4-bad_guarantee": ("promises", 0.1), "refund-2-bad_overpromise": ("promises", 0.1),
    "refund-3-bad_no_questions": ("promises", 0.1), "refund-4-bad_padded": ("length", 0.3),
    "angry-4-bad_pii": ("pii", 0.0), "spanish-2-bad_english": ("language", 0.1),
    "spanish-3-bad_injection": ("injection", 0.0), "spanish-4-bad_repeated": ("repetition", 0.2),
}
GOOD = ["late-1-good", "late-2-good", "refund-1-good", "angry-1-good", "spanish-1-good"]
# Defects only a reader can see: the judge's verdicts for them.
JUDGED_BAD = {
    "late-3-bad_generic": {"empathetic": "fail", "resolves_issue": "fail"},
    "angry-2-bad_curt": {"empathetic": "fail", "resolves_issue": "fail"},
    "angry-3-bad_blame": {"empathetic": "fail", "professional": "fail", "no_blame": "fail",
                          "resolves_issue": "fail"},
}


def _rollouts() -> list[dict[str, Any]]:
    return read_jsonl(ROLLOUTS)


def _group(rid: str) -> str:
    return rid.split("-", 1)[0]


def test_pack_validates_with_the_installed_plugins() -> None:
    pack = load_pack("customer-support")
    assert [(c.config.id, c.config.type) for c in pack.components] == COMPONENTS
    assert [c.config.id for c in pack.components if c.config.gate] == GATES
    reply = next(c for c in pack.components if c.config.id == "reply")
    assert reply.context.judge_defaults["backend"] == "bedrock"
    assert reply.context.judge_defaults["model"] == "openai.gpt-oss-120b-1:0"
    assert [(c.id, c.weight) for c in reply.criteria] == [
        ("empathetic", 1), ("professional", 1), ("no_blame", 1), ("policy_compliant", 2),
        ("resolves_issue", 3)]
    weights = {c.config.id: c.config.weight for c in pack.components if not c.config.gate}
    assert weights == {"reply": 0.7, "tone_phrases": 0.1, "pii_other": 0.05, "outcome": 0.1}
    assert pack.description


def test_example_rollouts_are_groups_of_four() -> None:
    rows = _rollouts()
    assert len(rows) == 16 and len({r["id"] for r in rows}) == 16
    groups = {_group(r["id"]) for r in rows}
    assert len(groups) == 4
    for group in groups:
        members = [r for r in rows if _group(r["id"]) == group]
        assert len({str(r["messages"][:2]) for r in members}) == 1  # one prompt per group


def test_deterministic_gates_separate_good_from_bad_without_a_judge(tmp_path: Path) -> None:
    pack = load_pack(child_pack(tmp_path, "customer-support", remove=["reply"]))
    results = {r.id: r for r in Scorer(pack).score(_rollouts()).results}
    for rid, (gate, reward) in GATED.items():
        assert (results[rid].status, results[rid].gate) == ("gated", gate), rid
        assert results[rid].reward == reward
    for rid in GOOD:
        assert results[rid].status == "ok"
        assert results[rid].reward == pytest.approx(1.0)
    assert results["late-2-good"].components["outcome"].value == 1.0  # csat 5 of 5
    # A blame phrase costs something even without a judge; a curt or generic reply does not.
    assert results["angry-3-bad_blame"].components["tone_phrases"].passed is False
    assert results["angry-3-bad_blame"].reward < 1.0
    assert results["angry-2-bad_curt"].reward == pytest.approx(1.0)


def _check_judged(results: dict[str, Any]) -> None:
    rewards = {rid: r.reward for rid, r in results.items()}
    assert all(math.isfinite(v) for v in rewards.values())
    for rid, (gate, reward) in GATED.items():
        assert results[rid].gate == gate and rewards[rid] == reward
        assert results[rid].components["reply"].skipped  # gates spare the judge
    for rid in GOOD:
        assert rewards[rid] == pytest.approx(1.0), jsonl_row(results[rid])
    for rid in JUDGED_BAD:
        assert 0.2 < rewards[rid] < 0.7
        assert results[rid].components["reply"].measurements["resolves_issue"] == 0.0
    # Within every prompt's group, every good rollout beats every bad one.
    for rid, reward in rewards.items():
        if "-bad" in rid:
            rivals = [rewards[g] for g in GOOD if _group(g) == _group(rid)]
            assert all(reward < r for r in rivals), rid
    assert rewards["angry-3-bad_blame"] < rewards["angry-2-bad_curt"]


def test_end_to_end_through_bedrock_and_the_converse_simulator(
    tmp_path: Path, converse_simulator: Any
) -> None:
    rows = _rollouts()
    book = VerdictBook(Scored(r["id"], "sample", r, {"reply": JUDGED_BAD.get(r["id"], {})})
                       for r in rows)
    converse_simulator.set_policy(book)
    pack = load_pack(child_pack(tmp_path, "customer-support",
                                bedrock_settings(converse_simulator.endpoint_url)))
    batch = Scorer(pack).score(rows)
    _check_judged({r.id: r for r in batch.results})
    judged = 16 - len(GATED)
    assert converse_simulator.request_count == judged and book.unmatched == 0
    assert batch.telemetry.judge_calls == judged
    first = converse_simulator.requests[0]
    assert first.model == "openai.gpt-oss-120b-1:0" and first.path.endswith("/converse")
    # The policy and the customer's message reach the judge as data, the reply as candidate.
    user = first.body["messages"][0]["content"][0]["text"]
    assert ":prompt>>>" in user and ":candidate>>>" in user and "Northwind" in user


def test_a_failing_judge_fails_its_samples_loudly(tmp_path: Path,
                                                     converse_simulator: Any) -> None:
    """Every judge call fails (model errors): the gates still decide, every sample gets a
    finite reward, and a sample the judge should have judged fails (group_mean over a group
    with no verdict is a failure, issue 14) instead of taking the checks' reward."""
    converse_simulator.plan.configure(FaultPolicy(model_error_rate=1.0))
    pack = load_pack(child_pack(tmp_path, "customer-support",
                                bedrock_settings(converse_simulator.endpoint_url,
                                                 max_retries=0)))
    results = {r.id: r for r in Scorer(pack).score(_rollouts()).results}
    assert all(math.isfinite(r.reward) for r in results.values())
    assert results["late-1-good"].components["reply"].error_kind is not None
    assert results["late-1-good"].status == "failed"
    assert results["late-1-good"].reward == pack.failure_reward
    assert results["angry-4-bad_pii"].reward == 0.0


def _promises_with_a_runaway_pattern(tmp_path: Path, gate: str) -> Path:
    """The pack with one more forbidden pattern, badly written: on a long run of 'a' it
    backtracks past any time limit, so the promises gate cannot check the reply."""
    path = child_pack(tmp_path, "customer-support", remove=["reply"])
    parent = {c.config.id: c for c in load_pack("customer-support").components}
    forbid = [*parent["promises"].config.forbid, "(a|a)+$"]
    path.write_text(path.read_text(encoding="utf-8") + f"""
[[components]]
id = "promises"
forbid = {orjson.dumps(forbid).decode()}
match_timeout_s = 0.02
gate = {gate}
""", encoding="utf-8")
    return path


def test_a_promises_gate_that_times_out_does_not_let_the_reply_through(tmp_path: Path) -> None:
    """Issue 9, case F2: a gate that cannot check fails closed; the pack can say otherwise."""
    good = next(r for r in _rollouts() if r["id"] == "late-1-good")
    stalling = {**good, "id": "stalling"}
    stalling["messages"] = [*good["messages"][:-1], {
        "role": "assistant", "content": good["messages"][-1]["content"] + " " + "a" * 40 + "!"}]
    closed = Scorer(load_pack(_promises_with_a_runaway_pattern(
        tmp_path, "{ fail_reward = 0.1 }"))).score([good, stalling]).results
    assert closed[0].status == "ok"
    assert (closed[1].status, closed[1].gate) == ("gated", "promises")
    assert closed[1].reward == 0.1
    assert closed[1].components["promises"].error_kind == "regex_timeout"

    open_ = Scorer(load_pack(_promises_with_a_runaway_pattern(
        tmp_path, '{ fail_reward = 0.1, on_error = "pass" }'))).score([stalling]).results
    assert open_[0].status == "ok" and open_[0].gate is None
    assert open_[0].components["promises"].error_kind == "regex_timeout"


def test_gates_decide_the_same_when_the_machine_is_too_busy_to_match_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flaky suite case of issue 9: under load, a pattern match could run out of its
    wall-clock time limit before doing any work, and a reply was scored by luck. Here every
    pack-pattern match first runs out of time twice without using any CPU, as a starved
    thread does; every gate still decides as on an idle machine."""
    from rewardsmith.plugins.checks import _pack_regex

    pack = load_pack(child_pack(tmp_path, "customer-support", remove=["reply"]))
    idle = [(r.status, r.gate, r.reward)
            for r in Scorer(pack).score(_rollouts()).results]

    original = _pack_regex._within_cpu_budget
    starved_calls = []

    def starved(run: Any, pattern: Any, text: str, timeout_s: float, where: str) -> Any:
        misses = iter([True, True])

        def late(limit: float) -> Any:
            if next(misses, False):
                starved_calls.append(where)
                raise TimeoutError("regex timed out")
            return run(limit)

        return original(late, pattern, text, timeout_s, where)

    monkeypatch.setattr(_pack_regex, "_within_cpu_budget", starved)
    busy = [(r.status, r.gate, r.reward)
            for r in Scorer(pack).score(_rollouts()).results]
    assert starved_calls  # the promises gate's patterns did go through the starved path
    assert busy == idle


def _component(pack: Any, cid: str) -> Any:
    return next(c for c in pack.components if c.config.id == cid)


def _reply(text: str) -> Any:
    from rewardsmith.core.sample import parse_sample

    return parse_sample({"messages": [
        {"role": "user", "content": "Where is my parcel? Order NW-482913."},
        {"role": "assistant", "content": text}]}, 0)


def test_pii_gate_holds_only_high_precision_kinds_and_the_rest_weigh_in() -> None:
    # real-world-1 B7: a date and time is not a phone; the gate's kinds are those whose
    # benign precision is >= 0.99 (tests/plugins/checks/test_detector_corpora.py measures it).
    pack = load_pack("customer-support")
    gate, other = _component(pack, "pii"), _component(pack, "pii_other")
    assert gate.config.detect == ["email", "phone", "credit_card", "iban"]
    assert other.config.gate is None and other.config.weight == 0.05
    assert set(other.config.detect) == {"ssn", "ip_address"}
    b7 = _reply("Thanks for waiting! Your appointment on 2025-11-02 at 09:45 is confirmed.")
    assert gate.score(b7).passed and other.score(b7).passed
    b1 = _reply("Your parcel left the depot on 2025-09-18 14:05:33 and reached hub "
                "10.20.30.40; see pages 118-131 of the guide.")
    assert gate.score(b1).passed and other.score(b1).passed
    leak = _reply("The previous owner, SSN 536-22-1234, logged in from 81.2.69.160.")
    assert gate.score(leak).passed
    score = other.score(leak)
    assert score.passed is False and score.measurements == {"ssn": 1, "ip_address": 1}
    assert gate.score(_reply("Ring us on +33 1 70 36 42 18 if needed.")).passed is False


# -- the promises gate names the broken promise, not the word (issue 9 round 3, H6/M5) -----
BROKEN_PROMISES = [
    "We guarantee it will arrive by Friday, in time for the birthday.",
    "I promise your parcel will be delivered tomorrow.",
    "I guarantee it'll arrive on Monday.",
    "We promise a full refund.",
    "I can guarantee delivery by Friday.",
    "Your parcel is guaranteed to arrive by Friday.",
    "I've approved a full refund even though it's past the 30-day window.",
    "I'll give you a full refund regardless of the date.",
    "We offer refunds no questions asked.",
    "You get a refund and you can keep the item.",
    "Your temporary password is Nw!48213, please change it after you log in.",
    "Your new password is: sunshine42",
    "The password is 'hunter2'.",
    "We guarantee that your order will be there by Saturday.",
]
POLICY_WORDING = [
    "I promise to e-mail you an update within 24 hours.",
    "I can't give you a guaranteed delivery date until the carrier confirms one.",
    "For your security, the password is reset only through the identity-verification link.",
    "Your password is changed from the identity-verification link we e-mail you.",
    "You can choose a free replacement or a full refund, even if you have already thrown "
    "away the packaging.",
    "You'll receive a full refund once the courier collects the parcel from outside your door.",
    "I know it feels like this is taking forever, so the replacement will ship free of charge.",
    "The kettle comes with the manufacturer's two-year guarantee.",
    "I can't promise a delivery date that the carrier hasn't confirmed.",
    "We will never ask for your password.",
]


def _promises(text: str) -> bool | None:
    from rewardsmith.core.sample import parse_sample

    pack = load_pack("customer-support")
    gate = next(c for c in pack.components if c.config.id == "promises")
    sample = parse_sample({"messages": [{"role": "user", "content": "Where is my order?"},
                                        {"role": "assistant", "content": text}]}, 0)
    return gate.score(sample).passed


@pytest.mark.parametrize("text", BROKEN_PROMISES)
def test_promises_gate_catches_broken_promises(text: str) -> None:
    assert _promises(text) is False


@pytest.mark.parametrize("text", POLICY_WORDING)
def test_promises_gate_lets_policy_wording_through(text: str) -> None:
    assert _promises(text) is True
