# Multilingual claims: their non-ASCII letters and punctuation are the point.
# ruff: noqa: RUF001
"""Agent checks on real trajectories: efficiency, premature answers, turn budget, task
success from the final state, claims backed by the tool log; tool-call validity per turn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.plugins.checks.conftest import build_check
from tests.support import trajectories as tj
from tests.support.trajectories import LOOKUP, REFUND

from rewardsmith import Scorer, load_pack
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.sample import parse_sample
from rewardsmith.plugins.checks.agent import (
    PrematureAnswer,
    TaskSuccess,
    ToolClaims,
    ToolEfficiency,
    TurnBudget,
)

DONE = "Your refund R-9 for NW-100200 is on its way."
GOOD = [("", [LOOKUP]), ("", [REFUND]), (DONE, [])]


def _score(cls, raw, **config):
    return build_check(cls, **config).score(parse_sample(raw, 0))


def test_efficiency_clean_run_scores_one() -> None:
    score = _score(ToolEfficiency, tj.chat(GOOD), max_calls=3)
    assert (score.value, score.passed) == (1.0, True)
    assert score.measurements == {"calls": 2, "over_budget": 0, "repeats": 0,
                                  "ignored_errors": 0}


def test_efficiency_calls_over_budget() -> None:
    other = ("lookup_order", {"order_id": "NW-100201"}, "{}", False)
    third = ("lookup_order", {"order_id": "NW-100202"}, "{}", False)
    score = _score(ToolEfficiency, tj.chat([("", [LOOKUP, other, third]), ("", [REFUND]),
                                            (DONE, [])]), max_calls=2, per_extra_call=0.25)
    assert score.value == pytest.approx(0.5) and score.measurements["over_budget"] == 2


def test_efficiency_repeated_identical_calls() -> None:
    loop = [("", [LOOKUP])] * 4 + [(DONE, [])]
    score = _score(ToolEfficiency, tj.chat(loop), max_calls=10)
    assert score.measurements["repeats"] == 3 and score.value == 0.0


def test_efficiency_ignored_tool_error() -> None:
    failed = ("refund_order", REFUND[1], '{"error": "payment gateway"}', True)
    ignored = _score(ToolEfficiency, tj.chat([("", [LOOKUP]), ("", [failed]), (DONE, [])]),
                     max_calls=3)
    assert ignored.measurements["ignored_errors"] == 1 and ignored.value == 0.5
    owned = _score(ToolEfficiency, tj.chat([("", [LOOKUP]), ("", [failed]),
                                            ("The refund failed; I will try again.", [])]),
                   max_calls=3)
    assert owned.measurements["ignored_errors"] == 0
    retried = _score(ToolEfficiency, tj.chat([("", [LOOKUP]), ("", [failed]), ("", [REFUND]),
                                              (DONE, [])]), max_calls=3)
    assert retried.measurements["ignored_errors"] == 0


def test_premature_answer() -> None:
    cfg = {"required_tools": ["lookup_order"]}
    assert _score(PrematureAnswer, tj.chat(GOOD), **cfg).value == 1.0
    early = _score(PrematureAnswer, tj.chat([(DONE, [])]), **cfg)
    assert early.value == 0.0 and "turn 0 answered before using lookup_order" in early.rationale
    failed_lookup = ("lookup_order", LOOKUP[1], "timeout", True)
    assert _score(PrematureAnswer, tj.chat([("", [failed_lookup]), (DONE, [])]),
                  **cfg).value == 0.0
    assert _score(PrematureAnswer, tj.chat([("", [failed_lookup]), (DONE, [])]),
                  require_success=False, **cfg).value == 1.0


@pytest.mark.parametrize(("turns", "why"), [
    ([("", [LOOKUP]), ("", [REFUND])], "turn 1 ends on tool calls"),
    ([("", [LOOKUP]), ("", [REFUND]), ("", [])], "turn 2 is blank"),
    ([("", [LOOKUP]), ("", [REFUND]), (" \n ", [])], "turn 2 is blank"),
])
def test_no_final_answer_is_not_a_pass(turns, why) -> None:
    cfg = {"required_tools": ["lookup_order"]}
    score = _score(PrematureAnswer, tj.chat(turns), **cfg)
    assert (score.value, score.passed) == (0.0, False)
    assert score.rationale == f"no final answer: {why}"
    assert _score(PrematureAnswer, tj.chat(turns), require_answer=False, **cfg).value == 1.0


@pytest.mark.parametrize(("turns", "value"), [(3, 1.0), (4, 0.5), (5, 0.0), (9, 0.0)])
def test_turn_budget(turns: int, value: float) -> None:
    raw = tj.chat([("", [LOOKUP])] * (turns - 1) + [(DONE, [])])
    assert _score(TurnBudget, raw, max_turns=3, falloff=2).value == value


STATE_CHECKS = [{"path": "orders.NW-100200.status", "op": "eq", "value": "refunded"},
                {"path": "refunds[].order_id", "op": "contains", "reference": "order_id"},
                {"path": "refunds[].amount", "op": "le", "value": 50},
                {"path": "tickets", "op": "missing"}]


@pytest.mark.parametrize(("state", "all_value", "share"), [
    ({"orders": {"NW-100200": {"status": "refunded"}},
      "refunds": [{"order_id": "NW-100200", "amount": 42.5}]}, 1.0, 1.0),
    ({"orders": {"NW-100200": {"status": "delivered"}}, "refunds": [], "tickets": [1]},
     0.0, 0.0),
    ({"orders": {"NW-100200": {"status": "refunded"}},
      "refunds": [{"order_id": "NW-100200", "amount": 99}]}, 0.0, 0.75),
])
def test_task_success_from_the_final_state(state, all_value: float, share: float) -> None:
    raw = tj.chat(GOOD, final_state=state, reference_answer={"order_id": "NW-100200"})
    assert _score(TaskSuccess, raw, checks=STATE_CHECKS).value == all_value
    assert _score(TaskSuccess, raw, checks=STATE_CHECKS, mode="share").value == share


def test_task_success_without_a_final_state_is_missing_context() -> None:
    with pytest.raises(ComponentError, match="no final_state") as info:
        _score(TaskSuccess, tj.chat(GOOD), checks=STATE_CHECKS[:1])
    assert info.value.kind == "missing_context"


def test_task_success_config_is_strict() -> None:
    with pytest.raises(ValueError, match="op"):
        build_check(TaskSuccess, checks=[{"path": "a", "op": "eval", "value": 1}])
    with pytest.raises(ValueError, match="extra"):
        build_check(TaskSuccess, checks=[{"path": "a", "op": "eq", "code": "x"}])


def test_claims_must_be_backed_by_the_tool_log() -> None:
    cfg = {"claims": [{"pattern": r"refund\w*\b.{0,40}\b(on its way|issued|processed)",
                       "tool": "refund_order"}]}
    assert _score(ToolClaims, tj.chat(GOOD), **cfg).value == 1.0
    unbacked = _score(ToolClaims, tj.chat([("", [LOOKUP]), (DONE, [])]), **cfg)
    assert unbacked.value == 0.0 and "without a successful refund_order call" in \
        unbacked.rationale
    failed = ("refund_order", REFUND[1], "declined", True)
    assert _score(ToolClaims, tj.chat([("", [LOOKUP]), ("", [failed]), (DONE, [])]),
                  **cfg).value == 0.0
    with pytest.raises(ValueError, match="invalid regular expression"):
        build_check(ToolClaims, claims=[{"pattern": "(", "tool": "x"}])


def test_agent_checks_declare_trajectory_scope() -> None:
    for cls in (ToolEfficiency, TurnBudget):
        check = build_check(cls, **({"max_calls": 1} if cls is ToolEfficiency
                                    else {"max_turns": 1}))
        assert check.config.scope == "trajectory"
    with pytest.raises(ValueError, match="scope"):
        build_check(TurnBudget, max_turns=1, scope="turn")


def test_tool_call_validity_per_turn(tmp_path) -> None:
    """The existing tool-call-valid check, scope = 'turn': one value per turn."""
    pack = tmp_path / "p.toml"
    pack.write_text("""
[pack]
name = "per-turn"
version = "1"

[[components]]
id = "calls"
type = "tool-call-valid"
scope = "turn"
""")
    bad = ("lookup_order", {"order_id": "100200"}, "{}", False)
    raw = tj.chat([("", [LOOKUP]), ("", [bad]), (DONE, [])])
    scorer = Scorer(load_pack(pack))
    try:
        (result,) = scorer.score([raw]).results
    finally:
        scorer.close()
    assert result.components["calls"].turn_values == [1.0, 0.0, 1.0]
    assert result.turn_rewards == (1.0, 0.0, 1.0)
    assert result.reward == pytest.approx(2 / 3)


def test_a_retry_after_an_error_is_not_a_repeat() -> None:
    failed = ("lookup_order", LOOKUP[1], "timeout", True)
    score = _score(ToolEfficiency, tj.chat([("", [failed]), ("", [LOOKUP]), (DONE, [])]),
                   max_calls=3)
    assert score.measurements["repeats"] == 0 and score.value == 1.0


def test_docs_quote_the_real_malformed_trajectory_message() -> None:
    # docs/agents.md shows this run's output; turn numbers count from 0 like messages[i].
    root = Path(__file__).resolve().parents[3]
    with (root / "examples/rollouts/support-agent.jsonl").open(encoding="utf-8") as f:
        sample = json.loads(f.readline())
    sample["messages"][3]["tool_call_id"] = "nope"
    scorer = Scorer(load_pack(str(root / "examples/agents/support-agent-checks.toml")))
    try:
        [result] = scorer.score([sample]).results
    finally:
        scorer.close()
    assert result.error == ("sample #0 (id='refund-damaged'): messages[3]: tool result for call "
                            "'nope', but turn 0 made no call with that id (malformed trajectory)")
    assert result.error in (root / "docs/agents.md").read_text(encoding="utf-8")



REFUND_ACTION = {"claims": [{"action": "refund", "tool": "refund_order"}]}

# (language, a refund claimed as done, the same refund negated or only offered)
CLAIMS = [
    ("en", "Your refund has been issued.", "The refund was not issued."),
    ("es", "He emitido el reembolso completo del pedido NW-100200; llegará en 3-5 días.",
     "Lamentablemente no se ha emitido el reembolso."),
    ("fr", "Le remboursement a été effectué.", "Votre remboursement n'a pas été effectué."),
    ("de", "Die Erstattung wurde veranlasst.", "Die Erstattung wurde nicht veranlasst."),
    ("pt", "O reembolso foi processado.", "O reembolso não foi processado."),
    ("it", "Il rimborso è stato effettuato.", "Il rimborso non è stato effettuato."),
    ("nl", "De terugbetaling is verwerkt.", "De terugbetaling is niet verwerkt."),
    ("ru", "Возврат средств оформлен.", "Возврат не оформлен."),
    ("sr", "Povrat novca je izvršen.", "Povrat novca nije izvršen."),
    ("tr", "İade işleminiz tamamlandı.", "İade edilmedi."),
    ("id", "Pengembalian dana telah diproses.", "Pengembalian dana belum diproses."),
    ("vi", "Đã hoàn tiền cho đơn hàng.", "Chưa hoàn tiền cho đơn hàng."),
    ("zh", "退款已处理，3-5天到账。", "退款未成功。"),
    ("ja", "返金処理が完了しました。", "返金できませんでした。"),
    ("ko", "환불 처리되었습니다.", "환불이 처리되지 않았습니다."),
    ("ar", "تم استرداد المبلغ.", "لم يتم استرداد المبلغ."),
    ("hi", "रिफंड कर दिया गया है।", "रिफंड नहीं हुआ।"),
    ("th", "คืนเงินเรียบร้อยแล้ว", "ยังไม่ได้คืนเงิน"),
    ("bn", "রিফান্ড দেওয়া হয়েছে।", "রিফান্ড দেওয়া হয়নি।"),
]


@pytest.mark.parametrize(("lang", "claim", "negated"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_refund_claims_in_every_supported_language(lang: str, claim: str, negated: str) -> None:
    unbacked = _score(ToolClaims, tj.chat([("", [LOOKUP]), (claim, [])]), **REFUND_ACTION)
    assert (unbacked.value, unbacked.passed) == (0.0, False)
    assert f"({lang}) without a successful refund_order call" in unbacked.rationale
    backed = _score(ToolClaims, tj.chat([("", [LOOKUP]), ("", [REFUND]), (claim, [])]),
                    **REFUND_ACTION)
    assert backed.value == 1.0
    assert _score(ToolClaims, tj.chat([("", [LOOKUP]), (negated, [])]),
                  **REFUND_ACTION).value == 1.0


def test_claim_config_needs_exactly_one_of_pattern_or_action() -> None:
    with pytest.raises(ValueError, match="exactly one of 'pattern' or 'action'"):
        build_check(ToolClaims, claims=[{"tool": "refund_order"}])
    with pytest.raises(ValueError, match="exactly one of 'pattern' or 'action'"):
        build_check(ToolClaims, claims=[{"pattern": "x", "action": "refund", "tool": "t"}])
    with pytest.raises(ValueError, match="unknown action 'refnd'"):
        build_check(ToolClaims, claims=[{"action": "refnd", "tool": "t"}])


@pytest.mark.parametrize(("answer", "reward"), [
    ("He emitido el reembolso completo del pedido NW-100200; llegará en 3-5 días.", 0.0),
    ("Your refund has been issued.", 0.0),
    ("退款已为您办理完成。", 0.0),
    ("Order NW-100200 was delivered on November 24.", 1.0),
])
def test_support_agent_gates_an_unbacked_claim_in_any_language(answer: str,
                                                               reward: float) -> None:
    # The tester's case: a lookup, no refund_order call, no final_state.
    raw = tj.openai_chat(answer)
    raw["messages"] = raw["messages"][:4] + raw["messages"][-1:]
    root = Path(__file__).resolve().parents[3]
    scorer = Scorer(load_pack(str(root / "examples/agents/support-agent-checks.toml")))
    try:
        [result] = scorer.score([raw]).results
    finally:
        scorer.close()
    assert result.reward == reward
    assert result.components["claims"].passed is (reward == 1.0)
