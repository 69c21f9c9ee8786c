"""Unusable lines of a step file are named by line with what is wrong (tester finding 12,
"monitor input messages", as a kind): not valid JSON, a JSON array or scalar, a JSON
object of another kind, text in a file of score rows; a Lambda log's own lines (platform
lines, structlog lines of other events) are passed over."""

from __future__ import annotations

import json

import pytest
from tests.support.monitor_runs import write_lambda_step, write_run

from rewardsmith.monitor import SKIPPED_LISTED, monitor
from rewardsmith.monitor.steps import MonitorInputError, SkippedLine, read_step


@pytest.fixture(scope="module")
def rows_text(tmp_path_factory) -> str:
    path = write_run(tmp_path_factory.mktemp("run"), steps=1)[0]
    return path.read_text(encoding="utf-8")


BAD_LINES = [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes at "
                  "column 2)"),
    ('{"aggregate_reward_score": 1.0, "components": {}', "not valid JSON (Expecting ',' "
                                                         "delimiter at column 49)"),
    ("[1, 2]", "a JSON array of 2 item(s), not an object"),
    ('[{"reward": 1.0, "components": {}}]', "a JSON array of 1 item(s), not an object"),
    ('{"hello": 1, "id": "x"}', "a JSON object of another kind (keys 'hello', 'id'): "
                                "neither a score row (with 'aggregate_reward_score' and "
                                "'components' or 'status') nor a reward-Lambda line (an EMF "
                                "document or a 'reward_invocation' line)"),
    ("{}", "an empty JSON object"),
    ('{"event": "judge_call", "level": "info"}', "a JSON object of another kind (keys "
                                                 "'event', 'level'):"),
    ("START RequestId: x", "not JSON"),
    ("null", "a JSON null, not an object"),
    ('"text"', "a JSON string, not an object"),
    ("12", "a JSON number, not an object"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_each_unusable_line_in_score_rows_is_named(tmp_path, rows_text, line, reason):
    path = tmp_path / "step.jsonl"
    # the bad line in the middle of the rows: line 11
    rows = rows_text.splitlines(keepends=True)
    path.write_text("".join(rows[:10]) + line + "\n" + "".join(rows[10:]), encoding="utf-8")
    st, skipped = read_step(path, 2)
    assert st.samples == 128
    assert len(skipped) == 1 and skipped[0].line == 11
    assert skipped[0].reason.startswith(reason), skipped[0].reason


def test_a_lambda_log_passes_its_own_lines_over_and_names_the_rest(tmp_path):
    path = write_lambda_step(tmp_path / "step.log", [
        {"samples": 4, "reward_mean": 0.5, "reward_std": 0.1, "judge_calls": 4}])
    own = ["[INFO]\t2026-11-30T10:00:00Z\treq-0\tloaded pack",
           "REPORT RequestId: req-0\tDuration: 120.00 ms",
           json.dumps({"event": "judge: json_schema rejected, using json_object",
                       "level": "warning"})]
    bad = ["{broken", "[1]", '{"hello": 1}']
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n".join(own + bad) + "\n", encoding="utf-8")
    start = len(text.splitlines())
    st, skipped = read_step(path, 1)
    assert st.source == "lambda" and st.samples == 4
    assert [(s.line, s.reason.split(" (")[0]) for s in skipped] == [
        (start + 4, "not valid JSON"), (start + 5, "a JSON array of 1 item(s), not an object"),
        (start + 6, "a JSON object of another kind")]


def test_a_file_with_no_usable_line_lists_the_first_three_and_counts_the_rest(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(line for line, _ in BAD_LINES[:5]) + "\n", encoding="utf-8")
    with pytest.raises(MonitorInputError) as info:
        read_step(path, 4)
    assert str(info.value) == (
        f"step 4: {path} has no score rows and no reward-Lambda log lines (5 unusable "
        f"line(s): line 1: {BAD_LINES[0][1]}; line 2: {BAD_LINES[1][1]}; line 3: "
        f"{BAD_LINES[2][1]}; and 2 more)")


def test_the_result_lists_skipped_lines_with_their_step_and_file(tmp_path, rows_text):
    path = tmp_path / "step.jsonl"
    bad = [f"{{bad {i}" for i in range(SKIPPED_LISTED + 5)]
    path.write_text(rows_text + "\n".join(bad) + "\n", encoding="utf-8")
    result = monitor([path])
    assert result.skipped_lines == {1: SKIPPED_LISTED + 5}
    assert result.skipped[1][0] == SkippedLine(129, "not valid JSON (Expecting property name "
                                                    "enclosed in double quotes at column 2)")
    doc = result.to_json()
    assert doc["skipped_lines"] == {"1": SKIPPED_LISTED + 5}
    assert len(doc["skipped"]) == SKIPPED_LISTED
    assert doc["skipped"][0] == {"step": 1, "path": str(path), "line": 129,
                                 "reason": result.skipped[1][0].reason}
