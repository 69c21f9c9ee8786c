"""grounding: quotes and JSON fields against the prompt or a metadata document."""

from __future__ import annotations

import json

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.grounding import Grounding, number_readings, quoted_spans

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


def test_cjk_corner_bracket_quotes_are_spans(build, sample):
    source = "契約書第三条：「解約は三十日前までに書面で通知すること」と定める。"  # noqa: RUF001
    check = build(Grounding)
    ok = check.score(sample("第三条によると「解約は三十日前までに書面で通知すること」です。",
                            user=source))
    assert ok.passed and ok.measurements == {"spans": 1, "grounded": 1}
    made_up = check.score(sample("規定は『違約金は請求しない』としています。", user=source))
    assert made_up.passed is False and made_up.measurements["grounded"] == 0


GERMAN_INVOICE = """Rechnung Nr. 2024-118
Schreibtisch Eiche, 1 Stück ........ 1.049,00 €
Versand ............................ 4,50 €
Gesamt ............................. 1.053,50 €"""
FRENCH_INVOICE = "Facture F-77 : bureau chêne 1\u202f200,00 €, livraison 12,90 €, total 1 212,90 €."
SWISS_INVOICE = "Rechnung: Pult CHF 1'249.90, Versand CHF 9.50, total CHF 1\u2019259.40."
INDIAN_INVOICE = ("Invoice 55: desk ₹1,24,999.00, shipping ₹450, total ₹1,25,449.00 "
                  "(12,34,567 points).")


@pytest.mark.parametrize(("source", "numbers"), [
    (GERMAN_INVOICE, {"item": 1049.0, "shipping": 4.5, "total": 1053.5}),
    (FRENCH_INVOICE, {"item": 1200.0, "shipping": 12.9, "total": 1212.9}),
    (SWISS_INVOICE, {"item": 1249.9, "shipping": 9.5, "total": 1259.4}),
    (INDIAN_INVOICE, {"item": 124999.0, "shipping": 450, "total": 125449.0,
                      "points": 1234567}),
])
def test_numbers_in_locale_formats_are_grounded(build, sample, source, numbers):
    check = build(Grounding, spans_from="json", include_numbers=True)
    score = check.score(sample(json.dumps(numbers), user=source))
    assert score.value == 1.0 and score.passed, score.rationale
    invented = dict(numbers, total=numbers["total"] + 0.5)
    assert check.score(sample(json.dumps(invented), user=source)).value == \
        pytest.approx((len(numbers) - 1) / len(numbers))


@pytest.mark.parametrize(("written", "values"), [
    ("1.049,00", {1049.0}),
    ("4,50", {4.5}),
    ("1 200,00", {1200.0, 1.0, 200.0}),  # also "1" and "200,00" alone: "1 200" may be two
    ("1\u00a0200,5", {1200.5, 1.0, 200.5}),
    ("12,34,567.50", {1234567.5}),
    ("1,234.50", {1234.5}),
    ("1.234.567,89", {1234567.89}),
    ("1.049", {1049.0, 1.049}),  # de thousands or en decimal: both readings
    ("1'234.50", {1234.5}),
    ("\u22125,5", {-5.5}),
    ("1,2,3", {1.0, 2.0, 3.0}),
    ("1.2.3", set()),
])
def test_number_readings(written, values):
    assert number_readings(written) == values
