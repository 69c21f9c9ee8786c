"""repetition: n-grams, duplicate lines, duplicate JSON items."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from rewardsmith.plugins.checks.repetition import Repetition, ngram_repeat_rate

PROSE = ("The contract sets a payment term of thirty days. Late payments accrue interest at "
         "two percent per month. Either party may terminate with ninety days notice.")


def test_ngram_rate():
    assert ngram_repeat_rate(["a", "b", "c", "a", "b", "c"], 3) == pytest.approx(1 - 3 / 4)
    assert ngram_repeat_rate(["a", "b"], 3) == 0.0


def test_ngram_passes_normal_prose_and_catches_loops(build, sample):
    check = build(Repetition, max_ngram_repeat=0.2)
    ok = check.score(sample(PROSE))
    assert ok.passed and ok.value == 1.0 and ok.measurements["ngram_repeat"] == 0.0
    looped = check.score(sample(PROSE + " I am sure." * 40))
    assert looped.passed is False and looped.value < 0.5


def test_duplicate_lines(build, sample):
    check = build(Repetition, max_duplicate_lines=0.0)
    text = "- Clause 4 is vague.\n- Clause 7 lacks a cap.\n- clause 4 is  vague.\n}\n}"
    score = check.score(sample(text))
    assert score.passed is False
    # the short '}' lines are not compared
    assert score.measurements["duplicate_lines"] == pytest.approx(1 / 3, abs=1e-3)
    assert check.score(sample("- Clause 4 is vague.\n- Clause 7 lacks a cap.")).passed


def test_duplicate_json_items_catch_repeated_comments(build, sample):
    check = build(Repetition, items_path="comments")
    comments = [{"clause": "4.1", "remark": "Vague term"},
                {"clause": "7.2", "remark": "No liability cap"},
                {"remark": "vague  TERM", "clause": "4.1"}]
    score = check.score(sample(json.dumps({"comments": comments})))
    assert score.passed is False
    assert score.measurements["duplicate_items"] == pytest.approx(1 / 3, abs=1e-3)
    assert score.value == pytest.approx(2 / 3)
    assert check.score(sample(json.dumps({"comments": comments[:2]}))).value == 1.0


def test_element_path_form_is_equivalent(build, sample):
    text = json.dumps({"rows": [{"a": [1]}, {"a": [1]}]})
    assert build(Repetition, items_path="rows[]").score(sample(text)).measurements[
        "duplicate_items"] == 0.5
    assert build(Repetition, items_path="rows").score(sample(text)).measurements[
        "duplicate_items"] == 0.5


def test_json_string_ngrams_ignore_repeated_keys(build, sample):
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    rows = [{"description": name, "unit": "pcs", "category": "hardware"} for name in names]
    text = json.dumps({"line_items": rows})
    by_text = build(Repetition, max_ngram_repeat=0.2).score(sample(text))
    by_strings = build(Repetition, max_ngram_repeat=0.2, ngram_source="json_strings")
    assert by_text.passed is False  # the keys repeat in every row
    assert by_strings.score(sample(text)).passed


def test_value_is_worst_measure(build, sample):
    check = build(Repetition, max_ngram_repeat=0.9, max_duplicate_lines=0.0)
    text = "same line here\nsame line here\nsame line here\nsame line here"
    score = check.score(sample(text))
    assert score.value == pytest.approx(0.25)


def test_ngrams_are_on_by_default_and_can_be_turned_off(build, sample):
    looped = sample(PROSE + " I am sure." * 40)
    assert build(Repetition).score(looped).passed is False
    items_only = build(Repetition, max_ngram_repeat=1, items_path="rows")
    score = items_only.score(sample('{"rows": [1, 2], "t": "' + "la " * 50 + '"}'))
    assert score.passed and "ngram_repeat" not in score.measurements
    with pytest.raises(ValidationError, match="every measure is off"):
        Repetition.Config.model_validate({"type": "repetition", "id": "r",
                                          "max_ngram_repeat": 1})
