"""grounding: quotes and JSON fields against the prompt or a metadata document."""

from __future__ import annotations

import json

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.grounding import Grounding, quoted_spans

CONTRACT = ("4.1 The Supplier shall deliver the goods within thirty (30) days of the order. "
            "7.2 The Supplier's total liability shall not exceed the fees paid in the "
            "preceding twelve months. Fees: 1,250.00 EUR per month, 3 months minimum.")


def test_quoted_spans_shapes():
    text = 'He said "alpha beta", then \u201cgamma\u201d and \u00ab delta \u00bb, \u201ezeta\u201c.'
    assert quoted_spans(text) == ["alpha beta", "gamma", "delta", "zeta"]


def test_quotes_grounded_in_prompt(build, sample):
    check = build(Grounding)
    response = ('Clause 4.1 says "the Supplier shall deliver the goods within thirty (30) days" '
                'and 7.2 caps liability at "the fees paid in the preceding twelve months".')
    score = check.score(sample(response, user=CONTRACT))
    assert score.passed and score.value == 1.0 and score.measurements["spans"] == 2


def test_fuzzy_tolerates_small_differences_not_invention(build, sample):
    check = build(Grounding, threshold=0.9)
    near = 'It says "the Supplier shall deliver goods within thirty (30) days".'
    assert check.score(sample(near, user=CONTRACT)).passed
    invented = 'It says "the Supplier may terminate at any time without notice".'
    score = check.score(sample(invented, user=CONTRACT))
    assert score.passed is False and score.value == 0.0
    assert "terminate" in score.rationale


def test_fraction_and_min_fraction(build, sample):
    response = '"deliver the goods within thirty (30) days" and "unlimited liability for all"'
    score = build(Grounding, min_fraction=0.5).score(sample(response, user=CONTRACT))
    assert score.value == 0.5 and score.passed


def test_json_field_spans(build, sample):
    check = build(Grounding, spans_from="json", fields=["comments[].clause"])
    good = {"comments": [{"clause": "total liability shall not exceed the fees paid",
                          "remark": "This is not in the contract but is a remark"}]}
    assert check.score(sample(json.dumps(good), user=CONTRACT)).passed
    bad = {"comments": [{"clause": "Supplier indemnifies the Buyer for all losses"}]}
    assert check.score(sample(json.dumps(bad), user=CONTRACT)).value == 0.0


def test_every_string_by_default_and_numbers_when_asked(build, sample):
    response = json.dumps({"fee": 1250.0, "months": 3, "currency": "EUR",
                           "term": "within thirty (30) days"})
    strings = build(Grounding, spans_from="json")
    assert strings.score(sample(response, user=CONTRACT)).measurements["spans"] == 1  # EUR<4
    numbers = build(Grounding, spans_from="json", include_numbers=True)
    assert numbers.score(sample(response, user=CONTRACT)).value == 1.0
    invented = json.dumps({"fee": 1350.0, "months": 3})
    assert numbers.score(sample(invented, user=CONTRACT)).value == 0.5


def test_source_from_metadata(build, sample):
    check = build(Grounding, source="metadata", source_key="document")
    s = sample('"within thirty (30) days"', user="Review the attached.",
               metadata={"document": CONTRACT})
    assert check.score(s).passed
    with pytest.raises(ComponentError) as info:
        check.score(sample('"x y z w"'))
    assert info.value.kind == "missing_metadata"


def test_nothing_to_ground_policy(build, sample):
    with pytest.raises(ComponentError) as info:
        build(Grounding).score(sample("no quotes here", user=CONTRACT))
    assert info.value.kind == "undetermined"
    assert build(Grounding, if_no_spans="fail").score(sample("none", user=CONTRACT)).value == 0
    assert build(Grounding, if_no_spans="pass").score(sample("none", user=CONTRACT)).passed


def test_system_prompt_is_not_the_source_by_default(build, sample):
    s = sample('"secret system rule text"', system="secret system rule text", user=CONTRACT)
    assert build(Grounding).score(s).passed is False
    assert build(Grounding, prompt_roles=["system", "user"]).score(s).passed


def test_metadata_source_needs_key():
    with pytest.raises(ValueError, match="source_key"):
        Grounding.Config.model_validate({"type": "grounding", "id": "g", "source": "metadata"})
