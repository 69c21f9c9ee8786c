"""The shared JSON extraction and field paths: strict unless a pack opts in."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks._extract import (
    JsonInputConfig,
    extract_json,
    require_response_json,
    response_json,
)
from rewardsmith.plugins.checks._paths import MISSING, is_empty, leaves, lookup, parse_path

OBJ = '{"a": 1, "b": [1, 2]}'


def test_plain_json_parses_with_surrounding_whitespace():
    got = extract_json(f"\n  {OBJ}  \n")
    assert got.ok and got.value == {"a": 1, "b": [1, 2]} and got.source == "raw"


@pytest.mark.parametrize("text", [
    f"```json\n{OBJ}\n```",
    f"<think>hmm</think>{OBJ}",
    f"Here you go: {OBJ}",
])
def test_wrapped_json_is_rejected_by_default(text):
    got = extract_json(text)
    assert not got.ok and got.error


def test_fences_only_when_configured():
    text = f"Sure.\n```json\n{OBJ}\n```\nDone."
    assert not extract_json(text, ["think"]).ok
    got = extract_json(text, ["fences"])
    assert got.ok and got.source == "fence" and got.value["a"] == 1


def test_fences_skip_a_non_json_fence_and_take_the_next():
    text = f"```python\nprint(1)\n```\n```\n{OBJ}\n```"
    got = extract_json(text, ["fences"])
    assert got.ok and got.value["b"] == [1, 2]


def test_think_tags_are_stripped_only_when_configured():
    text = f"<think>maybe {{'x': 1}}</think>\n{OBJ}"
    assert not extract_json(text).ok
    assert extract_json(text, ["think"]).value == {"a": 1, "b": [1, 2]}


def test_unclosed_think_from_the_prompt_template():
    assert extract_json(f"reasoning here</think>{OBJ}", ["think"]).ok


def test_first_object_from_prose_and_first_array_separately():
    text = 'The answer is {"k": "v"} and also [1, 2].'
    assert extract_json(text, ["first_object"]).value == {"k": "v"}
    assert extract_json(text, ["first_array"]).value == [1, 2]
    assert extract_json(text, ["first_object"]).source == "prose"


def test_first_object_skips_brace_noise_before_the_real_object():
    text = 'Use {curly} braces like {this}; result: {"ok": true}'
    assert extract_json(text, ["first_object"]).value == {"ok": True}


def test_brace_flood_is_bounded_and_fails_cleanly():
    got = extract_json("{" * 50_000, ["first_object"])
    assert not got.ok


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": 1,}', "{'a': 1}", '{"a": Infinity}'])
def test_non_standard_json_is_invalid(text):
    assert not extract_json(text, ["first_object", "fences"]).ok


def test_empty_response_says_so():
    assert extract_json("   ").error == "response is empty"


def test_error_names_line_and_column():
    got = extract_json('{\n  "a": 1\n  "b": 2\n}')
    assert "line 3" in got.error


def _sample(message: dict):
    from rewardsmith.core.sample import parse_sample

    return parse_sample({"messages": [{"role": "user", "content": "q"}, message]}, 0)


def _config(**fields):
    return JsonInputConfig(type="t", id="c", **fields)


def test_require_json_raises_with_kind():
    with pytest.raises(ComponentError) as info:
        require_response_json(_sample({"role": "assistant", "content": "nope"}), _config())
    assert info.value.kind == "invalid_json"


def test_json_from_tool_call_reads_structured_calls_then_text():
    structured = _sample({"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get", "arguments": '{"city": "Lyon"}'}}]})
    got = response_json(structured, _config(json_from="tool_call"))
    assert got.ok and got.value == {"name": "get", "arguments": {"city": "Lyon"}}
    assert got.source == "tool_call"
    # by default the text is read, and an empty text is not JSON
    assert not response_json(structured, _config()).ok
    in_text = _sample({"role": "assistant",
                       "content": '<tool_call>{"name": "get", "arguments": {}}</tool_call>'})
    got = response_json(in_text, _config(json_from="tool_call", extract=("first_object",)))
    assert got.ok and got.value == {"name": "get", "arguments": {}}


# -- paths --------------------------------------------------------------------------------
DOC = {"vendor": {"name": "Acme"}, "items": [{"name": "a", "q": 1}, {"q": 2}], "empty": []}


def test_lookup_simple_and_nested():
    assert lookup(DOC, parse_path("vendor.name")) == [("vendor.name", "Acme")]
    assert lookup(DOC, parse_path("vendor.tax_id")) == [("vendor.tax_id", MISSING)]


def test_lookup_fans_out_and_marks_missing_elements():
    assert lookup(DOC, parse_path("items[].name")) == [("items[0].name", "a"),
                                                       ("items[1].name", MISSING)]
    assert lookup(DOC, parse_path("items[1].q")) == [("items[1].q", 2)]
    assert lookup(DOC, parse_path("items[5].q")) == [("items[5].q", MISSING)]


def test_lookup_fan_out_over_empty_and_non_array():
    assert lookup(DOC, parse_path("empty[].x")) == []
    assert lookup(DOC, parse_path("vendor[].x"))[0][1] is MISSING


def test_root_array_path():
    assert lookup([{"a": 1}], parse_path("[].a")) == [("[0].a", 1)]


@pytest.mark.parametrize("bad", ["", "a..b", "a.[]", " a", "a[x]", "a]"])
def test_bad_paths_fail_with_the_path_named(bad):
    with pytest.raises(ValueError, match="field path"):
        parse_path(bad)


def test_leaves_flatten_with_concrete_paths():
    assert dict(leaves(DOC)) == {"vendor.name": "Acme", "items[0].name": "a",
                                 "items[0].q": 1, "items[1].q": 2, "empty": []}


def test_is_empty():
    assert all(is_empty(v) for v in (None, "", "  ", [], {}, MISSING))
    assert not any(is_empty(v) for v in (0, False, "x", [0], {"a": None}))


@pytest.mark.parametrize(("text", "expected"), [
    ("<think>a</think>B<THINK>c</Think>D", "BD"),
    ("pre</think>after", "after"),
    ("<|begin_of_solution|><think>x</think>{}<|end_of_solution|> tail", "{}"),
    ("<think>unclosed {}", "<think>unclosed {}"),
    ("x<think>a</think>y</think>z", "z"),
    # a solution cut off before its end marker is still the solution (core/json_text rules)
    ("<|begin_of_solution|>no end", "no end"),
    ("plain", "plain"),
])
def test_reasoning_strip(text, expected):
    from rewardsmith.core.sample import strip_reasoning

    assert strip_reasoning(text) == expected


def test_unclosed_think_flood_is_linear():
    # 70,000 unclosed tags: a lazy-regex strip rescans the rest from each (minutes).
    got = extract_json("<think>" * 70_000, ["think", "fences", "first_object"])
    assert not got.ok


def test_format_char_class_covers_every_cf_character():
    import sys
    import unicodedata

    from rewardsmith.plugins.checks._text import FORMAT_CHARS_RE, fold

    missing = [hex(cp) for cp in range(sys.maxunicode + 1)
               if unicodedata.category(chr(cp)) == "Cf" and not FORMAT_CHARS_RE.match(chr(cp))]
    assert missing == []
    assert fold("Ｆｒｅｅ\u200b Ｍｏｎｅｙ") == "free money"  # noqa: RUF001


@pytest.mark.parametrize("depth", [150, 1000, 1100, 100_000])
def test_degenerate_nesting_is_invalid_not_a_crash(depth):
    for text in ("[" * depth + "]" * depth, "x " + "[" * depth):
        got = extract_json(text, ["first_array"])
        assert not got.ok


def test_reasonable_nesting_is_fine():
    assert extract_json("[" * 50 + "]" * 50).ok


# -- real-world-1.md C1-C3 and more of the same kinds --------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    # C1: a ```text draft, then the ```json answer
    ('```text\n{"draft": true}\n```\n```json\n{"total": 12}\n```', {"total": 12}),
    # json first even when an untagged fence comes before it
    ('```\n{"example": 1}\n```\nAnswer:\n```JSON\n{"total": 12}\n```', {"total": 12}),
    # other languages are never read by default; js only after untagged fences
    ('```python\n{"a": 1}\n```\n```js\n{"b": 2}\n```\n```\n{"c": 3}\n```', {"c": 3}),
    # round 3: JSON dialect tags, JavaScript, Pandoc attributes (a strict-JSON body)
    ('```jsonc\n{"total": 12}\n```', {"total": 12}),
    ('```json5\n{"total": 12}\n```', {"total": 12}),
    ('```javascript\n{"total": 12}\n```', {"total": 12}),
    ('```{.json}\n{"total": 12}\n```', {"total": 12}),
    ('```python\nprint(1)\n```\n```{.json .numberLines}\n{"total": 12}\n```', {"total": 12}),
    # a fence opened after prose and closed on the body's last line; tilde fences
    ('Here it is: ```json\n{"total": 12}```', {"total": 12}),
    ('~~~json\n{"total": 12}\n~~~', {"total": 12}),
    # a longer fence may hold a shorter one: the outer is json, the inner is its text
    ('````json\n{"code": "```"}\n````', {"code": "```"}),
])
def test_fences_follow_their_language_tag(text, expected):
    got = extract_json(text, ["fences"])
    assert got.ok and got.value == expected and got.source == "fence"


def test_python_fence_is_still_not_the_answer():
    assert not extract_json('```python\n{"a": 1}\n```', ["fences"]).ok
    assert not extract_json('```jsonc\n{"a": 1, // note\n}\n```', ["fences"]).ok  # strict


def test_a_leading_byte_order_mark_is_ignored():
    got = extract_json('\ufeff{"total": 12}')
    assert got.ok and got.value == {"total": 12}
    assert not extract_json('{"total": 12}\ufeff').ok  # only an opening BOM is a signature


def test_fence_languages_are_configurable():
    text = '```text\n{"draft": true}\n```'
    assert not extract_json(text, ["fences"]).ok
    assert extract_json(text, ["fences"], ("json", "", "text")).value == {"draft": True}
    assert not extract_json('```\n{"a": 1}\n```', ["fences"], ("json",)).ok


@pytest.mark.parametrize("noise", [
    "\\frac{a}{b} " * 60,  # C2
    "\\begin{pmatrix} a & b \\end{pmatrix} \\sqrt{x^{2}} " * 200,
    "Sets {1, 2} and {x | x > 0} and {} " * 100,
    'A dict literal {"k": 1,} is not JSON; nor is {"k": tru}. ' * 100,
])
def test_first_object_after_any_amount_of_brace_noise(noise):
    got = extract_json(noise + 'Result: {"x": 2}', ["first_object"])
    assert got.ok and got.value == {"x": 2}


@pytest.mark.parametrize(("text", "expected"), [
    ('An empty result is written as {} when nothing matches. Result: {"matches": ["r7"]}',
     {"matches": ["r7"]}),  # C3
    ('Result: {"matches": ["r7"]}. An empty result is written as {}.', {"matches": ["r7"]}),
    ("Nothing matched, so: { }", {}),  # only an empty one: it is the answer
    ('Use {} or {"a": {}}', {"a": {}}),
])
def test_first_non_empty_object_wins_over_an_empty_one(text, expected):
    assert extract_json(text, ["first_object"]).value == expected


def test_first_non_empty_array_likewise():
    assert extract_json("Empty is [] but here: [1, 2]", ["first_array"]).value == [1, 2]


def test_nested_braces_inside_strings_are_string_content():
    text = 'Answer: {"tpl": "use {name} and \\"{\\" here", "n": {"k": "}"}} trailing {'
    assert extract_json(text, ["first_object"]).value == {"tpl": 'use {name} and "{" here',
                                                          "n": {"k": "}"}}


def test_a_malformed_object_is_named_in_the_error():
    got = extract_json('Result: {"matches": ["r7"}', ["first_object"])
    assert not got.ok
    assert "the object at char 8 is malformed" in got.error
    assert "expected ',' or ']'" in got.error


def test_think_strip_leaves_tags_inside_json_strings_alone():
    text = '<think>plan</think>{"note": "ends with </think> and <think>"}'
    assert extract_json(text, ["think"]).value == {"note": "ends with </think> and <think>"}


# -- unseen instances of the real-world-1 C kinds (issue 9, round 2) -------------------------
F = "```"


@pytest.mark.parametrize(("text", "expected"), [
    # fence tags and shapes
    (f"Answer:\n{F}JSON\n{{\"a\": 1}}\n{F}", {"a": 1}),
    (f"Answer:\n{F}jsonc\n{{\"a\": 1}}\n{F}", {"a": 1}),
    (f"Answer:\n{F}json5\n{{\"a\": 1}}\n{F}", {"a": 1}),
    ("Answer:\n~~~json\n{\"a\": 1}\n~~~", {"a": 1}),
    ("Steps:\n\n   ```json\n   {\"a\": 1}\n   ```\n", {"a": 1}),
    (f"{F}json title=answer.json\n{{\"a\": 1}}\n{F}", {"a": 1}),
    # a fence written inside a JSON string is text of the value
    (f'{F}json\n{{"code": "use {F}text\\n{{}}\\n{F} here", "a": 1}}\n{F}',
     {"code": f"use {F}text\n{{}}\n{F} here", "a": 1}),
    (f"Empty is {{}}.\n{F}json\n{{\"a\": 13}}\n{F}", {"a": 13}),
    # prose with braces
    ('Let S = {x | x > 0}. Answer: {"a": 1}', {"a": 1}),
    ("The dict {'a': 1} maps keys. Answer: {\"a\": 2}", {"a": 2}),
    ('In JS write {a: 1, b: [2]}; the answer is {"a": 3}', {"a": 3}),
    ('Hello {{name}}, {{ "x" }} your answer: {"a": 4}', {"a": 4}),
    ('Use {{"name"}} then {"a": 5}', {"a": 5}),
    # a byte order mark before the whole answer
    ('\ufeff{"a": 12}', {"a": 12}),
])
def test_unseen_fence_and_prose_instances(text, expected):
    got = extract_json(text, ("fences", "first_object"))
    assert got.ok, got.error
    assert got.value == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('<think>outer <think>inner</think> still {"a": 0}</think>{"a": 6}', {"a": 6}),
    ('{"a": 7}<think>I wonder whether', {"a": 7}),
    ('<thinking>draft {"a": 0}</thinking>{"a": 8}', {"a": 8}),
    ('<reasoning>draft {"a": 0}</reasoning>{"a": 8}', {"a": 8}),
    ('<THINK>draft {"a": 0}</THINK>{"a": 9}', {"a": 9}),
    ('<|begin_of_thought|>{"a": 0}<|end_of_thought|>{"a": 10}', {"a": 10}),
    ('{"note": "ends with </think>", "a": 11}', {"note": "ends with </think>", "a": 11}),
    ('["a </think> b"]', ["a </think> b"]),
])
def test_unseen_reasoning_wrapper_instances(text, expected):
    got = extract_json(text, ("think", "first_object", "first_array"))
    assert got.ok, got.error
    assert got.value == expected


@pytest.mark.parametrize("text", [
    '<think>I will answer {"a": 0} once I am sure',
    '<thinking>{"a": 0}',
    'Sure. <think>maybe ```json\n{"a": 0}\n```',
])
def test_a_draft_inside_reasoning_that_never_closes_is_not_the_answer(text):
    got = extract_json(text, ("think", "fences", "first_object"))
    assert not got.ok


@pytest.mark.parametrize(("text", "want", "expected"), [
    (f"{F}json\n[1, 2]\n{F}\n{F}json\n{{\"a\": 1}}\n{F}", "object", {"a": 1}),
    (f"{F}json\n[{{\"a\": 1}}]\n{F}\nThen {{\"a\": 11}}", "object", {"a": 11}),
    (f"{F}json\n{{\"a\": 1}}\n{F}\n{F}json\n[1, 2]\n{F}", "array", [1, 2]),
    (f"{F}json\n[1, 2]\n{F}\n{F}json\n{{\"a\": 1}}\n{F}", None, [1, 2]),
])
def test_a_wanted_type_passes_over_values_of_the_other_type(text, want, expected):
    got = extract_json(text, ("fences", "first_object", "first_array"), want=want)
    assert got.ok and got.value == expected


def test_a_whole_response_of_the_other_type_is_still_the_answer():
    got = extract_json("[1, 2]", ("fences", "first_object"), want="object")
    assert got.ok and got.value == [1, 2] and got.source == "raw"
