"""The linear JSON recogniser and the reasoning splitter shared by extraction and verdicts."""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson
import pytest

from rewardsmith.core.json_text import (
    JsonScanner,
    Malformed,
    Span,
    iter_containers,
    split_reasoning,
)


@pytest.mark.parametrize("text", [
    '{}', '[]', '{"a": 1}', '[1, -2.5e3, true, false, null, "x"]', '{"a": {"b": [{"c": {}}]}}',
    '{"s": "\\u00e9\\ud83d\\ude00\\n\\"}"}', '{ "a" : [ 1 , 2 ] }', '[0, -0, 1E+2, 0.5]',
])
def test_recognises_what_the_standard_decoder_accepts(text):
    outcome = JsonScanner(text).value_at(0)
    assert isinstance(outcome, Span) and outcome.end == len(text)
    json.loads(text)


@pytest.mark.parametrize(("text", "reason"), [
    ('{"a": 01}', "expected ',' or '}' but found '1' at char 7"),
    ('{"a": NaN}', "expected a value but found 'N' at char 6"),
    ('{"a": 1,}', "expected a '\"'-quoted key but found '}' at char 8"),
    ("{'a': 1}", "expected a '\"'-quoted key but found \"'\" at char 1"),
    ('[1 2]', "expected ',' or ']' but found '2' at char 3"),
    ('{"a" 1}', "expected ':' after a key but found '1' at char 5"),
    ('{"a": "x', "unterminated string starting at char 6"),
    ('{"a": "\\q"}', "invalid \\escape"),
    ('{"a": [1, {"b": 2}', "an array is never closed (text ends at char 18)"),
    ('{"a": tru}', "expected 'true' at char 6"),
])
def test_malformed_json_names_cause_and_place(text, reason):
    outcome = JsonScanner(text).value_at(0)
    assert isinstance(outcome, Malformed)
    assert reason in outcome.reason
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


def test_control_characters_in_strings_only_when_not_strict():
    text = '{"r": "line\nbreak\ttab"}'
    assert isinstance(JsonScanner(text).value_at(0), Malformed)
    assert isinstance(JsonScanner(text, strict=False).value_at(0), Span)


def test_height_and_first_key():
    outcome = JsonScanner('{"k": [[1], {"x": {}}]}').value_at(0)
    assert isinstance(outcome, Span) and outcome.height == 4 and outcome.first_key == "k"
    broken = JsonScanner('{"verdict": "pass", ').value_at(0)
    assert isinstance(broken, Malformed) and broken.first_key == "verdict"


def test_top_level_containers_skip_what_is_nested_and_resume_after_a_broken_one():
    text = 'a {"x": {"y": 1}} b {"z": [2} c {"w": 3} [4]'
    outcomes = list(iter_containers(text, "{["))
    spans = [text[o.start:o.end] for o in outcomes if isinstance(o, Span)]
    assert spans == ['{"x": {"y": 1}}', '{"w": 3}', "[4]"]
    # '[2}' inside the broken object is broken too, and reported on its own
    assert [o.start for o in outcomes if isinstance(o, Malformed)] == [20, 26]


# -- reasoning ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "drop_unclosed", "kept"), [
    ("<think>a</think>B<THINK>c</Think>D", False, "BD"),
    ("pre</think>after", False, "after"),
    ("<|begin_of_solution|><think>x</think>{}<|end_of_solution|> tail", False, "{}"),
    ("<think>unclosed {}", False, "<think>unclosed {}"),
    ("<think>unclosed {}", True, ""),
    ("x<think>a</think>y</think>z", False, "z"),
    ('{"r": "a </think> b"}', True, '{"r": "a </think> b"}'),
    ('<think>{"r": "</think>"} still thinking</think>{"v": 1}', True, '{"v": 1}'),
])
def test_split_reasoning(text, drop_unclosed, kept):
    assert split_reasoning(text, drop_unclosed=drop_unclosed).text(text) == kept


# -- linear time, counted --------------------------------------------------------------------
def _work(monkeypatch: pytest.MonkeyPatch, run: Callable[[str], object], text: str) -> int:
    """Steps (container tokens and string characters) of every scanner ``run(text)`` made."""
    scanners: list[JsonScanner] = []
    original_init = JsonScanner.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        scanners.append(self)

    monkeypatch.setattr(JsonScanner, "__init__", init)
    run(text)
    monkeypatch.undo()
    return sum(s.steps for s in scanners)


ADVERSARIAL = [
    "{", "[", '{"a":', '{"a":[', '{"x": "', '{"\\"{', "\\frac{a}{b} ", '{"k": [1, {"y" ',
    '{"a": "b"} {', '"{"', '{"a\n', '{"\\q', '{"k": "\t', "<think>{", "</think>{",
    '{"r": "</think>"', "<think>{\"a\": 1}",
]


@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_work_grows_linearly(monkeypatch, unit):
    def run(text: str) -> object:
        list(iter_containers(text, "{["))
        return split_reasoning(text, tags=("think",), drop_unclosed=True)

    small = _work(monkeypatch, run, unit * 2_000)
    large = _work(monkeypatch, run, unit * 8_000)
    # Prose braces ("{", "\\frac{a}{b}") cost no parse at all: the opener search passes
    # them over inside the regex engine (linear: see OpenerFinder).
    assert large <= 4.5 * small, (small, large)


def test_scanning_never_builds_a_json_decode_error(monkeypatch):
    """``JSONDecodeError`` counts lines from the start of the text (O(position)), so a scanner
    that raised one per broken string would be quadratic however few steps it counted."""
    built = []
    original = json.JSONDecodeError.__init__

    def init(self, *args):
        built.append(args[2])
        original(self, *args)

    monkeypatch.setattr(json.JSONDecodeError, "__init__", init)
    text = '{"a\n' * 500 + '{"\\q' * 500 + '{"k": "x' + '[1, tru' * 500
    outcomes = list(iter_containers(text, "{["))
    split_reasoning(text, drop_unclosed=True)
    assert len(outcomes) > 1000 and all(isinstance(o, Malformed) for o in outcomes)
    assert built == []
