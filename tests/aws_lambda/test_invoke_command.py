"""``rewardsmith lambda invoke``: the handler run locally as Lambda would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.aws_lambda import validate_answer

from rewardsmith import make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.cli.main import EXIT_CONFIG, EXIT_JUDGE_UNAVAILABLE, EXIT_SAMPLES_FAILED

ROLLOUTS = Path(__file__).resolve().parents[2] / "examples" / "rollouts" / \
    "json-extraction.jsonl"
CONTRACTS = ROLLOUTS.with_name("contract-review.jsonl")


def _invoke(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    host = make_plugin_host()
    result = CliRunner().invoke(build_cli(host), ["lambda", "invoke", *args], input=stdin,
                                obj={"host": host})
    return result.exit_code, result.stdout, result.stderr


def test_invoke_a_rollouts_file() -> None:
    code, out, err = _invoke(["--pack", "json-extraction", str(ROLLOUTS)])
    assert code == 0, err
    ids = [json.loads(line)["id"] for line in ROLLOUTS.read_text().splitlines()]
    validate_answer(json.loads(out), ids)
    assert '"reward_invocation"' in err and '"_aws"' in err  # logs stay off stdout


def test_invoke_an_api_gateway_event_from_stdin() -> None:
    sample = {"id": "x", "messages": [{"role": "assistant", "content": "{}"}]}
    event = json.dumps({"body": json.dumps([sample]), "headers": {}})
    code, out, _ = _invoke(["--pack", "json-extraction", "-"], stdin=event)
    assert code == 0
    validate_answer(json.loads(out), ["x"])


def test_invoke_with_a_broken_pack_answers_and_fails(tmp_path: Path) -> None:
    pack = tmp_path / "bad.toml"
    pack.write_text("[pack\n", encoding="utf-8")
    code, out, err = _invoke(["--pack", str(pack), str(ROLLOUTS)])
    assert code == 2
    answer = json.loads(out)
    validate_answer(answer)
    assert {r["aggregate_reward_score"] for r in answer} == {0.0}
    assert "invalid TOML" in err


def test_a_rollouts_file_with_bad_lines_answers_every_line(tmp_path: Path) -> None:
    """A line nested past any parser's depth limit, or not JSON at all, costs only itself."""
    good = {"id": "g", "messages": [{"role": "assistant", "content": '{"a": 1}'}]}
    path = tmp_path / "mixed.jsonl"
    path.write_text("[" * 5000 + "]" * 5000 + "\n" + json.dumps(good) + "\n{not json\n")
    code, out, err = _invoke(["--pack", "json-extraction", str(path)])
    assert code == EXIT_SAMPLES_FAILED  # as `score` exits; failed lines are rows, as in Lambda
    assert "2 of 3 samples could not be scored" in err
    answer = validate_answer(json.loads(out), [0, "g", 2])
    assert [r.metrics_list[0].name for r in answer] == ["sample_failed", "json", "sample_failed"]


def test_a_rollouts_line_with_a_lone_surrogate_escape_is_read_as_score_reads_it(
    tmp_path: Path,
) -> None:
    """orjson refuses a lone surrogate escape that JSON allows; both readers fall back alike."""
    good = '{"id": "g", "messages": [{"role": "assistant", "content": "{}"}]}'
    odd = '{"id": "s", "messages": [{"role": "assistant", "content": "\\ud800 {}"}]}'
    path = tmp_path / "odd.jsonl"
    path.write_text(good + "\n" + odd + "\n")
    code, out, _ = _invoke(["--pack", "json-extraction", str(path)])
    assert code == 0
    answer = validate_answer(json.loads(out), ["g", "s"])
    assert answer[1].metrics_list[0].name != "sample_failed"


def test_ids_beyond_64_bits_are_echoed_exactly(tmp_path: Path) -> None:
    """orjson reads 2**64 + 1 as a float; the id must come back digit for digit."""
    big = 18446744073709551617
    path = tmp_path / "big.jsonl"
    path.write_text("".join(
        json.dumps({"id": i, "messages": [{"role": "assistant", "content": "{}"}]}) + "\n"
        for i in (big, -big, 7)))
    code, out, _ = _invoke(["--pack", "json-extraction", str(path)])
    assert code == 0
    assert [row["id"] for row in json.loads(out)] == [big, -big, 7]
    assert "e+19" not in out


@pytest.mark.parametrize(("event", "why"), [
    # OpenRLHF's /get_reward body is not a Lambda event: the handler answers [], no sample
    ({"query": ["a"], "prompts": ["a"], "labels": [None]}, "event is an object with 3 keys"),
    ([], "an empty list"),
])
def test_an_event_with_no_samples_is_an_input_error(event: object, why: str) -> None:
    code, out, err = _invoke(["--pack", "json-extraction", "-"], stdin=json.dumps(event))
    assert code == EXIT_CONFIG, err
    assert json.loads(out) == []  # the Lambda's answer is still printed
    assert "error: the event held no samples to score" in err and why in err


def test_a_judge_that_could_not_run_exits_4_unless_allowed(no_aws: None) -> None:
    """contract-review's Bedrock judge has no region: the rows carry checks-only rewards,
    so the command exits as `score` does, 4, unless --allow-judge-failures."""
    code, out, err = _invoke(["--pack", "contract-review", str(CONTRACTS)])
    assert code == EXIT_JUDGE_UNAVAILABLE, err
    rows = validate_answer(json.loads(out))
    assert len(rows) == len(CONTRACTS.read_text().splitlines())
    assert "error: judge component 'review' could not run (judge_config)" in err
    assert "--allow-judge-failures" in err

    code, out, err = _invoke(["--allow-judge-failures", "--pack", "contract-review",
                              str(CONTRACTS)])
    # allowed, so not 4; but the judge's on_error (group_mean over a group whose every
    # member failed) fails those samples, and failed samples exit 3, as `score` does
    assert code == EXIT_SAMPLES_FAILED, err
    assert "warning: judge component 'review' could not run (judge_config)" in err
    assert "samples could not be scored" in err
