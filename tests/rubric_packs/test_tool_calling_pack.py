"""The built-in tool-calling pack: it validates without a judge, and on the example
rollouts every correct call outscores every defective one of the same prompt, each defect
caught by the component written for it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.suites import ROLLOUTS_DIR, read_jsonl

from rewardsmith import Scorer, load_pack
from rewardsmith.core.wire import jsonl_row

ROLLOUTS = ROLLOUTS_DIR / "tool-calling.jsonl"
COMPONENTS = [
    ("injection", "injection"), ("unicode", "unicode-hygiene"), ("call", "tool-call-valid"),
    ("repetition", "repetition"), ("fields", "reference-match"), ("envelope", "json-schema"),
    ("call_only", "regex"), ("length", "length"),
]
GATED = {
    "order-2-bad_wrong_tool": ("call", 0.1), "order-3-bad_id_pattern": ("call", 0.1),
    "order-4-bad_injection": ("injection", 0.0), "meeting-3-bad_duration_text": ("call", 0.1),
    "meeting-4-bad_looping_title": ("repetition", 0.2),
    "portland-3-bad_zero_width": ("unicode", 0.2), "portland-4-bad_no_call": ("call", 0.1),
}
GOOD = ["weather-1-good", "weather-2-good_with_think", "order-1-good", "meeting-1-good",
        "portland-1-good"]


def _results() -> dict[str, Any]:
    batch = Scorer(load_pack("tool-calling")).score(read_jsonl(ROLLOUTS))
    return {r.id: r for r in batch.results}


def test_pack_validates_and_needs_no_judge() -> None:
    pack = load_pack("tool-calling")
    assert [(c.config.id, c.config.type) for c in pack.components] == COMPONENTS
    assert [c.config.id for c in pack.components if c.config.gate] == [
        "injection", "unicode", "call", "repetition"]
    assert not any(getattr(c, "uses_judge", False) for c in pack.components)
    weights = {c.config.id: c.config.weight for c in pack.components if not c.config.gate}
    assert weights == {"fields": 6, "envelope": 1, "call_only": 2, "length": 1}


def test_example_rollouts_are_four_groups_of_four() -> None:
    rows = read_jsonl(ROLLOUTS)
    assert len(rows) == 16 and len({r["id"] for r in rows}) == 16
    assert len({str(r["messages"][:2]) for r in rows}) == 4
    for row in rows:
        assert row["tools"] and set(row["reference_answer"]) == {"name", "arguments"}


def test_good_calls_beat_defective_ones_in_every_group() -> None:
    results = _results()
    rewards = {rid: r.reward for rid, r in results.items()}
    for rid, (gate, reward) in GATED.items():
        assert (results[rid].status, results[rid].gate) == ("gated", gate), rid
        assert rewards[rid] == reward
    for rid in GOOD:
        assert rewards[rid] == pytest.approx(1.0), jsonl_row(results[rid])
    for rid, reward in rewards.items():
        if "-bad" in rid:
            group = rid.split("-", 1)[0]
            assert all(reward < rewards[g] for g in GOOD if g.startswith(group + "-")), rid


def test_each_ungated_defect_is_caught_by_its_component() -> None:
    results = _results()
    units = results["weather-3-bad_wrong_units"].components
    assert units["fields"].value == pytest.approx(0.75)
    assert units["fields"].details["mismatched"] == ["arguments.units"]
    hour = results["meeting-2-bad_wrong_hour"].components
    assert hour["fields"].details["mismatched"] == ["arguments.start"]
    city = results["portland-2-bad_wrong_city"].components
    assert city["fields"].details["mismatched"] == ["arguments.city"]
    padded = results["weather-4-bad_padded"].components
    assert padded["fields"].value == 1.0  # the call itself is right ...
    assert padded["call_only"].value == 0.0 and padded["length"].value < 0.5  # ... the prose is not
    assert results["weather-4-bad_padded"].reward < 0.75


def test_a_call_to_an_undeclared_tool_is_named_in_the_rationale() -> None:
    row = read_jsonl(ROLLOUTS)[0]
    row = {**row, "id": "undeclared", "messages": [*row["messages"][:2], {
        "role": "assistant",
        "content": '<tool_call>{"name": "get_forecast", "arguments": {"city": "Lyon"}}'
                   "</tool_call>"}]}
    result = Scorer(load_pack("tool-calling")).score([row]).results[0]
    assert (result.status, result.gate, result.reward) == ("gated", "call", 0.1)
    assert "unknown tool" in result.components["call"].rationale
    assert "get_weather" in result.components["call"].rationale


_LIST_STORES = {"type": "function", "function": {
    "name": "list_stores", "description": "List the stores.",
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}}


def _no_args_row(rid: str, assistant: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "messages": [{"role": "user", "content": "Which stores are open?"},
                                    {"role": "assistant", **assistant}],
            "tools": [_LIST_STORES],
            "reference_answer": {"name": "list_stores", "arguments": {}}}


@pytest.mark.parametrize("body", [
    '{"name": "list_stores"}', '{"name": "list_stores", "arguments": null}',
    '{"name": "list_stores", "arguments": ""}', '{"name": "list_stores", "arguments": "  "}',
    '{"name": "list_stores", "arguments": "{}"}', '{"name": "list_stores", "arguments": {}}',
])
def test_blank_arguments_of_a_text_call_mean_no_arguments_for_every_component(body) -> None:
    # Issue 9: a text call with missing/null/""/"{}" arguments scored 0.3 (fields and
    # envelope read the raw arguments) where the structured form scored 1.0.
    text = _no_args_row("text", {"content": f"<tool_call>{body}</tool_call>"})
    structured = _no_args_row("structured", {"content": "", "tool_calls": [{
        "id": "c1", "type": "function",
        "function": {"name": "list_stores", "arguments": ""}}]})
    results = Scorer(load_pack("tool-calling")).score([text, structured]).results
    assert [r.reward for r in results] == [1.0, 1.0]
    assert {cid: c.value for cid, c in results[0].components.items()} == {
        cid: c.value for cid, c in results[1].components.items()}


def test_an_envelope_with_extra_keys_is_still_judged_after_blank_arguments() -> None:
    row = _no_args_row("extra", {"content": '<tool_call>{"name": "list_stores", '
                                            '"arguments": "", "why": "asked"}</tool_call>'})
    result = Scorer(load_pack("tool-calling")).score([row]).results[0]
    assert result.components["envelope"].value == 0.0
    assert result.components["fields"].value == 1.0
