from __future__ import annotations

import pytest

from rewardsmith.calibration import CalibrationError, join, read_outcomes, read_scored
from rewardsmith.calibration.data import id_key


def _write(path, *lines: str):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_outcomes_are_read_with_bools_as_numbers_and_blank_lines_skipped(tmp_path):
    path = _write(tmp_path / "o.jsonl", '{"id": "a", "outcome": 2.5}', "",
                  '{"id": 7, "outcome": true}', '{"id": "c", "clicks": 3, "outcome": 0}')
    outcomes = read_outcomes(path)
    assert outcomes[id_key("a")].value == 2.5
    assert outcomes[id_key(7)].value == 1.0
    with pytest.raises(CalibrationError, match=r"o\.jsonl:1: the row has no 'clicks'"):
        read_outcomes(path, "clicks")


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "a", "outcome": "3.5"}', "'outcome' must be a number, got str"),
    ('{"id": "a", "outcome": null}', "'outcome' must be a number, got NoneType"),
    ('{"outcome": 1}', "the row has no 'id'"),
    ('{"id": "a", "reward": 1}', "no 'outcome' field (keys: ['id', 'reward']); choose the "
                                 "field with --outcome-field"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"id": "a", "outcome": 1', "not valid JSON"),
])
def test_bad_outcome_rows_name_the_file_and_line(tmp_path, line, message):
    path = _write(tmp_path / "o.jsonl", '{"id": "ok", "outcome": 1}', line)
    with pytest.raises(CalibrationError) as info:
        read_outcomes(path)
    assert f"{path}:2: " in str(info.value)
    assert message in str(info.value)


def test_duplicate_outcome_ids_are_rejected(tmp_path):
    path = _write(tmp_path / "o.jsonl", '{"id": 1, "outcome": 1}', '{"id": 1, "outcome": 2}')
    with pytest.raises(CalibrationError, match="already appeared on line 1"):
        read_outcomes(path)


def test_scored_rows_must_look_like_score_output(tmp_path):
    path = _write(tmp_path / "s.jsonl", '{"id": 1, "aggregate_reward_score": 0.5}',
                  '{"id": 2}')
    with pytest.raises(CalibrationError, match=r"s.jsonl:2: not a scored row"):
        read_scored(path)


def _rows(ids):
    return [{"id": i, "aggregate_reward_score": 0.5} for i in ids]


def test_the_join_is_exact_and_reports_both_sides(tmp_path):
    lines = [f'{{"id": {i}, "outcome": {i}}}' for i in range(12)]
    lines.append('{"id": "extra", "outcome": 0}')
    outcomes = read_outcomes(_write(tmp_path / "o.jsonl", *lines))
    # "3" (a string) is not 3 (a number); 1.0 is not 1: no silent coercion.
    joined = join(_rows([*range(12), "3", 1.0]), outcomes)
    assert len(joined.rows) == 12
    assert joined.outcomes[:3] == [0.0, 1.0, 2.0]
    assert joined.unmatched_scored == ["3", 1.0]
    assert joined.unmatched_outcomes == ["extra"]
    text = joined.describe_unmatched()
    assert "2 scored samples without an outcome (ids '3', 1.0)" in text
    assert "1 outcomes without a scored sample (ids 'extra')" in text


def test_too_few_matches_is_a_clear_error(tmp_path):
    outcomes = read_outcomes(_write(tmp_path / "o.jsonl",
                                    *[f'{{"id": "o{i}", "outcome": 1}}' for i in range(20)]))
    with pytest.raises(CalibrationError) as info:
        join(_rows([f"o{i}" for i in range(9)] + ["x1", "x2"]), outcomes)
    text = str(info.value)
    assert "only 9 scored samples have an outcome; calibration needs at least 10" in text
    assert "2 scored samples without an outcome" in text
    assert "11 outcomes without a scored sample" in text


def test_duplicate_scored_ids_are_rejected(tmp_path):
    outcomes = read_outcomes(_write(tmp_path / "o.jsonl", '{"id": 1, "outcome": 1}'))
    with pytest.raises(CalibrationError, match="appears more than once"):
        join(_rows([1, 1]), outcomes)
