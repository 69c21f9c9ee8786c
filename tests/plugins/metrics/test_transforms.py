"""Transforms map a raw metric into [0, 1]; identity refuses to clip."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.metrics.transforms import TransformConfig

adapter: TypeAdapter[object] = TypeAdapter(TransformConfig)


def transform(**spec: object):
    return adapter.validate_python(spec)


@pytest.mark.parametrize(
    ("direction", "raw", "expected"),
    [("at_least", 0.5, (1.0, True)), ("at_least", 0.4999, (0.0, False)),
     ("at_least", 7.0, (1.0, True)), ("at_most", 0.5, (1.0, True)),
     ("at_most", 0.51, (0.0, False)), ("at_most", -3.0, (1.0, True))],
)
def test_threshold_is_inclusive_in_either_direction(direction, raw, expected):
    t = transform(kind="threshold", threshold=0.5, direction=direction)
    assert t.apply(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(100, 0.0), (50, 0.0), (200, 1.0), (150, 0.5), (125, 0.25), (10_000, 1.0)],
)
def test_linear_band_clips_outside(raw, expected):
    t = transform(kind="linear", lo=100, hi=200)
    assert t.apply(raw) == (pytest.approx(expected), None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(2000, 0.0), (5000, 0.0), (200, 1.0), (0, 1.0), (1100, 0.5)],
)
def test_linear_band_reversed_when_lower_is_better(raw, expected):
    t = transform(kind="linear", lo=2000, hi=200)
    assert t.apply(raw) == (pytest.approx(expected), None)


def test_linear_rejects_empty_band():
    with pytest.raises(ValidationError, match="lo != hi"):
        transform(kind="linear", lo=3, hi=3)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(200, (1.0, True)), (225, (0.5, True)), (175, (0.5, True)), (250, (0.0, True)),
     (251, (0.0, False)), (90, (0.0, False))],
)
def test_target_falls_linearly_to_zero_at_the_tolerance(raw, expected):
    t = transform(kind="target", target=200, tolerance=50)
    value, passed = t.apply(raw)
    assert (pytest.approx(value), passed) == expected


def test_target_with_edge_value_and_hard_zero_outside():
    soft = transform(kind="target", target=10, tolerance=2, edge_value=0.5)
    hard = transform(kind="target", target=10, tolerance=2, edge_value=0.5, outside_value=0.0)
    assert soft.apply(11) == (pytest.approx(0.75), True)
    assert soft.apply(12) == (pytest.approx(0.5), True)
    assert soft.apply(13) == (0.5, False)  # continuous: stays at the edge value
    assert hard.apply(12) == (pytest.approx(0.5), True)
    assert hard.apply(12.01) == (0.0, False)  # a hard limit


def test_target_needs_positive_tolerance():
    with pytest.raises(ValidationError, match="tolerance"):
        transform(kind="target", target=1, tolerance=0)


def test_identity_passes_values_in_range_and_refuses_to_clip():
    t = transform(kind="identity")
    assert t.apply(0.0) == (0.0, None)
    assert t.apply(0.73) == (0.73, None)
    assert t.apply(1.0) == (1.0, None)
    for bad in (1.0001, -0.2, 73.0):
        with pytest.raises(ComponentError, match="outside \\[0, 1\\]") as info:
            t.apply(bad)
        assert info.value.kind == "metric_out_of_range"


def test_unknown_transform_kind_names_the_choices():
    with pytest.raises(ValidationError) as info:
        transform(kind="sigmoid")
    assert "threshold" in str(info.value) and "identity" in str(info.value)


def test_transform_rejects_non_finite_parameters():
    with pytest.raises(ValidationError):
        transform(kind="threshold", threshold=float("nan"))
