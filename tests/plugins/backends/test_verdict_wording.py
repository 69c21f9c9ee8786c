"""Prompted-JSON wordings (issue 14), pinned by their properties, not their text: what every
wording a backend may send keeps (the top-level keys named, never the schema's name, the
schema between tags, the system turn), and what made ``example`` measure best on the real
0.5B judge (bench/RESULTS.md, "Issue 14 — prompted-JSON wording")."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.judging import JudgeRequest
from rewardsmith.plugins.backends import _verdict
from rewardsmith.plugins.backends._verdict import WORDINGS, json_instructions, schema_errors
from rewardsmith.plugins.judges.rubric import Criterion, Level, explicit_schema, holistic_schema
from rewardsmith.simulators.faults import schema_from_prompt

TWO = explicit_schema([Criterion(id="correct", pass_if="The answer is right."),
                       Criterion(id="on_topic", pass_if="It answers the question.")])
LEVELS = explicit_schema([
    Criterion(id="clarity", pass_if="Clear.", levels=[Level(score=1, description="poor"),
                                                      Level(score=3, description="good")]),
    Criterion(id="correct", pass_if="Right."),
])
SCHEMAS = {"two criteria": TWO, "levels": LEVELS, "holistic": holistic_schema(range(1, 6)),
           "plain": VERDICT_SCHEMA}
TAGS = re.compile(r"<verdict_schema>.*?</verdict_schema>", re.DOTALL)
#: Wordings a backend may be switched to (the default and the measured best); ``named`` (the
#: original, which small models wrapped) and the user-turn variant are kept for the bench only.
CANDIDATES = sorted({_verdict.JSON_WORDING, "example"})


def example_text(schema: dict[str, Any]) -> str:
    return WORDINGS["example"].render(schema, "rubric_verdict")


def example_in(text: str) -> Any:
    """The JSON object the instruction shows outside the schema tags (None if none)."""
    outside = TAGS.sub("", text)
    start = outside.find("{")
    return None if start == -1 else json.JSONDecoder().raw_decode(outside, start)[0]


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_example_wording_shows_a_filled_example_that_is_itself_a_valid_verdict(
        schema: dict[str, Any]) -> None:
    text = example_text(schema)
    example = example_in(text)
    assert isinstance(example, dict)
    assert schema_errors(example, schema) == []  # copying its shape gives a valid verdict
    assert list(example) == list(schema["properties"])


def test_the_example_does_not_offer_one_verdict_to_copy() -> None:
    example = example_in(example_text(TWO))
    assert {v["verdict"] for v in example.values()} == {"pass", "fail"}


@pytest.mark.parametrize("wording", CANDIDATES)
@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_wording_names_the_top_level_keys_and_never_the_schema_name(
        schema: dict[str, Any], wording: str) -> None:
    text = WORDINGS[wording].render(schema, "rubric_verdict")
    # A 0.5B model asked for "one JSON object named 'rubric_verdict'" wrapped its verdict in
    # that key in every reply; naming the keys and saying "not wrapped" is what it follows.
    assert "rubric_verdict" not in text
    outside = TAGS.sub("", text)
    for key in schema["properties"]:
        assert f'"{key}"' in outside
    assert re.search(r"not wrap(ped)? it in another key|not wrapped in another key", text)


@pytest.mark.parametrize("wording", CANDIDATES)
@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_schema_travels_between_tags(schema: dict[str, Any], wording: str) -> None:
    # Models read the exact shape there, and so do the bundled simulators.
    assert schema_from_prompt(WORDINGS[wording].render(schema, "v")) == schema


def test_the_default_is_what_json_instructions_sends() -> None:
    assert json_instructions(TWO, "v") == WORDINGS[_verdict.JSON_WORDING].render(TWO, "v")


def test_the_example_wording_asks_for_short_strings_and_nothing_around_the_object() -> None:
    text = example_text(TWO).lower()
    # Without these the 0.5B model copied the candidate into each rationale and ran past
    # max_tokens (truncated verdicts), or wrote prose the repair turn could not fix.
    assert "short" in text and "do not copy" in text
    assert "only one json object" in text and "no other text" in text


@pytest.mark.parametrize("wording", CANDIDATES)
def test_the_wordings_a_backend_may_send_go_in_the_system_prompt(wording: str) -> None:
    # The system prompt holds only trusted text and the user message ends with the data
    # rules' closing; neither candidate moves the format instruction into the user turn.
    assert WORDINGS[wording].turn == "system"


@pytest.mark.parametrize("mode", ["prompt", "json_object"])
@pytest.mark.parametrize("wording", ["example", "keys-last"])
def test_the_openai_backend_puts_the_wording_in_its_turn(
        mode: str, wording: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from rewardsmith.plugins.backends.openai import OpenAIBackend, OpenAIConfig

    monkeypatch.setattr(_verdict, "JSON_WORDING", wording)
    backend = OpenAIBackend(OpenAIConfig(model="m"))
    request = JudgeRequest(system="You grade.", user="Candidate: x", json_schema=TWO,
                           schema_name="rubric_verdict")
    body = backend._body(request, [{"role": "user", "content": request.user}], mode)
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    text = WORDINGS[wording].render(TWO, "rubric_verdict")
    if WORDINGS[wording].turn == "system":
        assert system == "You grade." + text and user == "Candidate: x"
    else:  # after the data, at the end of the first user turn
        assert system == "You grade." and user == "Candidate: x" + text
