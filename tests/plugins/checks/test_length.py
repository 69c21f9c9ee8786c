"""length: chars, words, approximate tokens; hard and soft bands."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rewardsmith.plugins.checks.length import Length, count_tokens


def test_chars_hard_band(build, sample):
    check = build(Length, unit="chars", min=3, max=5)
    assert check.score(sample("abcd")).value == 1.0
    short = check.score(sample("ab"))
    assert short.value == 0.0 and short.passed is False and "below" in short.rationale
    long = check.score(sample("abcdef"))
    assert long.value == 0.0 and "above" in long.rationale and long.measurements["chars"] == 6


def test_words_soft_band_falls_linearly(build, sample):
    check = build(Length, unit="words", max=10, falloff=10)
    assert check.score(sample(" ".join(["w"] * 10))).value == 1.0
    half = check.score(sample(" ".join(["w"] * 15)))
    assert half.value == pytest.approx(0.5) and half.passed is False
    assert check.score(sample(" ".join(["w"] * 40))).value == 0.0


def test_soft_minimum(build, sample):
    check = build(Length, unit="words", min=4, falloff=4)
    assert check.score(sample("one two")).value == pytest.approx(0.5)


def test_token_approximation_counts_pieces():
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("1234567") == 3  # digits in groups of three
    assert count_tokens("internationalisation") == 3  # long words split into pieces
    assert count_tokens("   ") == 0


def test_tokens_unit(build, sample):
    check = build(Length, unit="tokens", max=5)
    assert check.score(sample("a b c d e")).passed
    assert check.score(sample("a b c d e f")).passed is False


@pytest.mark.parametrize("config", [{}, {"min": 5, "max": 2}, {"max": 3, "falloff": 0}])
def test_bad_bounds_rejected(config):
    with pytest.raises(ValidationError):
        Length.Config.model_validate({"type": "length", "id": "l", **config})
