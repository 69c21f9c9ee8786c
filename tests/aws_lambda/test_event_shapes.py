"""Every event shape the RFT trainers and tools send, and every malformed event we could
think of: the answer always validates against the Nova Forge result model, one result
per input id, in input order, ids echoed as given."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from tests.support.aws_lambda import FakeContext, metrics_of, sample, validate_answer

from rewardsmith import Scorer
from rewardsmith.aws_lambda import extract_samples, make_handler, wire_id


@pytest.fixture
def handler(basic_scorer: Any) -> Any:
    return make_handler(basic_scorer)


def _batch() -> list[dict[str, Any]]:
    return [sample("a", "ok"), sample("b", "not ok"), sample("c", "")]


EXPECTED = {"a": 1.0, "b": 0.0, "c": 0.0}


@pytest.mark.parametrize("wrap", [
    pytest.param(lambda b: b, id="array"),
    pytest.param(lambda b: {"samples": b}, id="samples"),
    pytest.param(lambda b: {"data": b}, id="data"),
    pytest.param(lambda b: {"inputs": b}, id="inputs"),
    pytest.param(lambda b: {"instances": b}, id="instances"),
    pytest.param(lambda b: {"batch": b}, id="batch"),
    pytest.param(lambda b: {"body": b}, id="body-list"),
    pytest.param(lambda b: {"body": json.dumps(b)}, id="body-json-string"),
    pytest.param(lambda b: {"body": json.dumps({"samples": b}), "headers": {}}, id="apigw"),
    pytest.param(lambda b: {"body": base64.b64encode(json.dumps(b).encode()).decode(),
                            "isBase64Encoded": True}, id="apigw-base64"),
    pytest.param(json.dumps, id="json-string"),
    pytest.param(lambda b: json.dumps(b).encode(), id="json-bytes"),
    pytest.param(lambda b: [json.dumps(s) for s in b], id="json-string-items"),
    pytest.param(tuple, id="tuple"),
])
def test_wrapped_batches_score_like_the_plain_array(handler: Any, wrap: Any) -> None:
    # A short remaining time (less than the default 2 s margin): the minimum budget
    # still scores the batch, and the answer arrives before the deadline.
    context = FakeContext(1500)
    out = handler(wrap(_batch()), context)
    assert time.monotonic() < context.deadline
    validate_answer(out, ["a", "b", "c"])
    assert {r["id"]: r["aggregate_reward_score"] for r in out} == EXPECTED


def test_single_object_gets_a_list_of_one(handler: Any) -> None:
    out = handler(sample(7, "ok"), {})
    validate_answer(out, [7])
    assert out[0]["aggregate_reward_score"] == 1.0


def test_sample_level_shapes(handler: Any) -> None:
    events = [
        sample("top", "ok"),  # reference at top level (SageMaker / Nova Forge)
        sample("meta", "ok", reference=None, metadata={"reference_answer": "ok"}),  # Bedrock
        sample("nova", "ok", role="nova_assistant"),
        sample("blocks", [{"reasoningContent": {"reasoningText": {"text": "hmm"}}},
                          {"text": "o"}, {"text": "k"}]),
        sample("object-ref", '{"a":1}', reference={"a": 1}),
    ]
    out = handler(events, FakeContext())
    validate_answer(out, ["top", "meta", "nova", "blocks", "object-ref"])
    assert all(r["aggregate_reward_score"] == 1.0 for r in out), out
    assert metrics_of(out[3])["match.chars"] == 2.0  # the two text blocks, not the reasoning


def test_component_rewards_and_measurements_in_nova_shape(handler: Any) -> None:
    out = handler([sample("x", "ok")], FakeContext())
    metrics = {(m["name"], m["type"]): m["value"] for m in out[0]["metrics_list"]}
    assert metrics[("nonempty", "Reward")] == 1.0
    assert metrics[("match", "Reward")] == 1.0
    assert metrics[("match.chars", "Metric")] == 2.0
    assert metrics[("components_failed", "Metric")] == 0.0
    assert metrics[("deadline_abandoned", "Metric")] == 0.0


class Unserialisable:
    def __str__(self) -> str:
        return "custom-id"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.parametrize(("event", "why"), [
    (None, "null"),
    ("not json at all", "string that is not valid JSON"),
    ("", "string that is not valid JSON"),
    (42, "is a int"),
    (3.5, "is a float"),
    (True, "is a bool"),
    ({"foo": 1, "bar": [1, 2]}, "object with 2 keys and no samples"),
    ({"Records": [{"body": "{}"}]}, "event-source batch"),
    ({"body": "{not json"}, "not valid JSON"),
    ({"body": "@@@", "isBase64Encoded": True}, "not valid base64 JSON"),
    ({"body": {"body": {"body": {"body": {"body": {"body": []}}}}}}, "levels deep"),
    (b"\xff\xfe\x00binary", "not valid JSON"),
    ((i for i in range(3)), "is a generator"),
    ({1, 2, 3}, "is a set"),
])
def test_events_without_samples_get_an_empty_list(handler: Any, event: Any, why: str) -> None:
    extracted = extract_samples(event)
    assert extracted.items == []
    assert extracted.error is not None and why in extracted.error
    assert handler(event, FakeContext()) == []


def test_a_sample_with_a_data_field_is_not_a_wrapper(handler: Any) -> None:
    # No messages, but an id and a dataset field that happens to be called "data".
    out = handler({"id": "k2", "data": "free text", "inputs": 3}, FakeContext())
    validate_answer(out, ["k2"])
    assert metrics_of(out[0])["sample_failed"] == 1.0


def test_garbage_items_each_get_a_failure_reward_in_place(handler: Any) -> None:
    nan = float("nan")
    big = 2**80
    items: list[Any] = [
        None,
        17,
        "plain text",
        ["a", "list"],
        {"messages": "not a list"},
        {"id": "k"},  # no messages
        {"id": "no-assistant", "messages": [{"role": "user", "content": "hi"}]},
        {"id": Unserialisable(), "messages": sample(0, "ok")["messages"],
         "reference_answer": "ok"},
        {"id": Unprintable(), "messages": 5},
        {"id": nan, "messages": 5},
        {"id": big, "messages": 5},
        {"id": {"nested": [1, 2]}, "messages": 5},
        {"id": "bytes", "messages": [{"role": "assistant", "content": b"\x00\xff"}]},
        {"id": "obj-meta", "messages": sample(0, "ok")["messages"], "reference_answer": "ok",
         "metadata": {"weird": object()}},
        {"id": "bad-block", "messages": [{"role": "assistant", "content": [object()]}]},
        {"id": "huge", "messages": [{"role": "assistant", "content": "x" * 1_200_000}]},
        {"id": "binary", "messages": [{"role": "assistant", "content": "\x00\x01\ufffd\udcff"}],
         "reference_answer": "\x00\x01\ufffd\udcff"},
        sample("good", "ok"),
    ]
    context = FakeContext(1500)
    out = handler(items, context)
    assert time.monotonic() < context.deadline
    expected_ids = [0, 1, 2, 3, 4, "k", "no-assistant", "custom-id", "<unprintable Unprintable>",
                    "nan", big, {"nested": [1, 2]}, "bytes", "obj-meta", "bad-block", "huge",
                    "binary", "good"]
    validate_answer(out, expected_ids)
    by_id = {json.dumps(r["id"]): r for r in out}
    assert by_id['"good"']["aggregate_reward_score"] == 1.0
    assert by_id['"custom-id"']["aggregate_reward_score"] == 1.0
    assert by_id['"obj-meta"']["aggregate_reward_score"] == 1.0
    for key in ("0", "1", "2", "3", '"k"', '"huge"', '"bytes"', '"bad-block"'):
        assert by_id[key]["aggregate_reward_score"] == 0.0
        assert metrics_of(by_id[key])["sample_failed"] == 1.0
    # Surrogates are not valid UTF-8, yet the answer must still serialise (it did above).
    assert by_id['"binary"']["aggregate_reward_score"] in (0.0, 1.0)


def test_wire_id_keeps_serialisable_ids_and_stringifies_the_rest() -> None:
    assert wire_id("a") == "a"
    assert wire_id(3) == 3
    assert wire_id(None) is None
    assert wire_id([1, {"k": "v"}]) == [1, {"k": "v"}]
    assert wire_id(float("inf")) == "inf"
    assert wire_id({1, 2}) in ("{1, 2}", "{2, 1}")
    assert wire_id(Unserialisable()) == "custom-id"


class BrokenEngine(Scorer):
    """An engine with a bug: scoring raises."""

    def score(self, samples: Any, *, timeout_s: float | None = None) -> Any:
        raise RuntimeError("engine bug")


def test_an_engine_that_raises_still_gets_an_answer(basic_scorer: Any,
                                                    captured_emf: Any) -> None:
    handler = make_handler(BrokenEngine(basic_scorer.pack), failure_reward=0.0)
    out = handler([sample("a", "ok"), {"bad": 1}], FakeContext())
    validate_answer(out, ["a", 1])
    assert all(metrics_of(r)["engine_error"] == 1.0 for r in out)
    (emf,) = captured_emf()
    assert emf["EngineError"] == 1.0 and emf["DeadlineHit"] == 0.0


def test_key_names_of_a_rejected_object_never_reach_the_log() -> None:
    from rewardsmith.aws_lambda import extract_samples

    extracted = extract_samples({"SECRET-SAMPLE-TEXT-7f3a": 1})
    assert extracted.items == []
    assert "SECRET-SAMPLE-TEXT-7f3a" not in (extracted.error or "")
