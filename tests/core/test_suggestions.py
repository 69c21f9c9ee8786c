"""Issue 15: every user-facing error names the place (file:line, or the line of a JSONL
file) and the closest valid alternative. One test per error kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import PackError
from rewardsmith.core.rollouts import read_rollouts
from rewardsmith.core.suggest import closest, did_you_mean


@pytest.fixture(scope="module")
def host():
    return make_plugin_host()


def _pack_error(host, tmp_path: Path, text: str) -> tuple[Path, str]:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as info:
        load_pack(path, host)
    return path, str(info.value)


HEAD = '[pack]\nname = "p"\nversion = "1"\n\n'


def test_closest_is_case_blind_and_refuses_far_names() -> None:
    assert closest("Lenght", ["length", "regex"]) == ["length"]
    assert closest("nope", ["bedrock", "openai"]) == []
    assert did_you_mean("judges", ["judge"], fmt="[{}]") == " (did you mean [judge]?)"


def test_unknown_component_type(host, tmp_path: Path) -> None:
    path, message = _pack_error(host, tmp_path,
                                HEAD + '[[components]]\nid = "a"\ntype = "lenght"\n')
    assert f"{path}:7: components[0] (id='a', type='lenght'): unknown component type " \
           "'lenght' (did you mean 'length'?); installed types: " in message


def test_unknown_top_level_table(host, tmp_path: Path) -> None:
    path, message = _pack_error(
        host, tmp_path, HEAD + '[judges]\nbackend = "bedrock"\n\n'
        '[[components]]\nid = "a"\ntype = "length"\nmax = 5\n')
    assert f"{path}:5: unknown top-level table or key 'judges' (did you mean [judge]?); " \
           "a pack has [pack], [judge], [[components]], [aggregate], [tests]" in message
    assert "Extra inputs are not permitted" not in message  # not pydantic's raw text


def test_misspelt_components_array(host, tmp_path: Path) -> None:
    path, message = _pack_error(host, tmp_path,
                                HEAD + '[[component]]\nid = "a"\ntype = "length"\n')
    assert f"{path}:5: unknown top-level table or key 'component' (did you mean " \
           "[[components]]?)" in message


def test_unknown_judge_backend_in_a_component(host, tmp_path: Path) -> None:
    path, message = _pack_error(
        host, tmp_path, HEAD + '[judge]\nbackend = "bedrock"\nmodel = "m"\n\n'
        '[[components]]\nid = "r"\ntype = "rubric-judge"\n'
        'criteria = [{id = "c", pass_if = "x"}]\njudge = { backend = "opnai" }\n')
    assert f"{path}:13: components id='r': judge settings: unknown judge backend 'opnai' " \
           "(did you mean 'openai'?); installed: bedrock, openai" in message


def test_missing_criteria_file_names_its_line(host, tmp_path: Path) -> None:
    path, message = _pack_error(
        host, tmp_path, HEAD + '[judge]\nbackend = "bedrock"\nmodel = "m"\n\n'
        '[[components]]\nid = "r"\ntype = "rubric-judge"\nweight = 1.0\n'
        'criteria_file = "rubrics/missing.toml"\n')
    assert message.startswith(f"{path}:13: components id='r' (rubric-judge): ")
    assert "rubrics/missing.toml" in message


def test_unknown_pack_name(host) -> None:
    with pytest.raises(PackError) as info:
        load_pack("json-extractoin", host)
    assert "no pack named 'json-extractoin' is registered (did you mean " \
           "'json-extraction'?)" in str(info.value)


def _scored_errors(tmp_path: Path, lines: list[str]) -> list[str | None]:
    path = tmp_path / "rollouts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scorer = Scorer(load_pack("json-extraction"))
    try:
        return [r.error for batch in read_rollouts(path, 2)
                for r in scorer.score(batch).results]
    finally:
        scorer.close()


def test_bad_jsonl_uses_file_line_numbers_and_shows_the_shape(tmp_path: Path) -> None:
    errors = _scored_errors(tmp_path, [
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "{}"}]}',
        "",  # a blank line still counts in the numbering
        '{"messages": [{"role": "user", "content": "q"}]}',
        "[1, 2]",
        "{not json",
        '{"id": "x", "message": []}',
    ])
    assert errors[0] is None
    assert errors[1] is not None and errors[1].startswith(
        "line 3: no assistant turn in 'messages' (the response to score; roles found: user;"
        " the response is the last turn with role assistant, bot, nova_assistant; known "
        "roles: system, developer, user, tool, assistant, bot, nova_assistant)")
    assert errors[2] is not None and errors[2].startswith(
        'line 4: expected a JSON object, got list; a sample is {"messages": [{"role": '
        '"user", "content": "..."}, {"role": "assistant", "content": "..."}]')
    assert errors[3] is not None and errors[3].startswith("line 5: not valid JSON")
    assert errors[4] is not None and errors[4].startswith(
        "line 6 (id='x'): missing 'messages' (found 'message': the key is 'messages'); "
        'a sample is {"messages"')
    assert not any("sample #" in e for e in errors if e)  # one numbering only


def test_sample_errors_outside_files_keep_batch_positions() -> None:
    scorer = Scorer(load_pack("json-extraction"))
    try:
        [result] = scorer.score([{"messages": []}]).results
    finally:
        scorer.close()
    assert result.error is not None and result.error.startswith("sample #0 (id=0): ")
