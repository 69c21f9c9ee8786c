"""reference-match: exact, fuzzy, json_fields."""

from __future__ import annotations

import json
import math

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.reference_match import ReferenceMatch

REF = {"invoice": "A-1", "vendor": {"name": "Acme Ltd"}, "total": 282.96,
       "items": [{"desc": "Paper A4", "qty": 10}, {"desc": "Toner", "qty": 2}], "paid": False}


def test_exact_normalises_case_and_space(build, sample):
    check = build(ReferenceMatch, mode="exact")
    assert check.score(sample("  Paris\n", reference="paris")).passed
    bad = check.score(sample("Paris, France", reference="Paris"))
    assert bad.passed is False and bad.value == 0.0


def test_exact_punctuation_normalisation_is_opt_in(build, sample):
    assert build(ReferenceMatch).score(sample("Paris.", reference="Paris")).passed is False
    loose = build(ReferenceMatch, normalize=["fold", "punctuation"])
    assert loose.score(sample("Paris.", reference="paris")).passed


def test_fuzzy_scorers(build, sample):
    ratio = build(ReferenceMatch, mode="fuzzy", scorer="ratio", threshold=0.9)
    score = ratio.score(sample("the quick brown fox", reference="the quick brown fax"))
    assert score.passed and 0.9 <= score.value < 1.0
    reordered = sample("brown fox the quick", reference="the quick brown fox")
    assert ratio.score(reordered).passed is False
    token_set = build(ReferenceMatch, mode="fuzzy", scorer="token_set_ratio", threshold=0.9)
    assert token_set.score(reordered).value == 1.0
    partial = build(ReferenceMatch, mode="fuzzy", scorer="partial_ratio")
    assert partial.score(sample("It is Paris, I think", reference="Paris")).value == 1.0


def test_fuzzy_binary(build, sample):
    check = build(ReferenceMatch, mode="fuzzy", threshold=0.5, binary=True)
    assert check.score(sample("abcdef", reference="abcxyz")).value == 1.0
    assert check.score(sample("zzzzzz", reference="abcxyz")).value == 0.0


def test_reference_and_response_paths(build, sample):
    check = build(ReferenceMatch, reference_path="vendor.name", response_path="vendor",
                  extract=["fences"])
    ok = check.score(sample('```json\n{"vendor": "ACME LTD"}\n```', reference=REF))
    assert ok.passed
    with pytest.raises(ComponentError) as info:
        check.score(sample('{"seller": "x"}', reference=REF))
    assert info.value.kind == "missing_field"


def test_missing_reference_raises_kind(build, sample):
    with pytest.raises(ComponentError) as info:
        build(ReferenceMatch).score(sample("x"))
    assert info.value.kind == "missing_reference"


def test_json_fields_perfect_and_partial(build, sample):
    check = build(ReferenceMatch, mode="json_fields")
    assert check.score(sample(json.dumps(REF), reference=REF)).value == 1.0
    wrong = dict(REF, total=300.0, vendor={"name": "Acme Limited"})
    score = check.score(sample(json.dumps(wrong), reference=REF))
    assert score.value == pytest.approx(6 / 8)
    assert "total" in score.details["mismatched"] and "vendor.name" in score.details["mismatched"]
    assert score.passed is False


def test_json_fields_numbers_coerced_and_tolerant(build, sample):
    check = build(ReferenceMatch, mode="json_fields", number_tolerance=0.001)
    response = dict(REF, total="282.96", items=[{"desc": "Paper A4", "qty": 10.0},
                                                {"desc": "Toner", "qty": 2}])
    assert check.score(sample(json.dumps(response), reference=REF)).value == 1.0
    near = dict(REF, total=283.1)
    assert check.score(sample(json.dumps(near), reference=REF)).value == 1.0
    far = dict(REF, total=290)
    assert check.score(sample(json.dumps(far), reference=REF)).value < 1.0


def test_json_fields_types_are_not_confused(build, sample):
    check = build(ReferenceMatch, mode="json_fields")
    confused = dict(REF, paid=0, invoice=None)
    score = check.score(sample(json.dumps(confused), reference=REF))
    assert "paid" in score.details["mismatched"] and "invoice" in score.details["mismatched"]


def test_json_fields_fuzzy_strings(build, sample):
    strict = build(ReferenceMatch, mode="json_fields", fields=["vendor.name"])
    fuzzy = build(ReferenceMatch, mode="json_fields", fields=["vendor.name"],
                  string_threshold=0.85)
    response = json.dumps({"vendor": {"name": "Acme Ltd."}})
    assert strict.score(sample(response, reference=REF)).value == 0.0
    assert fuzzy.score(sample(response, reference=REF)).value == 1.0


def test_json_fields_extra_items_penalised_only_when_asked(build, sample):
    extra_item = dict(REF, items=[*REF["items"], {"desc": "Invented", "qty": 1}])
    text = json.dumps(extra_item)
    assert build(ReferenceMatch, mode="json_fields").score(sample(text, reference=REF)).value == 1
    strict = build(ReferenceMatch, mode="json_fields", penalize_extra=True)
    score = strict.score(sample(text, reference=REF))
    assert score.value == pytest.approx(8 / 10) and score.measurements["extra"] == 2


def test_json_fields_scoped_to_paths(build, sample):
    check = build(ReferenceMatch, mode="json_fields", fields=["items[].qty"])
    response = json.dumps({"items": [{"qty": 10, "desc": "wrong"}, {"qty": 3}]})
    score = check.score(sample(response, reference=REF))
    assert score.value == pytest.approx(0.5) and score.measurements["fields"] == 2


def test_json_fields_reference_as_json_string(build, sample):
    check = build(ReferenceMatch, mode="json_fields")
    assert check.score(sample('{"a": 1}', reference='{"a": 1}')).value == 1.0
    with pytest.raises(ComponentError) as info:
        check.score(sample('{"a": 1}', reference="not json"))
    assert info.value.kind == "bad_reference"


def test_json_fields_non_json_response(build, sample):
    with pytest.raises(ComponentError) as info:
        build(ReferenceMatch, mode="json_fields").score(sample("nope", reference=REF))
    assert info.value.kind == "invalid_json"


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("options", [
    {"mode": "json_fields"}, {"mode": "json_fields", "number_tolerance": 0.01},
    {"mode": "exact", "reference_path": "total", "response_path": "total"},
])
def test_a_non_finite_reference_number_is_an_error_naming_the_field(build, sample, bad,
                                                                    options):
    """An infinite reference used to match 12.5 (tolerance rel * inf) and score 1.0."""
    check = build(ReferenceMatch, **options)
    with pytest.raises(ComponentError, match=r"reference_answer field 'total' is (-?inf|nan)"
                       ) as info:
        check.score(sample('{"total": 12.5}', reference={"total": bad}))
    assert info.value.kind == "bad_reference"


def test_a_non_finite_reference_is_a_component_error_through_the_scorer(tmp_path):
    """End to end (rewardsmith.sample + Scorer): the component fails, its policy applies,
    and the reward is not the 0.8 an infinite reference used to earn."""
    from rewardsmith import Scorer, load_pack, make_plugin_host, sample

    scorer = Scorer(load_pack("json-extraction", make_plugin_host()))
    try:
        good, inf, nan = scorer.score([
            sample("Invoice total 12.5", '{"total": 12.5}', reference={"total": ref})
            for ref in (12.5, math.inf, math.nan)]).results
    finally:
        scorer.close()
    assert good.components["fields"].value == 1.0 and good.components["fields"].error is None
    for result in (inf, nan):
        fields = result.components["fields"]
        assert fields.error_kind == "bad_reference" and "'total'" in (fields.error or "")
        assert fields.value != 1.0
        assert result.reward < good.reward


def test_a_reference_integer_beyond_a_double_is_a_mismatch_not_a_crash(build, sample):
    """float(10**400) raises OverflowError; such a reference is compared exactly."""
    check = build(ReferenceMatch, mode="json_fields", number_tolerance=0.5)
    score = check.score(sample('{"n": 1e300}', reference={"n": 10 ** 400}))
    assert score.value == 0.0 and score.details["mismatched"] == ["n"]
