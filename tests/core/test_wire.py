"""The one encoder: rows byte-identical to the encoders it replaced, one id rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support import toy_plugin

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import SampleError
from rewardsmith.core.wire import (
    encode_json,
    encode_line,
    failure_row,
    jsonl_row,
    lambda_row,
    wire_id,
)

DATA = Path(__file__).parent / "data"


def test_rows_are_byte_identical_to_the_recorded_wire() -> None:
    """wire_golden.jsonl was written by the three encoders this module replaced
    (``SampleResult.to_json``, ``aws_lambda.to_wire`` with and without judge ids,
    ``aws_lambda.failure_result``) on the batch below; every byte must stay."""
    host = make_plugin_host(load_entry_points=False, plugins=[("toy", toy_plugin)])
    pack = load_pack(DATA / "wire_pack.toml", host)
    items = [*json.loads((DATA / "wire_samples.json").read_text()),
             SampleError("line 9: not valid JSON", kind="invalid_json", sample_id=9),
             {"id": (1, "t"), "messages": [{"role": "assistant", "content": "yes"}]},
             {"id": "\ud800x", "messages": [{"role": "assistant", "content": "0.5"}]}]
    scorer = Scorer(pack)
    try:
        results = scorer.score(items).results
    finally:
        scorer.close()
    fr = pack.failure_reward
    lines = [encode_line(jsonl_row(r)) for r in results]
    lines += [encode_line(lambda_row(r, failure_reward=fr, judge_ids={"yes"})) for r in results]
    lines += [encode_line(lambda_row(r, failure_reward=fr)) for r in results]
    lines += [encode_line(failure_row(sid, 0.0, kind)) for sid, kind in [
        ("a", "pack_unavailable"), (float("nan"), "engine_error"), ("s", "internal_error"),
        (None, "x")]]
    expected = (DATA / "wire_golden.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    for got, want in zip(lines, expected, strict=True):
        assert got == want


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class _Custom:
    def __str__(self) -> str:
        return "custom-id"


@pytest.mark.parametrize(("given", "expected"), [
    ("a", "a"), (3, 3), (None, None), (True, True), (1.5, 1.5), (float("inf"), "inf"),
    ([1, {"k": "v"}], [1, {"k": "v"}]), (_Custom(), "custom-id"),
    (_Unprintable(), "<unprintable _Unprintable>"),
])
def test_the_one_id_rule(given: object, expected: object) -> None:
    assert wire_id(given) == expected


def test_lambda_row_replaces_a_non_finite_reward_and_drops_non_finite_metrics() -> None:
    from rewardsmith.core.results import ComponentOutcome, PackRef, SampleResult

    result = SampleResult(id={1, 2}, index=0, reward=0.5, status="ok", pack=PackRef("p", "1", "h"),
                          components={"c": ComponentOutcome("c", "t", 1.0, 0.5, 0.5,
                                                            measurements={"x": float("nan")})})
    result.reward = float("inf")  # a bug upstream must not reach the wire
    row = lambda_row(result, failure_reward=-1.0)
    assert row["aggregate_reward_score"] == -1.0
    assert row["id"] in ("{1, 2}", "{2, 1}")
    assert [m["name"] for m in row["metrics_list"]] == ["c", "components_failed",
                                                        "deadline_abandoned"]


def test_an_id_beyond_64_bits_is_written_exactly_and_only_its_row_falls_back() -> None:
    big, small = 18446744073709551617, -18446744073709551617
    lines = [encode_line({"id": big, "metadata": {"n": small}}), encode_line({"id": 1})]
    assert json.loads(lines[0]) == {"id": big, "metadata": {"n": small}}
    assert "18446744073709551617" in lines[0] and "e+19" not in lines[0]
    assert lines[1] == '{"id":1}'  # the next row is orjson's again
    assert json.loads(encode_json({"id": big}, indent=True)) == {"id": big}
