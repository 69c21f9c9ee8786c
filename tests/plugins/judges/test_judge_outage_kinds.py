"""Every judge kind against a judge whose replies have the wrong JSON type, or whose every
verdict is unusable, scored through the engine with real httpx clients against the hostile
local server (tests/support/hostile_judge.py): the failure is a named judge kind, the
batch reports a judge outage (``batch.judge_outages``, ``raise_for_judge_outage``) — never
an ``exception`` outcome with the checks-only reward and no outage — and failed rows
carry the calls' mode, attempts and repair turns. A juror that fails is left out; a
cascade escalates a first verdict that could not be read and fails on any other failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.hostile_judge import HostileServer, hostile_server
from tests.support.judges import make_pack, sample

from rewardsmith import Scorer, load_pack
from rewardsmith.core.errors import ComponentError, ErrorKind, JudgeUnavailableError
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.results import BatchResult

FAST = {"max_retries": 0, "retry_base_delay_s": 0.001, "retry_max_delay_s": 0.002,
        "circuit_failure_threshold": 50}


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def judge_table(server: HostileServer, mode: str, **extra: Any) -> dict[str, Any]:
    return {"backend": "openai", "model": "judge", "base_url": f"{server.url}/{mode}/v1",
            **FAST, **extra}


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def score(tmp_path: Path, judge: dict[str, Any], component: str,
          samples: list[dict[str, Any]] | None = None) -> BatchResult:
    """Score two wrong answers with a pack of a length check (weight 0.2) and ``component``
    (a TOML ``[[components]]`` body with id ``q``, weight 0.8)."""
    table = "\n".join(f"{k} = {toml_value(v)}" for k, v in judge.items())
    path = tmp_path / "pack.toml"
    path.write_text(f"""
[pack]
name = "outage-kinds"
version = "0.1.0"

[judge]
{table}

[[components]]
id = "len"
type = "length"
min = 1
weight = 0.2

[[components]]
id = "q"
weight = 0.8
{component}
""", encoding="utf-8")
    scorer = Scorer(load_pack(path))
    try:
        return scorer.score(samples or [
            sample("It is 5.", prompt="2+2?", sid="a"),
            sample("It is 7.", prompt="3+3?", sid="b")], timeout_s=120)
    finally:
        scorer.close()


RUBRIC = 'type = "rubric-judge"\ncriteria = [{ id = "correct", pass_if = "The answer is right." }]'


def assert_outage(batch: BatchResult, kind: str, cause: str = "") -> None:
    """Every sample's judge failed with ``kind``; the batch names an outage of that kind."""
    outcomes = [r.components["q"] for r in batch.results]
    assert [o.error_kind for o in outcomes] == [kind] * len(outcomes), \
        [o.error for o in outcomes]
    [outage] = batch.judge_outages
    assert (outage.component, outage.kind) == ("q", kind)
    assert cause in outage.cause
    with pytest.raises(JudgeUnavailableError):
        batch.raise_for_judge_outage()


@pytest.mark.parametrize("body", ["null", "list", "string", "number"])
def test_rubric_judge_on_a_body_of_the_wrong_type_is_an_outage(
        tmp_path: Path, server: HostileServer, body: str) -> None:
    batch = score(tmp_path, judge_table(server, f"raw:{body}"), RUBRIC)
    assert_outage(batch, "judge_unavailable", "not a response object")
    row = batch.results[0].components["q"]
    assert row.measurements["judge_attempts"] == 1
    assert row.measurements["judge_mode"] == "json_schema"
    assert row.measurements["judge_repairs"] == 0
    assert batch.telemetry.summary()["judge_unavailable"]["q"]["kind"] == "judge_unavailable"


@pytest.mark.parametrize("body", ["choices_str", "message_str", "content_num"])
def test_rubric_judge_on_parts_of_the_wrong_type_is_an_outage(
        tmp_path: Path, server: HostileServer, body: str) -> None:
    assert_outage(score(tmp_path, judge_table(server, f"raw:{body}"), RUBRIC), "judge_parse",
                  "expected")


def test_every_verdict_ambiguous_is_an_outage(tmp_path: Path, server: HostileServer) -> None:
    """A reasoning model whose <think> holds a second verdict: ambiguous on every sample,
    after the repair turn (tester finding 4)."""
    batch = score(tmp_path, judge_table(server, "think"), RUBRIC)  # json_schema: no tag skipping
    assert_outage(batch, "ambiguous_verdict", "ambiguous verdict after one repair request")
    row = batch.results[0].components["q"]
    assert (row.measurements["judge_repairs"], row.measurements["judge_attempts"]) == (1, 2)


def test_one_usable_verdict_is_no_outage(tmp_path: Path, server: HostileServer) -> None:
    # the same judge, one sample judged: the judge ran, so the batch is not an outage
    batch = score(tmp_path, judge_table(server, "ok"), RUBRIC)
    assert batch.judge_outages == []
    assert [r.components["q"].value for r in batch.results] == [1.0, 1.0]


def test_a_failed_call_that_gave_up_reports_its_attempts(tmp_path: Path,
                                                         server: HostileServer) -> None:
    batch = score(tmp_path, judge_table(server, "e500", max_retries=4), RUBRIC)
    assert_outage(batch, "judge_unavailable", "gave up after 5 attempts")
    for result in batch.results:
        measured = result.components["q"].measurements
        assert measured["judge_attempts"] == 5
        assert measured["judge_mode"] == "json_schema"
        assert measured["judge_calls"] == 1 and measured["judge_failed_calls"] == 1
    assert batch.telemetry.judge_attempts == 10
    assert batch.telemetry.judge_modes == {"json_schema": 2}


# -- juries: a failing juror is left out and counted ------------------------------------------
def jury(server: HostileServer, modes: list[str]) -> str:
    # each juror its own model: jurors one call would answer are refused at load
    jurors = ", ".join(f'{{ base_url = "{server.url}/{m}/v1", model = "juror-{k}" }}'
                       for k, m in enumerate(modes))
    names = ", ".join(f'"{n}"' for n in "abc"[:len(modes)])
    return (f'type = "jury-judge"\njurors = [{jurors}]\njuror_names = [{names}]\n'
            'criteria = [{ id = "correct", pass_if = "The answer is right." }]')


@pytest.mark.parametrize("bad", ["raw:null", "raw:message_str"])
def test_a_jury_leaves_out_a_juror_whose_replies_have_the_wrong_type(
        tmp_path: Path, server: HostileServer, bad: str) -> None:
    before = sum(server.calls.values())
    batch = score(tmp_path, judge_table(server, "ok"), jury(server, ["ok", bad, "ok"]))
    assert batch.judge_outages == []
    expected = "judge_unavailable" if bad == "raw:null" else "judge_parse"
    for result in batch.results:
        outcome = result.components["q"]
        assert outcome.error is None and outcome.value == 1.0
        assert outcome.measurements["jurors_voted"] == 2
        assert outcome.measurements["jurors_failed"] == 1
        assert outcome.details["jurors_failed"] == {"b": expected}
        assert outcome.measurements["judge_calls"] == 3
        assert outcome.measurements["deduplicated"] == 0
        assert outcome.measurements["judge_failed_calls"] == 1
        # the verdict stands on two jurors, and the left-out juror is a counted failure
        assert outcome.partial_error_kind == expected
    assert batch.telemetry.failures == {expected: len(batch.results)}
    assert batch.telemetry.component_failures == {"q": {expected: len(batch.results)}}
    # the rows sum to what the server was sent
    assert sum(r.components["q"].measurements["judge_calls"] for r in batch.results) == \
        sum(server.calls.values()) - before


def test_a_jury_whose_every_juror_fails_is_an_outage(tmp_path: Path,
                                                     server: HostileServer) -> None:
    batch = score(tmp_path, judge_table(server, "ok"),
                  jury(server, ["raw:null", "raw:list", "raw:null"]))
    assert_outage(batch, "judge_unavailable", "every juror failed")
    measured = batch.results[0].components["q"].measurements
    assert measured["jurors_failed"] == 3
    # each juror has its own model (identical jurors are refused at load): three calls,
    # each failed once
    assert measured["judge_calls"] == measured["judge_attempts"] == 3
    assert measured["deduplicated"] == 0 and measured["judge_failed_calls"] == 3


# -- cascades: escalate what could not be read, fail on the rest -------------------------------
def cascade(server: HostileServer, first: str, second: str) -> str:
    return (f'type = "cascade-judge"\nfirst = {{ base_url = "{server.url}/{first}/v1" }}\n'
            f'second = {{ base_url = "{server.url}/{second}/v1" }}\n'
            'criteria = [{ id = "correct", pass_if = "The answer is right." }]')


def test_a_cascade_whose_first_judge_is_unreachable_fails_loudly(
        tmp_path: Path, server: HostileServer) -> None:
    assert_outage(score(tmp_path, judge_table(server, "ok"), cascade(server, "raw:null", "ok")),
                  "judge_unavailable")


def test_a_cascade_escalates_a_first_reply_that_cannot_be_read(
        tmp_path: Path, server: HostileServer) -> None:
    batch = score(tmp_path, judge_table(server, "ok"),
                  cascade(server, "raw:content_num", "ok"))
    assert batch.judge_outages == []
    for result in batch.results:
        outcome = result.components["q"]
        assert outcome.value == 1.0
        assert outcome.details["cascade"]["reason"] == "parse_failure:judge_parse"
        assert outcome.measurements["judge_calls"] == 2
        assert outcome.measurements["judge_failed_calls"] == 1


def test_a_cascade_whose_second_judge_fails_is_an_outage(tmp_path: Path,
                                                         server: HostileServer) -> None:
    # "fail" verdicts score 0, outside the default band: escalate every sample by parse
    # failure instead, so the second judge (null) is asked each time
    batch = score(tmp_path, judge_table(server, "ok"),
                  cascade(server, "wrongschema", "raw:null"))
    assert_outage(batch, "judge_unavailable")
    measured = batch.results[0].components["q"].measurements
    assert measured["judge_calls"] == 2 and measured["judge_repairs"] == 1


# -- pairwise, listwise, distribution scores ---------------------------------------------------
def test_pairwise_against_a_null_judge_is_an_outage(tmp_path: Path,
                                                    server: HostileServer) -> None:
    component = 'type = "pairwise-judge"\nmode = "baseline"'
    samples = [sample("It is 5.", prompt="2+2?", sid=k, metadata={"baseline_response": "4"})
               for k in "ab"]
    batch = score(tmp_path, judge_table(server, "raw:null"), component, samples)
    assert_outage(batch, "judge_unavailable")
    assert batch.results[0].components["q"].measurements["judge_calls"] == 2


def test_pairwise_group_against_a_null_judge_is_an_outage(tmp_path: Path,
                                                          server: HostileServer) -> None:
    component = 'type = "pairwise-judge"\nmode = "group"'
    samples = [sample(text, prompt="2+2?", sid=k) for k, text in
               (("a", "It is 5."), ("b", "It is 4."))]
    assert_outage(score(tmp_path, judge_table(server, "raw:list"), component, samples),
                  "judge_unavailable")


def test_listwise_against_a_null_judge_is_an_outage(tmp_path: Path,
                                                    server: HostileServer) -> None:
    component = 'type = "listwise-judge"'
    samples = [sample(text, prompt="2+2?", sid=k) for k, text in
               (("a", "It is 5."), ("b", "It is 4."))]
    batch = score(tmp_path, judge_table(server, "raw:string"), component, samples)
    assert_outage(batch, "judge_unavailable")
    assert batch.results[0].components["q"].measurements["judge_attempts"] == 1


def test_distribution_scores_with_malformed_logprobs_fall_back_and_say_so(
        tmp_path: Path, server: HostileServer) -> None:
    batch = score(tmp_path, judge_table(server, "lpbad", logprobs=True, top_logprobs=5),
                  RUBRIC + '\nscore_from = "distribution"')
    assert batch.judge_outages == []
    for result in batch.results:
        outcome = result.components["q"]
        assert outcome.value == 1.0
        assert outcome.measurements["score_source"] == "sampled_fallback"


# -- the general kind: an unclassified exception inside a judge --------------------------------
def test_an_exception_inside_a_judge_is_counted_as_a_judge_outage(tmp_path: Path) -> None:
    def broken(_request: JudgeRequest) -> Any:
        raise RuntimeError("the judge plugin fell over")

    pack, _ = make_pack(tmp_path, broken, """
[[components]]
id = "q"
type = "rubric-judge"
weight = 0.8
criteria = [{ id = "correct", pass_if = "The answer is right." }]
""")
    scorer = Scorer(pack)
    try:
        batch = scorer.score([sample("It is 5.", sid="a"), sample("It is 7.", sid="b")])
    finally:
        scorer.close()
    assert_outage(batch, "judge_internal_error", "RuntimeError: the judge plugin fell over")
    assert batch.telemetry.failures["judge_internal_error"] == 2
    assert "exception" not in batch.telemetry.failures


def test_a_sample_too_large_for_the_judge_is_no_outage(tmp_path: Path,
                                                       server: HostileServer) -> None:
    """Excluded on purpose (core.judge_outages): the judge was never asked."""
    before = server.calls["ok"]
    batch = score(tmp_path, judge_table(server, "ok"), RUBRIC + "\nmax_data_chars = 3")
    assert [r.components["q"].error_kind for r in batch.results] == \
        ["judge_input_too_large"] * 2
    assert batch.judge_outages == []
    assert ErrorKind.JUDGE_INPUT_TOO_LARGE not in batch.telemetry.judge_unavailable
    assert server.calls["ok"] == before  # the judge was never asked


def test_component_error_kind_survives_the_stats_copy() -> None:
    from rewardsmith.plugins.judges.calling import CallStats, with_stats

    stats = CallStats()
    stats.add_failure(ComponentError("x", kind=ErrorKind.JUDGE_TIMEOUT,
                                     measurements={"judge_attempts": 3, "judge_mode": "prompt"}))
    copy = with_stats(ComponentError("y", kind=ErrorKind.JUDGE_TIMEOUT), stats)
    assert copy.kind == ErrorKind.JUDGE_TIMEOUT and str(copy) == "y"
    assert copy.measurements["judge_attempts"] == 3
    assert copy.measurements["judge_mode"] == "prompt"
    assert copy.measurements["judge_failed_calls"] == 1
