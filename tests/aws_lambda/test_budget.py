"""Issue 10, kind C: the whole path (pack load, engine, rows, the runtime's encoding) fits
the invocation's deadline, by the handler's own accounting: the log line's
``answer_budget.answered_by_ms`` (elapsed + the timed estimate of the runtime's JSON
encoding) must come before ``remaining_ms``, with every id answered."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import (
    BASIC_PACK,
    FakeContext,
    make_test_host,
    metrics_of,
    sample,
    validate_answer,
)

from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.plugins import PluginHost


def _logged(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capfd.readouterr().out.splitlines()
            if '"reward_invocation"' in line]


def _within_deadline(line: dict[str, Any]) -> None:
    budget = line["answer_budget"]
    assert budget["answered_by_ms"] < line["remaining_ms"], budget
    assert budget["answered_by_ms"] >= line["elapsed_ms"]


@pytest.mark.parametrize(("samples", "remaining_ms"), [(5_000, 2500), (30_000, 4000)])
def test_a_large_batch_under_a_short_deadline_answers_every_id_in_time(
    write_pack: Callable[..., Path], host: PluginHost, capfd: pytest.CaptureFixture[str],
    samples: int, remaining_ms: int,
) -> None:
    handler = make_handler(str(write_pack(BASIC_PACK)), host=host, deadline_margin_s=0.3)
    handler.warm()
    batch = [sample(f"s{i}", "ok" if i % 3 else "no") for i in range(samples)]
    for _ in range(2):  # the second call uses what the first one learnt about its costs
        out = handler(batch, FakeContext(remaining_ms))
        validate_answer(out, [s["id"] for s in batch])
        (line,) = _logged(capfd)
        _within_deadline(line)
        scored = sum("sample_failed" not in metrics_of(r) for r in out)
        # what was not scored in time is named (deadline, or the watchdog's engine_error),
        # not silently zero
        failures = line["failures"]
        assert failures.get("deadline", 0) + failures.get("engine_error", 0) >= samples - scored


def test_a_slow_pack_load_answers_in_time_and_the_next_call_scores(
    write_pack: Callable[..., Path], capfd: pytest.CaptureFixture[str],
) -> None:
    release = threading.Event()

    def slow_host() -> PluginHost:
        release.wait(30)  # a cold start that outlasts the first invocation
        return make_test_host()

    handler = make_handler(str(write_pack(BASIC_PACK)), host=slow_host, deadline_margin_s=0.2)
    batch = [sample("a", "ok"), sample("b", "no")]
    started = time.monotonic()
    out = handler(batch, FakeContext(800))
    validate_answer(out, ["a", "b"])
    assert all(metrics_of(r)["pack_loading"] == 1.0 for r in out)
    (line,) = _logged(capfd)
    _within_deadline(line)
    assert "still loading" in line["pack_error"]
    assert time.monotonic() - started < 30  # it did not wait for the load
    release.set()
    handler.warm()  # the load went on in the background; now it is done
    out = handler(batch, FakeContext(5000))
    assert [r["aggregate_reward_score"] for r in out] == [1.0, 0.0]
    (line,) = _logged(capfd)
    _within_deadline(line)


def test_a_cold_probe_measures_rows_of_the_pack_and_never_exceeds_the_defaults(
    write_pack: Callable[..., Path], host: PluginHost,
) -> None:
    from rewardsmith.aws_lambda.budget import AnswerCosts, probe_row_builder
    from rewardsmith.core.pack import load_pack

    pack = load_pack(write_pack(BASIC_PACK), host)
    build = probe_row_builder(pack, failure_reward=0.0, judge_ids=frozenset())
    row = build(3)
    assert [m["name"] for m in row["metrics_list"]][:2] == ["nonempty", "match"]
    validate_answer([build(i) for i in range(4)], [f"probe-{i}" for i in range(4)])
    costs = AnswerCosts()
    defaults = (costs.row_s, costs.encode_s)
    assert costs.probe_rows(build) is True
    assert costs.measured
    assert 0 < costs.row_s <= defaults[0] and 0 < costs.encode_s <= defaults[1]
    assert costs.probe_rows(build) is False  # once measured, batches teach it


def test_a_probe_that_cannot_build_rows_keeps_the_defaults() -> None:
    from rewardsmith.aws_lambda.budget import AnswerCosts

    costs = AnswerCosts()

    def build(i: int) -> dict[str, Any]:
        raise RuntimeError("no rows")

    assert costs.probe_rows(build) is False
    assert not costs.measured and costs.row_s == AnswerCosts().row_s


def test_a_cold_probe_runs_only_when_the_default_reserve_is_a_real_share_of_the_budget(
) -> None:
    from rewardsmith.aws_lambda.budget import AnswerCosts

    costs = AnswerCosts()
    # 2,000 samples: the default reserve is 0.17 s, nothing against minutes of budget.
    assert costs.reserve(2_000) < 0.2
    assert costs.worth_probing(2_000, 300.0) is False
    assert costs.worth_probing(2_000, 2.0) is True  # 0.17 s of 2 s is worth measuring
    assert costs.worth_probing(100, 0.5) is False  # a small batch is never probed
    assert costs.worth_probing(100_000, 60.0) is True
    costs.measured = True
    assert costs.worth_probing(100_000, 60.0) is False  # batches teach it from then on


def test_a_first_invocation_with_ample_time_is_not_probed_but_learns_from_its_batch(
    write_pack: Callable[..., Path], host: PluginHost, capfd: pytest.CaptureFixture[str],
) -> None:
    handler = make_handler(str(write_pack(BASIC_PACK)), host=host)
    batch = [sample(f"s{i}", "ok") for i in range(2_000)]
    validate_answer(handler(batch, FakeContext(600_000)), [s["id"] for s in batch])
    (line,) = _logged(capfd)
    assert line["cold_start"] is True
    assert "probed" not in line["answer_budget"]
    assert line["failures"] == {}
    assert handler._costs.measured  # the rows and encoding of this batch were learnt
    _within_deadline(line)


def _rows(count: int, metrics: int = 4) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "aggregate_reward_score": 0.5,
             "metrics_list": [{"name": f"m{k}", "value": i / 7 + k, "type": "Metric"}
                              for k in range(metrics)]} for i in range(count)]


def test_the_answer_encoding_is_timed_in_full_when_time_is_short_and_then_kept() -> None:
    from rewardsmith.aws_lambda.budget import AnswerCosts

    costs = AnswerCosts(encode_s=1.0)
    rows = _rows(2_000)
    estimate = costs.learn_encoding(rows, ample=False)
    # three timings of a 1,024-row spread: the real figure, learnt down by halves
    assert 0 < estimate < 2_000 * 1.0 and costs.encode_s < 1.0
    assert (costs.timed_rows, costs.timed_metrics) == (2_000, 4.0)
    # Ample time, a current full timing (as large, same shape): nothing is timed. Any real
    # timing would raise a per-row figure of a picosecond.
    costs.encode_s = 1e-12
    for _ in range(16):
        assert costs.learn_encoding(rows[:1_500], ample=True) == 1_500 * 1e-12
    # the 17th invocation since: checked again (a quick timing raises the figure)
    costs.learn_encoding(rows, ample=True)
    assert costs.encode_s > 1e-12


@pytest.mark.parametrize(("count", "metrics"), [(4_000, 4), (2_000, 20), (2_000, 2)])
def test_an_answer_no_full_timing_covers_gets_a_quick_timing_that_only_raises(
    count: int, metrics: int,
) -> None:
    from rewardsmith.aws_lambda.budget import QUICK_PROBE_FACTOR, AnswerCosts

    costs = AnswerCosts()
    costs.learn_encoding(_rows(2_000), ample=False)  # the full timing: 2,000 rows of 4
    costs.encode_s = 1e-12
    rows = _rows(count, metrics)  # larger, or another shape
    costs.learn_encoding(rows, ample=True)
    assert costs.encode_s > 1e-12
    assert costs.timed_rows == 2_000  # a quick timing never makes a figure current
    costs.encode_s = 1.0  # a figure above the quick one is kept (never lowered)
    assert costs.learn_encoding(rows, ample=True) == count * 1.0
    assert QUICK_PROBE_FACTOR >= 2.5  # issue 10: 128 rows underestimated 100,000 by 2.5x


def test_a_tiny_answer_with_ample_time_is_not_timed() -> None:
    """A few rows time the timer and the encoder's first call: counted three times over,
    one slow first call would inflate the next large answer's reserve."""
    from rewardsmith.aws_lambda.budget import AnswerCosts

    costs = AnswerCosts(encode_s=1e-12)
    assert costs.learn_encoding(_rows(15), ample=True) == 15 * 1e-12
    assert costs.encode_s == 1e-12 and not costs.measured
    costs.learn_encoding(_rows(16), ample=True)
    assert costs.encode_s > 1e-12 and costs.measured


@pytest.mark.parametrize("library", ["simplejson", "json (simplejson not installed)"])
def test_the_timed_encoder_is_the_runtimes(monkeypatch: pytest.MonkeyPatch,
                                           library: str) -> None:
    """awslambdaric's marshaller: ensure_ascii=False on the Python 3.12+ runtimes only,
    NaN allowed (lambda_runtime_marshaller.py); the standard library stands in, with the
    same options, where simplejson is not installed."""
    from rewardsmith.aws_lambda.budget import runtime_encoder

    if library != "simplejson":
        monkeypatch.setitem(sys.modules, "simplejson", None)  # import fails
    encoder_module = type(runtime_encoder().__self__).__module__  # type: ignore[attr-defined]
    assert encoder_module.split(".")[0] == library.split(maxsplit=1)[0]
    value = [{"id": "café", "v": float("nan")}]
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    assert runtime_encoder()(value) == '[{"id": "café", "v": NaN}]'
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    assert runtime_encoder()(value) == '[{"id": "caf\\u00e9", "v": NaN}]'


def test_a_first_invocation_with_ample_time_does_not_time_its_answer_in_full(
    write_pack: Callable[..., Path], host: PluginHost, capfd: pytest.CaptureFixture[str],
) -> None:
    handler = make_handler(str(write_pack(BASIC_PACK)), host=host)
    batch = [sample(f"s{i}", "ok") for i in range(2_000)]
    for _ in range(2):
        validate_answer(handler(batch, FakeContext(600_000)), [s["id"] for s in batch])
        (line,) = _logged(capfd)
        _within_deadline(line)
        assert line["answer_budget"]["encode_estimate_ms"] > 0
    assert handler._costs.timed_rows == 0  # only quick timings: time was ample
    assert handler._costs.encode_s > 0
