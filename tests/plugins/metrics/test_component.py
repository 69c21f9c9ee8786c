"""The product-metric component as a pack author meets it: config errors, gates, weights."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rewardsmith.core.errors import PackError
from rewardsmith.plugins.metrics import ProductMetric


def test_config_errors_name_the_component_and_the_choices(pack_from):
    with pytest.raises(PackError) as info:
        pack_from("""
        [[components]]
        id = "m"
        type = "product-metric"
        source = { kind = "sql", query = "select 1" }
        """)
    text = str(info.value)
    assert "id='m'" in text
    assert "transform: Field required" in text
    with pytest.raises(ValidationError) as direct:
        ProductMetric.Config.model_validate(
            {"id": "m", "source": {"kind": "sql"}, "transform": {"kind": "identity"}})
    assert "'function', 'lookup', 'formula', 'http'" in str(direct.value)


@pytest.mark.parametrize("name", ["latency_ms", "failed", "two words"])
def test_metric_name_must_be_a_free_identifier(pack_from, name):
    with pytest.raises(PackError, match="metric name"):
        pack_from(f"""
        [[components]]
        id = "m"
        type = "product-metric"
        metric = "{name}"
        source = {{ kind = "lookup", path = "x" }}
        transform = {{ kind = "identity" }}
        """)


def test_threshold_metric_works_as_a_gate(score_with, make_sample):
    components = """
    [[components]]
    id = "resolved"
    type = "product-metric"
    source = { kind = "lookup", path = "ticket.resolved" }
    transform = { kind = "threshold", threshold = 1 }
    gate = { fail_reward = 0.0 }

    [[components]]
    id = "csat"
    type = "product-metric"
    metric = "csat"
    source = { kind = "lookup", path = "ticket.csat" }
    transform = { kind = "linear", lo = 1, hi = 5 }
    """
    batch = score_with(components, [
        make_sample("solved", ticket={"resolved": True, "csat": 4}),
        make_sample("unsolved", ticket={"resolved": False, "csat": 5}),
    ])
    assert batch.rewards == pytest.approx([0.75, 0.0])
    assert batch.results[1].status == "gated" and batch.results[1].gate == "resolved"
    assert batch.results[1].components["csat"].skipped


def test_weighted_with_other_metrics_and_latency_is_recorded(score_with, make_sample):
    components = """
    [[components]]
    id = "accepted"
    type = "product-metric"
    weight = 3
    source = { kind = "lookup", path = "accepted" }
    transform = { kind = "threshold", threshold = 1 }

    [[components]]
    id = "length"
    type = "product-metric"
    metric = "words"
    source = { kind = "lookup", path = "words" }
    transform = { kind = "target", target = 100, tolerance = 50 }
    """
    batch = score_with(components, [make_sample("a", accepted=True, words=125)])
    result = batch.results[0]
    assert result.aggregate_reward_score == pytest.approx((3 * 1.0 + 1 * 0.5) / 4)
    names = {m["name"] for m in result.metrics_list()}
    assert {"accepted", "accepted.raw", "length", "length.words",
            "length.latency_ms"} <= names


def test_raw_metric_is_reported_even_when_identity_rejects_it(score_with, make_sample):
    batch = score_with("""
    [[components]]
    id = "ctr"
    type = "product-metric"
    metric = "ctr"
    source = { kind = "lookup", path = "stats.ctr" }
    transform = { kind = "identity" }
    """, [make_sample("a", stats={"ctr": 7.5})])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_out_of_range"
    metrics = {m["name"]: m for m in batch.results[0].metrics_list()}
    assert metrics["ctr.ctr"] == {"name": "ctr.ctr", "value": 7.5, "type": "Metric"}
