"""core.workers: per-call limits on owned threads, abandonment, refusal, containment."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.workers import (
    ContainedExit,
    SyncWorkers,
    contain,
    offload,
    sync_limits,
)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def _map(workers: SyncWorkers, fn, count: int, **kw):  # type: ignore[no-untyped-def]
    return asyncio.run(workers.map(
        fn, count, on_overrun=lambda i: ("overrun", i), on_deadline=lambda i: ("deadline", i),
        on_refused=lambda i, why: ("refused", i), **kw))


def test_a_call_past_its_limit_is_abandoned_and_the_rest_run_on_a_fresh_thread(
    release: threading.Event,
) -> None:
    workers = SyncWorkers(max_workers=2, max_abandoned=4)
    threads: list[str] = []

    def fn(i: int) -> tuple[str, int]:
        threads.append(threading.current_thread().name)
        if i == 1:
            release.wait()
        return ("ok", i)

    out = _map(workers, fn, 4, limit_s=0.1, deadline=None)
    assert out == [("ok", 0), ("overrun", 1), ("ok", 2), ("ok", 3)]
    assert threads[0] == threads[1] != threads[2] == threads[3]
    health = workers.health()
    assert health.abandoned_alive == 1 and health.abandoned_total == 1
    release.set()
    for _ in range(100):
        if workers.health().abandoned_alive == 0:
            break
        time.sleep(0.01)
    assert workers.health().abandoned_alive == 0  # the stuck call returned; thread retired
    workers.close()


def test_calls_not_done_at_the_deadline_get_the_deadline_result(
    release: threading.Event,
) -> None:
    workers = SyncWorkers()
    out = _map(workers, lambda i: release.wait() if i == 1 else ("ok", i), 3, limit_s=None,
               deadline=time.monotonic() + 0.1)
    assert out == [("ok", 0), ("deadline", 1), ("deadline", 2)]
    assert workers.health().abandoned_total == 1


def test_past_the_cap_of_abandoned_threads_work_is_refused(release: threading.Event) -> None:
    workers = SyncWorkers(max_abandoned=0)
    out = _map(workers, lambda i: release.wait(), 3, limit_s=0.05, deadline=None)
    assert out == [("overrun", 0), ("refused", 1), ("refused", 2)]
    assert workers.health().unhealthy


def test_call_raises_what_fn_raised_with_base_exceptions_contained() -> None:
    workers = SyncWorkers()

    async def run() -> None:
        assert await workers.call(lambda: 42, limit_s=1) == 42
        with pytest.raises(ValueError, match="bad"):
            await workers.call(lambda: (_ for _ in ()).throw(ValueError("bad")), limit_s=1)
        with pytest.raises(ContainedExit, match="SystemExit"):
            await workers.call(lambda: (_ for _ in ()).throw(SystemExit(2)), limit_s=1)
        with pytest.raises(ComponentError) as caught:
            await workers.call(lambda: time.sleep(0.5), limit_s=0.05)
        assert caught.value.kind == "worker_overrun"

    asyncio.run(run())


def test_cancelling_the_caller_counts_the_running_thread(release: threading.Event) -> None:
    workers = SyncWorkers()

    async def run() -> None:
        task = asyncio.ensure_future(workers.call(release.wait, limit_s=None))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert workers.health().abandoned_total == 1


def test_offload_outside_a_batch_uses_a_plain_thread_and_contains_exits() -> None:
    assert asyncio.run(offload(lambda: 7)) == 7
    with pytest.raises(ContainedExit):
        asyncio.run(offload(lambda: (_ for _ in ()).throw(KeyboardInterrupt())))


def test_contain_passes_exceptions_and_cancellation_through() -> None:
    error = ValueError("x")
    cancelled = asyncio.CancelledError()
    assert contain(error) is error and contain(cancelled) is cancelled
    wrapped = contain(GeneratorExit())
    assert isinstance(wrapped, ContainedExit) and isinstance(wrapped.original, GeneratorExit)


def test_bad_limit_settings_fall_back_to_the_defaults_and_say_so() -> None:
    limits = sync_limits({"REWARDSMITH_SYNC_LIMIT_S": "nan",
                          "REWARDSMITH_MAX_ABANDONED_WORKERS": "-1"})
    assert limits.call_limit_s == 10.0 and limits.max_abandoned == 4
    assert len(limits.problems) == 2
    assert sync_limits({"REWARDSMITH_SYNC_LIMIT_S": "0.5"}).call_limit_s == 0.5
