"""regex and keywords."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rewardsmith.plugins.checks.text_patterns import Keywords, Regex


# -- regex --------------------------------------------------------------------------------
def test_regex_require_and_forbid(build, sample):
    check = build(Regex, require=[r"\bTotal:\s*\d+"], forbid=[r"(?i)as an ai"])
    assert check.score(sample("Total: 42")).passed
    missing = check.score(sample("Sum 42"))
    assert missing.passed is False and missing.value == 0.0 and "missing" in missing.rationale
    forbidden = check.score(sample("Total: 42. As an AI, I think..."))
    assert forbidden.value == 0.0 and "As an AI" in forbidden.rationale
    assert forbidden.measurements == {"required_matched": 1, "forbidden_matched": 1}


def test_regex_partial_credit_for_required(build, sample):
    check = build(Regex, require=["alpha", "beta", "gamma", "delta"])
    score = check.score(sample("alpha and gamma"))
    assert score.value == pytest.approx(0.5) and score.passed is False


def test_regex_flags(build, sample):
    assert build(Regex, require=["^end$"], flags=["m", "i"]).score(sample("x\nEND\ny")).passed
    assert build(Regex, require=["^end$"]).score(sample("x\nEND\ny")).passed is False


def test_regex_max_chars_bounds_the_search(build, sample):
    check = build(Regex, forbid=["secret"], max_chars=10)
    assert check.score(sample("0123456789 secret")).passed


def test_invalid_regex_fails_at_load_naming_it(build):
    with pytest.raises(ValueError, match=r"forbid\[1\]: invalid regular expression '\(unclosed'"):
        build(Regex, forbid=["ok", "(unclosed"])


def test_regex_needs_a_pattern():
    with pytest.raises(ValidationError, match="at least one pattern"):
        Regex.Config.model_validate({"type": "regex", "id": "r"})


# -- keywords -----------------------------------------------------------------------------
def test_keywords_required_fraction(build, sample):
    check = build(Keywords, required=["invoice", "total", "vendor"], min_required_fraction=0.6)
    score = check.score(sample("The INVOICE total is 5."))
    assert score.passed and score.value == pytest.approx(2 / 3)
    assert "vendor" in score.rationale
    assert check.score(sample("Only the invoice.")).passed is False


def test_keywords_whole_word(build, sample):
    check = build(Keywords, forbidden=["ass"])
    assert check.score(sample("a classic assessment")).passed
    assert check.score(sample("what an ass!")).passed is False
    substring = build(Keywords, forbidden=["ass"], whole_word=False)
    assert substring.score(sample("a classic assessment")).passed is False


def test_keywords_case_sensitive(build, sample):
    check = build(Keywords, required=["NASA"], case_sensitive=True)
    assert check.score(sample("NASA launched")).passed
    assert check.score(sample("nasa launched")).passed is False


def test_forbidden_keyword_evasions_still_match(build, sample):
    check = build(Keywords, forbidden=["free money"])
    assert check.score(sample("Get ＦＲＥＥ money now")).passed is False  # noqa: RUF001
    assert check.score(sample("Get fr\u200bee mo\u00adney now")).passed is False
    assert check.score(sample("Get free\n  money now")).passed is False
    assert check.score(sample("Get freemoney now")).passed is True


def test_keywords_with_punctuation_edges(build, sample):
    check = build(Keywords, required=["C++", "#hashtag"])
    assert check.score(sample("I like C++ and #hashtag.")).passed
    assert check.score(sample("I like C and hashtag.")).passed is False


def test_keywords_validation():
    with pytest.raises(ValidationError, match="at least one keyword"):
        Keywords.Config.model_validate({"type": "keywords", "id": "k"})
    with pytest.raises(ValidationError, match="blank"):
        Keywords.Config.model_validate({"type": "keywords", "id": "k", "required": [" "]})
