"""json-valid, json-schema, required-fields."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.json_checks import JsonSchema, JsonValid, RequiredFields

SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "when": {"type": "string", "format": "date"},
        "items": {"type": "array", "items": {"type": "object", "required": ["qty"],
                                             "properties": {"qty": {"type": "integer"}}}},
    },
}


# -- json-valid ---------------------------------------------------------------------------
def test_json_valid_accepts_plain_json(build, sample):
    score = build(JsonValid).score(sample('{"a": 1}'))
    assert score.passed and score.value == 1.0 and score.measurements["extracted"] is False


def test_json_valid_rejects_fenced_json_unless_configured(build, sample):
    text = 'Here:\n```json\n{"a": 1}\n```'
    strict = build(JsonValid).score(sample(text))
    assert strict.passed is False and strict.value == 0.0 and "not JSON" in strict.rationale
    tolerant = build(JsonValid, extract=["fences"]).score(sample(text))
    assert tolerant.passed and tolerant.measurements["extracted"] is True
    assert tolerant.details["source"] == "fence"


def test_json_valid_require_type(build, sample):
    check = build(JsonValid, require_type="object")
    assert check.score(sample("[1, 2]")).passed is False
    assert "expected object" in check.score(sample("[1, 2]")).rationale
    assert check.score(sample('{"x": []}')).passed
    assert build(JsonValid, require_type="array").score(sample('"str"')).passed is False


def test_json_valid_truncated_output(build, sample):
    score = build(JsonValid).score(sample('{"items": [{"a": 1}, {"a":'))
    assert score.passed is False and "line 1" in score.rationale


def test_json_valid_rejects_unknown_extract_step():
    with pytest.raises(ValidationError):
        JsonValid.Config.model_validate({"type": "json-valid", "id": "j", "extract": ["yaml"]})


def test_json_valid_rejects_unknown_option():
    with pytest.raises(ValidationError, match="extra"):
        JsonValid.Config.model_validate({"type": "json-valid", "id": "j", "strict": True})


# -- json-schema --------------------------------------------------------------------------
def test_schema_pass_and_fail_with_paths(build, sample):
    check = build(JsonSchema, schema=SCHEMA)
    ok = check.score(sample('{"name": "x", "items": [{"qty": 1}]}'))
    assert ok.passed and ok.value == 1.0 and ok.measurements["errors"] == 0
    bad = check.score(sample('{"name": 5, "items": [{"qty": 1}, {"qty": "two"}], "extra": 1}'))
    assert bad.passed is False and bad.value == 0.0
    assert bad.measurements["errors"] == 3
    assert "items[1].qty" in bad.rationale and "name" in bad.rationale
    assert "items[1].qty" in bad.details["error_paths"]


def test_schema_checks_formats_by_default(build, sample):
    text = '{"name": "x", "items": [], "when": "21/06/2024"}'
    assert build(JsonSchema, schema=SCHEMA).score(sample(text)).passed is False
    assert build(JsonSchema, schema=SCHEMA, check_formats=False).score(sample(text)).passed


def test_schema_fraction_mode_is_graded(build, sample):
    check = build(JsonSchema, schema=SCHEMA, mode="fraction")
    items = ", ".join('{"qty": 1}' for _ in range(8))
    one_bad = check.score(sample(f'{{"name": "x", "items": [{items}, {{"qty": "x"}}]}}'))
    assert one_bad.passed is False
    assert 0.8 < one_bad.value < 1.0
    all_bad = check.score(sample('"just a string"'))
    assert all_bad.value == 0.0


def test_schema_from_file_relative_to_pack(build, sample, tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.json").write_text(json.dumps(SCHEMA))
    check = build(JsonSchema, base_path=tmp_path, schema_file="schemas/s.json")
    assert check.score(sample('{"name": "x", "items": []}')).passed


def test_schema_config_round_trips_through_a_dump():
    config = JsonSchema.Config.model_validate({"type": "json-schema", "id": "s",
                                               "schema": SCHEMA})
    again = JsonSchema.Config.model_validate(config.model_dump())
    assert again == config
    assert config.model_dump(by_alias=True)["schema"] == SCHEMA


def test_schema_needs_exactly_one_source():
    with pytest.raises(ValidationError, match="exactly one"):
        JsonSchema.Config.model_validate({"type": "json-schema", "id": "s"})
    with pytest.raises(ValidationError, match="exactly one"):
        JsonSchema.Config.model_validate({"type": "json-schema", "id": "s", "schema": SCHEMA,
                                          "schema_file": "x.json"})


def test_invalid_schema_fails_at_construction(build):
    with pytest.raises(ValueError, match="not a valid JSON Schema at properties/a"):
        build(JsonSchema, schema={"type": "object", "properties": {"a": {"type": "strin"}}})


def test_schema_file_that_is_not_json(build, tmp_path):
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"schema_file 's\.json' is not valid JSON"):
        build(JsonSchema, base_path=tmp_path, schema_file="s.json")


def test_schema_on_non_json_response_raises_kind(build, sample):
    with pytest.raises(ComponentError) as info:
        build(JsonSchema, schema=SCHEMA).score(sample("not json"))
    assert info.value.kind == "invalid_json"


def test_schema_does_not_fetch_remote_refs(build, sample):
    schema = {"$ref": "http://127.0.0.1:9/never.json"}
    check = build(JsonSchema, schema=schema)
    with pytest.raises(Exception, match=r"(?i)unresolvable|retriev"):
        check.score(sample("{}"))


# -- required-fields ----------------------------------------------------------------------
def test_required_fields_all_present(build, sample):
    check = build(RequiredFields, fields=["vendor.name", "items[].name"])
    score = check.score(sample('{"vendor": {"name": "A"}, "items": [{"name": "x"}]}'))
    assert score.passed and score.value == 1.0


def test_required_fields_partial_credit_per_element(build, sample):
    check = build(RequiredFields, fields=["vendor.name", "items[].name"])
    score = check.score(sample('{"vendor": {}, "items": [{"name": "x"}, {"qty": 1}]}'))
    assert score.passed is False
    assert score.value == pytest.approx((0 + 0.5) / 2)
    assert "vendor.name" in score.rationale and "items[1].name" in score.rationale
    assert score.measurements["missing"] == 2


def test_required_fields_non_empty(build, sample):
    text = '{"name": " ", "tags": [], "items": []}'
    lenient = build(RequiredFields, fields=["name", "tags", "items[].id"])
    assert lenient.score(sample(text)).passed
    strict = build(RequiredFields, fields=["name", "tags", "items[].id"], non_empty=True)
    score = strict.score(sample(text))
    assert score.passed is False and score.value == 0.0
    assert "empty array" in score.rationale


def test_required_fields_zero_is_not_empty(build, sample):
    check = build(RequiredFields, fields=["n", "flag"], non_empty=True)
    assert check.score(sample('{"n": 0, "flag": false}')).passed


def test_required_fields_bad_path_fails_at_construction(build):
    with pytest.raises(ValueError, match="field path"):
        build(RequiredFields, fields=["items[x].name"])


# -- real-world-1.md section C: the answer among drafts, LaTeX and prose --------------------
def test_c1_a_text_draft_fence_is_not_the_json_answer(build, sample):
    text = ("Draft first:\n```text\n{\"draft\": true}\n```\nFinal answer:\n```json\n"
            "{\"total\": 12}\n```")
    score = build(JsonValid, extract=["fences"]).score(sample(text))
    assert score.passed and score.details["source"] == "fence"
    fields = build(RequiredFields, fields=["total"], extract=["fences"]).score(sample(text))
    assert fields.passed and fields.value == 1.0


def test_c2_latex_braces_before_the_object_do_not_exhaust_the_search(build, sample):
    text = "We simplify " + "\\frac{a}{b} " * 60 + 'and report {"x": 2}'
    check = build(RequiredFields, fields=["x"], extract=["first_object"])
    assert check.score(sample(text)).passed
    assert build(JsonValid, extract=["first_object"]).score(sample(text)).passed


@pytest.mark.parametrize("text", [
    'An empty result is written as {} when nothing matches. Result: {"matches": ["r7"]}',
    'Result: {"matches": ["r7"]}. An empty result is written as {} when nothing matches.',
])
def test_c3_an_empty_object_in_prose_is_not_the_answer(build, sample, text):
    score = build(RequiredFields, fields=["matches"], non_empty=True,
                  extract=["first_object"]).score(sample(text))
    assert score.passed and score.value == 1.0


def test_json_valid_require_type_skips_an_example_of_the_other_type(build, sample):
    """A ```json block holding an example array, then the object answer (issue 9, C kind)."""
    response = ('For example:\n```json\n[{"id": 1}]\n```\nMy answer:\n```json\n'
                '{"id": 2, "ok": true}\n```')
    check = build(JsonValid, extract=["fences"], require_type="object")
    score = check.score(sample(response))
    assert score.passed and score.value == 1.0, score.rationale
    assert build(JsonValid, extract=["fences"]).score(sample(response)).rationale == \
        "valid JSON array (from fence)"


def test_schema_with_a_top_level_type_skips_values_of_the_other_type(build, sample):
    schema = {"type": "object", "required": ["id"]}
    response = 'Rows look like [1, 2]. Answer: ```json\n[3]\n```\n```json\n{"id": 2}\n```'
    check = build(JsonSchema, schema=schema, extract=["fences"])
    assert check.score(sample(response)).passed


@pytest.mark.parametrize(("function", "passed", "fragment"), [
    ({"name": "get", "arguments": '{"city": "Oslo"'}, False, "arguments are not valid JSON"),
    (None, False, "tool_calls[0].function is not an object"),
    ({"name": "get", "arguments": ""}, True, "valid JSON object (from tool_call)"),
    ({"name": "get", "arguments": '{"city": "Oslo"}'}, True, "valid JSON object"),
])
def test_json_from_tool_call_reads_the_calls_arguments_as_json(build, function, passed,
                                                                fragment):
    """Broken arguments of the first tool call are not valid JSON (before: the raw string
    was wrapped into a valid object and passed)."""
    from rewardsmith.core.sample import parse_sample

    raw = {"messages": [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": "",
        "tool_calls": [{"id": "c", "type": "function", "function": function}]}]}
    score = build(JsonValid, json_from="tool_call").score(parse_sample(raw, 0))
    assert score.passed is passed and fragment in score.rationale
