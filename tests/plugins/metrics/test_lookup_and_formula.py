"""Lookup and formula sources, scored end to end through a real pack and Scorer."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import PackError

ACCEPTED = """
[[components]]
id = "accepted"
type = "product-metric"
metric = "accepted"
source = { kind = "lookup", path = "outcomes.accepted" }
transform = { kind = "threshold", threshold = 1 }
on_error = "neutral"
neutral_value = 0.25
"""


def test_lookup_reads_booleans_and_numbers_from_metadata(score_with, make_sample):
    batch = score_with(ACCEPTED, [
        make_sample("a", outcomes={"accepted": True}),
        make_sample("b", outcomes={"accepted": False}),
        make_sample("c", outcomes={"accepted": 1}),
    ])
    assert batch.rewards == [1.0, 0.0, 1.0]
    first = batch.results[0]
    assert first.components["accepted"].passed is True
    assert {"name": "accepted.accepted", "value": 1.0, "type": "Metric"} in first.metrics_list()


def test_missing_metadata_is_metric_missing_and_the_policy_applies(score_with, make_sample):
    batch = score_with(ACCEPTED, [
        make_sample("none"),
        make_sample("null", outcomes={"accepted": None}),
        make_sample("other", outcomes={"shown": True}),
        make_sample("ok", outcomes={"accepted": True}),
    ])
    assert batch.rewards == [0.25, 0.25, 0.25, 1.0]
    outcome = batch.results[0].components["accepted"]
    assert outcome.error_kind == "metric_missing"
    assert "metadata.outcomes.accepted" in (outcome.error or "")
    assert outcome.policy == "neutral"
    assert batch.summary()["failures"]["metric_missing"] == 3


def test_lookup_default_replaces_a_missing_value(score_with, make_sample):
    pack = ACCEPTED.replace('path = "outcomes.accepted"',
                            'path = "outcomes.accepted", default = 0')
    batch = score_with(pack, [make_sample("none"), make_sample("y", outcomes={"accepted": 1})])
    assert batch.rewards == [0.0, 1.0]
    assert batch.results[0].components["accepted"].error is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("yes", "str 'yes', not a number"), ([1], "list"), ({"v": 1}, "dict")],
)
def test_non_numeric_metadata_is_metric_invalid(score_with, make_sample, value, fragment):
    batch = score_with(ACCEPTED, [make_sample("x", outcomes={"accepted": value})])
    outcome = batch.results[0].components["accepted"]
    assert outcome.error_kind == "metric_invalid"
    assert fragment in (outcome.error or "")


def test_lookup_indexes_lists_and_keys_with_dots(score_with, make_sample):
    components = """
    [[components]]
    id = "second"
    type = "product-metric"
    source = { kind = "lookup", path = "scores.1" }
    transform = { kind = "identity" }

    [[components]]
    id = "dotted"
    type = "product-metric"
    source = { kind = "lookup", path = ["kpi", "p95.latency"] }
    transform = { kind = "linear", lo = 1000, hi = 0 }
    """
    batch = score_with(components, [
        make_sample("a", scores=[0.1, 0.8], kpi={"p95.latency": 250}),
    ])
    comps = batch.results[0].components
    assert comps["second"].value == pytest.approx(0.8)
    assert comps["dotted"].value == pytest.approx(0.75)


LATENCY = """
[[components]]
id = "speed"
type = "product-metric"
metric = "latency_score"
transform = { kind = "linear", lo = 50, hi = 10 }

[components.source]
kind = "formula"
inputs = { latency = "telemetry.latency_ms", tokens = "telemetry.tokens" }
expression = "latency / max(tokens, 1)"
"""


def test_formula_over_metadata_inputs_keeps_the_raw_value_when_clipped(score_with, make_sample):
    batch = score_with(LATENCY, [
        make_sample("fast", telemetry={"latency_ms": 300, "tokens": 30}),   # 10 ms/token
        make_sample("mid", telemetry={"latency_ms": 900, "tokens": 30}),    # 30 ms/token
        make_sample("slow", telemetry={"latency_ms": 9000, "tokens": 30}),  # 300 ms/token
    ])
    assert batch.rewards == pytest.approx([1.0, 0.5, 0.0])
    slow = batch.results[2]
    assert slow.components["speed"].measurements["latency_score"] == pytest.approx(300.0)
    assert {"name": "speed.latency_score", "value": 300.0, "type": "Metric"} in \
        slow.metrics_list()


def test_formula_missing_input_and_defaults(score_with, make_sample):
    batch = score_with(LATENCY, [make_sample("x", telemetry={"latency_ms": 300})])
    outcome = batch.results[0].components["speed"]
    assert outcome.error_kind == "metric_missing"
    assert "input 'tokens' (metadata.telemetry.tokens)" in (outcome.error or "")

    with_default = LATENCY.replace('expression =', 'defaults = { tokens = 10 }\nexpression =')
    batch = score_with(with_default, [make_sample("x", telemetry={"latency_ms": 300})])
    assert batch.results[0].components["speed"].measurements["latency_score"] == 30.0


def test_formula_division_by_zero_is_metric_invalid(score_with, make_sample):
    components = """
    [[components]]
    id = "ratio"
    type = "product-metric"
    source = { kind = "formula", inputs = { a = "a", b = "b" }, expression = "a / b" }
    transform = { kind = "identity" }
    """
    batch = score_with(components, [make_sample("x", a=1, b=0), make_sample("y", a=1, b=4)])
    assert batch.results[0].components["ratio"].error_kind == "metric_invalid"
    assert batch.results[1].components["ratio"].value == 0.25


@pytest.mark.parametrize(
    ("expression", "message"),
    [("latency / tokenz", "'tokenz', which is not an input; inputs: latency, tokens"),
     ("__import__(latency)", "calls '__import__'"),
     ("latency.real", "Attribute is not allowed"),
     ("latency +", "is not valid")],
)
def test_formula_errors_are_caught_at_pack_load(pack_from, expression, message):
    components = LATENCY.replace('"latency / max(tokens, 1)"', f'"{expression}"')
    with pytest.raises(PackError) as info:
        pack_from(components)
    text = str(info.value)
    assert "id='speed'" in text
    assert message in text
