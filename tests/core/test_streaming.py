"""Results as each sample finishes (issue 14): ``Scorer.astream`` / ``Scorer.stream`` yield a
sample's result once it is final, a whole prompt group at once where the pack needs whole
groups, and a stop keeps what was final and scores nothing more. ``Scorer.score`` is the
same run collected: the results agree field by field. The ``sleepy`` toy component waits
forever on a response containing "hang", so what is still running is decided by the data,
not by timing."""

from __future__ import annotations

import threading

import pytest
from tests.core.test_engine import GATED
from tests.support.toy_plugin import sample

from rewardsmith.core.results import SampleResult

GROUP_MEAN = GATED.replace('type = "sleepy"', 'type = "sleepy"\non_error = "group_mean"')

GROUPED = """
[pack]
name = "g"
version = "1"
[[components]]
id = "judge"
type = "sleepy"
[[components]]
id = "rank"
type = "length-rank"
"""


def _same(streamed: list[SampleResult], batch: list[SampleResult]) -> None:
    by_index = sorted(streamed, key=lambda r: r.index)
    assert [r.index for r in by_index] == list(range(len(batch)))
    for got, want in zip(by_index, batch, strict=True):
        assert (got.id, got.reward, got.status, got.error_kind, got.gate) == (
            want.id, want.reward, want.status, want.error_kind, want.gate)
        assert {k: (o.value, o.error_kind, o.policy, o.skipped)
                for k, o in got.components.items()} == {
            k: (o.value, o.error_kind, o.policy, o.skipped) for k, o in want.components.items()}


def _batch() -> list[object]:
    return [sample(0, "yes"), {"id": "broken"}, sample(2, "   "), sample(3, "no judge-down"),
            sample(4, "yes", prompt="other"), sample(5, "yes judge-down", prompt="other")]


@pytest.mark.parametrize("pack", [GATED, GROUP_MEAN, GROUPED])
async def test_streamed_results_are_the_batch_results(make_scorer, pack: str) -> None:
    scorer = make_scorer(pack)
    stream = scorer.astream(_batch())
    streamed = [result async for result in stream]
    batch = await scorer.ascore(_batch())
    _same(streamed, batch.results)
    assert stream.batch is not None and not stream.stopped and stream.not_scored == 0
    _same(stream.batch.results, batch.results)
    assert stream.batch.telemetry.failures == batch.telemetry.failures
    assert stream.batch.summary()["failed_samples"] == batch.summary()["failed_samples"]


async def test_a_finished_sample_is_yielded_while_another_still_runs(make_scorer) -> None:
    scorer = make_scorer(GATED)
    stream = scorer.astream([sample("slow", "yes hang"), sample("bad", "  "),
                             sample("fast", "yes")])
    first, second = [await anext(stream) for _ in range(2)]
    # the gated sample is final after its gate, the fast one after its judge; "slow" never
    assert {first.id, second.id} == {"bad", "fast"}
    assert {first.index, second.index} == {1, 2}
    stream.stop()
    assert [r async for r in stream] == []
    assert stream.stopped and stream.batch is None and stream.not_scored == 1
    # what was not final got no result, and no failure was counted for it
    assert stream.telemetry is not None and "deadline" not in stream.telemetry.failures
    assert not stream.telemetry.judge_unavailable


async def test_a_group_is_yielded_whole_when_the_pack_borrows_group_means(make_scorer) -> None:
    scorer = make_scorer(GROUP_MEAN)
    stream = scorer.astream([sample(0, "yes", "p1"), sample(1, "yes hang", "p1"),
                             sample(2, "yes", "p2"), sample(3, "yes judge-down", "p2")])
    first, second = [await anext(stream) for _ in range(2)]
    assert {first.id, second.id} == {2, 3}  # p1 waits for its hanging member
    borrowed = first if first.id == 3 else second
    assert borrowed.components["judge"].policy == "group_mean"
    assert borrowed.components["judge"].value == pytest.approx(0.8)
    stream.stop()
    assert [r async for r in stream] == []
    assert stream.not_scored == 2


async def test_a_group_component_makes_its_group_final_together(make_scorer) -> None:
    scorer = make_scorer(GROUPED)
    stream = scorer.astream([sample(0, "a", "p"), sample(1, "bb hang", "p"),
                             sample(2, "ccc", "q"), sample(3, "d", "q")])
    first, second = [await anext(stream) for _ in range(2)]
    assert sorted([first.id, second.id]) == [2, 3]
    assert {r.components["rank"].value for r in (first, second)} == {0.0, 1.0}
    await stream.aclose()
    assert stream.stopped and stream.not_scored == 2


def test_the_blocking_stream_can_be_stopped_from_another_thread(make_scorer) -> None:
    scorer = make_scorer(GATED)
    try:
        run = scorer.stream([sample("slow", "yes hang"), sample("fast", "yes")])
        first = next(run)
        assert first.id == "fast" and first.index == 1
        stopper = threading.Thread(target=run.stop)
        stopper.start()
        stopper.join()
        assert list(run) == []
        assert run.stopped and run.batch is None and run.not_scored == 1
        # the scorer is still usable: the next batch is scored whole
        assert scorer.score([sample(1, "yes")]).rewards == [pytest.approx(0.9)]
        again = scorer.stream([sample(1, "yes")])
        assert [r.id for r in again] == [1]
        assert again.batch is not None and again.batch.rewards == [pytest.approx(0.9)]
    finally:
        scorer.close()


def test_stream_refuses_what_score_refuses(make_scorer) -> None:
    scorer = make_scorer(GATED)
    with pytest.raises(TypeError, match=r"Scorer\.stream expects a list of samples"):
        scorer.stream(sample(1, "yes"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout_s"):
        scorer.stream([sample(1, "yes")], timeout_s=0)
    scorer.close()
