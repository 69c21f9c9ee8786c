"""The one reader of a number at a key path that the lookup, formula and http sources share."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.plugins.metrics.values import checked_key_path, number_at, parse_key_path


def test_number_at_reads_numbers_and_booleans() -> None:
    data = {"outcome": {"csat": 4, "accepted": True, "scores": [0.5, 0.25]}}
    assert number_at(data, parse_key_path("outcome.csat"), "csat") == 4.0
    assert number_at(data, parse_key_path("outcome.accepted"), "accepted") == 1.0
    assert number_at(data, parse_key_path("outcome.scores.1"), "second") == 0.25


@pytest.mark.parametrize("data", [{}, {"outcome": None}, {"outcome": {"csat": None}}])
def test_absent_or_null_takes_the_default_even_zero(data: dict) -> None:
    assert number_at(data, parse_key_path("outcome.csat"), "csat", default=0.0) == 0.0


def test_absent_without_default_is_metric_missing_naming_where() -> None:
    with pytest.raises(ComponentError) as info:
        number_at({}, parse_key_path("a.b"), "metadata.a.b", missing_from=" from the sample")
    assert str(info.value) == "metadata.a.b is missing from the sample"
    assert info.value.kind == ErrorKind.METRIC_MISSING


def test_a_string_is_metric_invalid_not_parsed() -> None:
    with pytest.raises(ComponentError, match=r"metadata\.x is str '3', not a number") as info:
        number_at({"x": "3"}, ("x",), "metadata.x", default=1.0)
    assert info.value.kind == ErrorKind.METRIC_INVALID


def test_checked_key_path_keeps_the_written_form_or_refuses() -> None:
    assert checked_key_path("a.b") == "a.b"
    assert checked_key_path(("a.b", "c")) == ["a.b", "c"]
    with pytest.raises(ValueError, match="empty segment"):
        checked_key_path("a..b")
