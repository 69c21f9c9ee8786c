"""Scoring behind the HTTP routes: one :class:`~rewardsmith.core.engine.Scorer` on an event
loop thread of its own, deadlines, and the coalescing of a prompt's group across requests.

Why a loop of its own: the engine runs cheap checks inline on its event loop; on the
server's loop they would hold up ``/healthz``, ``/metrics`` and the 503s that back-pressure
depends on. The scorer's judge clients and semaphore bind to that one loop for the life of
the server, as in a warm Lambda.

Groups: trainers such as OpenRLHF send each rollout of a prompt in its own request, while
group components (``run = "group"``) must see all rollouts of the prompt at once. With a
coalescing window, items are held per prompt (the engine's group key) for up to
``window_s`` after the first of them arrived, or until ``group_size`` have arrived, and the
held items are scored as one batch; each request then gets its own items' results back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from rewardsmith.core.component import check_run_mode
from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import ErrorKind, SampleError
from rewardsmith.core.results import BatchResult, SampleResult
from rewardsmith.core.sample import parse_sample
from rewardsmith.core.telemetry import JudgeOutage
from rewardsmith.core.wire import item_id
from rewardsmith.serving.metrics import ServerMetrics
from rewardsmith.serving.protocols import Outcome

log = structlog.get_logger("rewardsmith.serving")
T = TypeVar("T")

#: The coalescing window used when the pack has a group component and none is configured.
DEFAULT_GROUP_WINDOW_S = 0.1


class ScoringLoop:
    """An event loop on a daemon thread; :meth:`run` awaits a coroutine on it from another
    loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="rewardsmith-serve-scoring", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Start ``coro`` on the scoring loop; an awaitable future for the calling loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def stop(self, closing: Coroutine[Any, Any, Any] | None = None,
             timeout_s: float = 10.0) -> None:
        """Run ``closing`` (e.g. ``scorer.aclose()``) on the loop, then stop the loop."""
        if closing is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(closing, self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)


@dataclass
class _Bucket:
    items: list[Any] = field(default_factory=list)
    futures: list[asyncio.Future[Outcome]] = field(default_factory=list)
    deadline: float = float("inf")
    timer: asyncio.TimerHandle | None = None


@dataclass
class HealthState:
    """What ``/healthz`` reports besides the pack: judge outages seen (per component: the
    last kind and cause, how many batches, when last, as unix time) and engine overruns."""

    judge_outages: dict[str, dict[str, Any]] = field(default_factory=dict)
    engine_overruns: int = 0

    def record_outage(self, outage: JudgeOutage) -> None:
        seen = self.judge_outages.get(outage.component, {"batches": 0})
        self.judge_outages[outage.component] = {
            "kind": str(outage.kind), "cause": outage.cause, "allowed": outage.allowed,
            "batches": int(seen["batches"]) + 1, "last_seen_unix": round(time.time(), 3)}

    def record_config_problem(self, component: str, cause: str) -> None:
        """A judge found misconfigured at startup and served anyway (no batch yet)."""
        self.judge_outages[component] = {
            "kind": "judge_config", "cause": cause, "allowed": True, "batches": 0,
            "last_seen_unix": round(time.time(), 3)}


class RewardService:
    """Scores items for the routes: ``await service.score(items, deadline)`` returns one
    :class:`Outcome` per item, in order, never raising for the items' sake.

    ``deadline`` is a ``time.monotonic()`` instant. The engine is given 90% of the time
    left (it abandons pending judge calls and applies failure policies then); if it has
    not answered at the deadline itself, every item gets ``failure_reward`` with the
    ``engine_error`` kind and the overrun is counted, as the Lambda's watchdog does.
    """

    def __init__(self, scorer: Scorer, metrics: ServerMetrics, *, failure_reward: float,
                 group_window_s: float | None = None, group_size: int | None = None) -> None:
        self.scorer = scorer
        self.metrics = metrics
        self.failure_reward = failure_reward
        has_group = any(check_run_mode(c) == "group" for c in scorer.pack.components)
        if group_window_s is None:
            group_window_s = DEFAULT_GROUP_WINDOW_S if has_group else 0.0
        self.group_window_s = group_window_s
        self.group_size = group_size
        self.health = HealthState()
        self._loop: ScoringLoop | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def coalescing(self) -> bool:
        return self.group_window_s > 0 or self.group_size is not None

    def start(self) -> None:
        if self._loop is None:
            self._loop = ScoringLoop()

    async def drain(self) -> None:
        """Score every held group now and wait for running batches (shutdown)."""
        for key in list(self._buckets):
            self._flush(key)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop(self.scorer.aclose())
            self._loop = None

    # -- scoring ----------------------------------------------------------------------------
    async def score(self, items: Sequence[Any], deadline: float) -> list[Outcome]:
        """One :class:`Outcome` per item, in order (see the class docstring)."""
        if not items:
            return []
        if not self.coalescing:
            return await self._run(list(items), deadline)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Outcome]] = []
        alone: list[tuple[int, Any]] = []
        for index, item in enumerate(items):
            key = _group_key(item)
            if key is None:  # cannot be parsed: the engine fails it, no group to wait for
                alone.append((index, item))
                futures.append(loop.create_future())
                continue
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket()
                bucket.timer = loop.call_later(self.group_window_s, self._flush, key)
            future: asyncio.Future[Outcome] = loop.create_future()
            bucket.items.append(item)
            bucket.futures.append(future)
            bucket.deadline = min(bucket.deadline, deadline)
            futures.append(future)
            if self.group_size is not None and len(bucket.items) >= self.group_size:
                self._flush(key)
        if alone:
            outcomes = await self._run([item for _, item in alone], deadline)
            for (index, _), outcome in zip(alone, outcomes, strict=True):
                futures[index].set_result(outcome)
        return list(await asyncio.gather(*futures))

    def _flush(self, key: str) -> None:
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            return
        if bucket.timer is not None:
            bucket.timer.cancel()

        async def run() -> None:
            try:
                outcomes = await self._run(bucket.items, bucket.deadline)
            except BaseException as exc:  # the waiting requests must always be answered
                for future in bucket.futures:
                    if not future.done():
                        future.set_exception(exc)
                raise
            for future, outcome in zip(bucket.futures, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, items: list[Any], deadline: float) -> list[Outcome]:
        self.start()
        assert self._loop is not None
        left = max(deadline - time.monotonic(), 0.0)
        engine_deadline = time.monotonic() + 0.9 * left
        pending = self._loop.submit(self.scorer.ascore(items, deadline=engine_deadline))
        error: str
        try:
            batch = await asyncio.wait_for(asyncio.shield(pending), timeout=left)
        except TimeoutError:
            # The batch keeps running on the scoring loop; its answer is no longer awaited.
            pending.add_done_callback(_consume)
            error = (f"the engine did not return within {left:.3f}s (its deadline was "
                     f"{0.9 * left:.3f}s); every sample got the failure reward")
        except Exception as exc:
            error = f"the engine raised {type(exc).__name__}: {exc}"
        else:
            if len(batch.results) == len(items):
                return self._record(batch)
            error = f"the engine returned {len(batch.results)} results for {len(items)} samples"
        self.metrics.record_overrun(len(items))
        self.health.engine_overruns += 1
        log.error("engine_overrun", error=error, samples=len(items))
        ref = self.scorer.pack.ref
        return [Outcome(SampleResult(id=item_id(item, i), index=i, reward=self.failure_reward,
                                     status="failed", pack=ref, error=error,
                                     error_kind=str(ErrorKind.ENGINE_ERROR)))
                for i, item in enumerate(items)]

    def _record(self, batch: BatchResult) -> list[Outcome]:
        self.metrics.record_batch(batch)
        outages = batch.judge_outages
        for outage in batch.telemetry.judge_unavailable.values():
            self.health.record_outage(outage)
        names = tuple(o.component for o in outages)
        if outages:
            # Counted and visible (metrics, /healthz, each answer), never silent: the
            # rewards of this batch lack these judges' signal.
            log.warning("judge_unavailable", components={o.component: o.cause for o in outages})
        return [Outcome(r, names) for r in batch.results]


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _group_key(item: Any) -> str | None:
    """The engine's group key of a raw item (its prompt), or None when it cannot be parsed."""
    if isinstance(item, SampleError):
        return None
    try:
        return parse_sample(item, 0).group_key
    except Exception:
        return None
