"""The scoring engine: gates first, then components, bounded and deadline-aware.

Whatever happens inside — a malformed sample, a component raising, a judge hanging, a
plugin returning NaN — every input gets exactly one finite reward, in input order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from rewardsmith.core.aggregate import (
    SampleFailed,
    apply_policy,
    finite_or,
    formula_reward,
    group_means,
    weighted_mean,
)
from rewardsmith.core.component import Component, ComponentConfig, RunMode, check_run_mode
from rewardsmith.core.errors import (
    ABSTENTION_KINDS,
    NO_ID,
    ComponentError,
    ErrorKind,
    SampleError,
)
from rewardsmith.core.finish_costs import PROBE_SAMPLES, FinishCosts
from rewardsmith.core.judge_outages import outage_kind
from rewardsmith.core.logs import library_logger
from rewardsmith.core.pack import Pack
from rewardsmith.core.results import (
    BatchResult,
    ComponentOutcome,
    SampleResult,
    Score,
    duplicate_ids,
)
from rewardsmith.core.sample import Sample, count_assistant_turns, parse_sample, source_label
from rewardsmith.core.sharing import ValueSharer
from rewardsmith.core.streaming import BatchControl, Completion, ScoreRun, ScoreStream
from rewardsmith.core.telemetry import (
    BatchTelemetry,
    JudgeOutage,
    JudgeTally,
    bind_telemetry,
    bound_telemetry,
    close_tally,
    open_tally,
    unbind_telemetry,
)
from rewardsmith.core.trajectory import (
    assign_reward,
    score_turns,
    score_turns_sync,
    turn_rewards,
)
from rewardsmith.core.wire import item_id, wire_id
from rewardsmith.core.workers import (
    ContainedExit,
    SyncWorkers,
    WorkerHealth,
    bind_workers,
    contain,
    sync_limits,
    unbind_workers,
)

log = library_logger("rewardsmith.engine")
T = TypeVar("T")

# Samples whose gates run in one worker job before their judges are launched: judge calls
# start while the gates of later samples still run, at one hand-off per chunk.
_GATE_CHUNK = 256
# At most this many samples' concurrent components are started before the engine yields to
# the event loop once: the connects and sends of the calls already started go out while
# later samples are still being set up, instead of after all of them (issue 13: a
# 2,000-sample first invocation's first 100 judge calls answered ~0.3 s late, waiting for
# the connects).
_LAUNCH_CHUNK = 32
# The loop time one slice of launches should take (their first steps), and the fewest
# samples a slice starts (the first slice's size). Issue 13: with slices of 32, a cold
# 2,000-sample invocation ran ~8.5 ms per loop turn while launching (~0.2 ms per judge
# sample: render, body, cache key), and the first 100 calls' connects, which take several
# turns, took 60-70 ms; warm invocations reuse pooled connections and send at once. The
# floor keeps the launch ahead of the replies when the turns are long because of them.
_LAUNCH_SLICE_S = 0.002
_LAUNCH_CHUNK_MIN = 8
# Under a batch deadline, a synchronous call may use at most this share of the time left
# (1/4), so one stuck sample never costs the rest of the batch.
_STUCK_SHARE = 4.0
# Time reserved per sample, before a deadline, for parsing and building its result
# (measured ~25-40 us per sample on 2 cores; generous so a 50,000-sample batch still
# answers in time).
_FINISH_COST_S = 60e-6
# Before a scorer has measured its own finishing cost (``core.finish_costs``), building a
# result is taken to cost this many times reading its sample (measured: ~96 us against
# ~35 us on a busy 2-core box, all components abandoned at the deadline).
_FINISH_PER_READ = 3.0
# Under a deadline, inline checks run all components over this many samples before the
# next ones, so the samples scored when the deadline comes are a prefix, each complete.
_INLINE_CHUNK = 4096


@dataclass
class _State:
    """One sample's scoring in a batch: its outcomes by component id, and its gate."""

    sample: Sample
    outcomes: dict[str, ComponentOutcome] = field(default_factory=dict)
    gate: str | None = None
    gate_reward: float | None = None
    #: The batch's completion tracker: told whenever an outcome may have made this final.
    completion: Completion | None = None
    #: Judge requests of each judge component's unfinished run (a row's figures when the
    #: run is abandoned at the deadline; core.telemetry.JudgeTally).
    tallies: dict[str, JudgeTally] | None = None

    def settle(self) -> None:
        if self.completion is not None:
            self.completion.settle(self)


class _Deadline:
    """``at``: when scoring work stops; ``final``: when the results must be built;
    ``stopping``: set when a streamed run is stopped (the deadline becomes now)."""

    def __init__(self, at: float | None, final: float | None = None) -> None:
        self.at = at
        self.final = at if final is None else final
        self.stopping: asyncio.Future[None] | None = None
        self.stopped = False

    def stop(self) -> None:
        """Stop now: launch nothing more, cancel what runs (on the loop's thread)."""
        self.stopped = True
        self.at = self.final = time.monotonic()
        if self.stopping is not None and not self.stopping.done():
            self.stopping.set_result(None)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


async def _contained(awaitable: Awaitable[T]) -> T:
    """Await plugin code, turning its SystemExit/KeyboardInterrupt/GeneratorExit into a
    ContainedExit: on 3.11 ``wait_for`` runs it as a task of its own, and a task ending
    with one of those is re-raised out of the event loop (``Task.__step``)."""
    try:
        return await awaitable
    except BaseException as exc:
        contained = contain(exc)
        if contained is exc:
            raise
        raise contained from exc


async def _wait_or_stop(tasks: Sequence[asyncio.Future[None]], stopping: asyncio.Future[None],
                        timeout: float | None) -> set[asyncio.Future[None]]:
    """Wait for ``tasks`` until ``stopping`` is set or ``timeout``; the tasks not done."""
    left = [len(tasks)]
    finished = asyncio.get_running_loop().create_future()

    def one_done(_: object) -> None:
        left[0] -= 1
        if not left[0] and not finished.done():
            finished.set_result(None)

    for task in tasks:
        task.add_done_callback(one_done)
    await asyncio.wait((finished, stopping), timeout=timeout,
                       return_when=asyncio.FIRST_COMPLETED)
    finished.cancel()
    return {t for t in tasks if not t.done()}


def _abandoning() -> None:
    """Judge calls cancelled from now on were abandoned at the deadline (or a stop,
    which makes the deadline now): say so in the batch telemetry (s5 tester F3)."""
    telemetry = bound_telemetry()
    if telemetry is not None:
        telemetry.abandon(ErrorKind.DEADLINE)


def _being_cancelled() -> bool:
    """True when the running task itself is being cancelled (deadline), as opposed to a
    component raising CancelledError on its own."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _LoopThread:
    """One event loop on a daemon thread, for the synchronous facade.

    Judge clients and semaphores are bound to a loop; keeping one loop for the scorer's
    life lets a warm Lambda or a trainer reuse connection pools across batches. A loop
    that died is replaced, and a caller never waits on a dead one.

    asyncio re-raises ``SystemExit``/``KeyboardInterrupt`` out of ``run_forever`` when a
    task ends with one (CPython 3.11 ``Task.__step``), e.g. a plugin's own
    ``asyncio.gather`` sub-task; the task has already recorded it, so the loop is simply
    run again and whoever awaits that task sees the exception (and contains it). Signals
    are delivered to the main thread only, so nothing raised here is the user's Ctrl-C.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _alive(self) -> bool:
        return (self._loop is not None and not self._loop.is_closed()
                and self._thread is not None and self._thread.is_alive())

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        with self._lock:
            if not self._alive():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_run_contained, args=(loop,),
                                          name="rewardsmith-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            loop, thread = self._loop, self._thread
        assert loop is not None and thread is not None
        return loop, thread

    def submit(self, coro: Coroutine[Any, Any, T]
               ) -> tuple[Future[T], asyncio.AbstractEventLoop]:
        """Start ``coro`` on the loop thread (started if needed); its future and loop."""
        loop, _ = self._ensure()
        return asyncio.run_coroutine_threadsafe(coro, loop), loop

    def alive(self) -> bool:
        with self._lock:
            return self._alive()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop, thread = self._ensure()
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
        while True:
            try:
                return future.result(timeout=0.5)
            except FutureTimeout:
                if not thread.is_alive():
                    future.cancel()
                    raise RuntimeError("the scorer's event loop stopped") from None

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None
            self._thread = None


def check_batch(samples: Any, method: str) -> None:
    """Raise ``TypeError`` naming what ``method`` expected when ``samples`` is not a sequence
    of samples: a lone dict would otherwise be iterated as its keys (issue 15)."""
    if isinstance(samples, Mapping):
        raise TypeError(f"{method} expects a list of samples, got one {type(samples).__name__}"
                        f" (keys {sorted(map(str, samples))[:5]}); wrap it: "
                        f"{method.rsplit('.', maxsplit=1)[-1]}([sample])")
    if isinstance(samples, str | bytes | bytearray) or not isinstance(samples, Sequence):
        raise TypeError(f"{method} expects a list of samples (dicts in the RFT wire shape, "
                        f"see rewardsmith.sample), got {type(samples).__name__}")


def _run_contained(loop: asyncio.AbstractEventLoop) -> None:
    """``loop.run_forever()`` until ``stop()``, run again after a task's BaseException."""
    while True:
        try:
            loop.run_forever()
            return
        except BaseException as exc:  # plugin code in a task; see _LoopThread
            if loop.is_closed():
                return
            # a failing log sink (a closed stream) must not end the loop thread it reports on
            with contextlib.suppress(Exception):
                log.error("event_loop_exception_contained", error=type(exc).__name__)


def check_seconds(value: Any, name: str, method: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is ``None`` or a finite number
    of seconds above zero: ``timeout_s=0``, ``-1`` or ``nan`` would otherwise score every
    sample as abandoned and return the failure reward without a word (a ``bool`` or a
    non-number raises ``TypeError``)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{method}: {name} must be a number of seconds or None, "
                        f"got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{method}: {name} must be a finite number of seconds above 0 "
                         f"(or None for no deadline), got {value!r}")


def _warn_duplicate_ids(samples: Sequence[Any]) -> None:
    """A warning log line when ids repeat in the batch: they are scored and echoed as given
    (the contract), but a trainer matching rewards by id would mix them up."""
    repeated = duplicate_ids(item_id(item, i) for i, item in enumerate(samples))
    if repeated:
        log.warning("duplicate_ids", count=len(repeated),
                    ids=[str(wire_id(v))[:80] for v in dict.fromkeys(repeated)][:5],
                    note="scored anyway; each row echoes its id")


class Scorer:
    """Scores batches of wire-format samples under one pack.

    The one way from a pack spec to a scorer is ``Scorer(load_pack(spec, host))``: the
    pack is a value of its own (validated, hashed, inspected by ``packs validate`` and
    ``packs test`` without scoring), and the scorer owns only the running of it.
    """

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self._configs: dict[str, ComponentConfig] = {c.config.id: c.config for c in pack.components}
        self._ranges = {c.config.id: c.value_range for c in pack.components}
        # Judges whose failures the pack does not allow (their rows may end judge_unavailable).
        self._strict_judges = frozenset(
            c.config.id for c in pack.components
            if c.uses_judge and not c.context.judge_defaults.get("allow_failures"))
        # Dispatch on each component's one declared run mode (read once, after construction).
        self._modes: dict[str, RunMode] = {c.config.id: check_run_mode(c)
                                           for c in pack.components}
        self._gates = [c for c in pack.components if c.config.gate is not None]
        rest = [c for c in pack.components if c.config.gate is None]
        self._group = [c for c in rest if self._mode(c) == "group"]
        self._concurrent = [c for c in rest if self._mode(c) in ("async", "thread")]
        self._inline = [c for c in rest if self._mode(c) == "inline"]
        self._semaphore: asyncio.Semaphore | contextlib.nullcontext[None] | None = None
        self._loop_thread = _LoopThread()
        self._sharer = ValueSharer()
        self._finish_costs = FinishCosts()  # measured per scorer (issue 10 follow-up)
        limits = sync_limits()
        for problem in limits.problems:  # a bad value falls back to the default, said aloud
            log.warning("setting_ignored", problem=problem)
        self._sync_limit_s = limits.call_limit_s
        # Threads for synchronous component work, owned here rather than the loop's
        # default executor, so an overrunning call is abandoned and replaced.
        self._workers = SyncWorkers(max_workers=min(32, max(2, pack.meta.max_concurrency or 32)),
                                    max_abandoned=limits.max_abandoned)

    def _mode(self, component: Component[Any]) -> RunMode:
        return self._modes[component.config.id]

    # -- public API -------------------------------------------------------------------
    def score(self, samples: Sequence[Any], *, timeout_s: float | None = None) -> BatchResult:
        """Score a batch: ``samples`` is a list of wire-shape dicts (``rewardsmith.sample``
        builds one), the result has one reward per sample, in order. Synchronous facade;
        safe to call from any thread, including under a running loop.

        Raises ``TypeError`` when ``samples`` is not a list of samples (one dict, a string),
        ``ValueError`` when ``timeout_s`` is not a finite number of seconds above 0.
        """
        check_batch(samples, "Scorer.score")
        check_seconds(timeout_s, "timeout_s", "Scorer.score")
        return self._loop_thread.run(self.ascore(samples, timeout_s=timeout_s))

    async def ascore(
        self,
        samples: Sequence[Any],
        *,
        timeout_s: float | None = None,
        deadline: float | None = None,
    ) -> BatchResult:
        """Score a batch. ``deadline`` is a ``time.monotonic()`` instant; ``timeout_s`` is
        relative. Work still pending then is abandoned and its failure policy applied.

        Items may be raw samples (dicts) or :class:`SampleError` instances standing for
        input that could not even be decoded (they get a failed result in place).

        The same run as :meth:`astream`'s, with no one listening: results are collected and
        returned in input order.
        """
        check_batch(samples, "Scorer.ascore")
        check_seconds(timeout_s, "timeout_s", "Scorer.ascore")
        return await self._run(samples, timeout_s=timeout_s, deadline=deadline,
                               control=BatchControl(None))

    def astream(self, samples: Sequence[Any], *, timeout_s: float | None = None,
                deadline: float | None = None) -> ScoreStream:
        """Score a batch, yielding each :class:`SampleResult` as soon as it is final, in
        completion order (``result.index`` is its input position): ``async for result in
        scorer.astream(samples)``. A sample is final when all its components are done;
        under ``on_error = "group_mean"`` or a group-mode component, when its whole prompt
        group is. Arguments as :meth:`ascore`; the same results, only sooner.

        ``stream.stop()`` stops launching work and cancels what runs; results already final
        are still yielded and the rest get none (``stream.not_scored``). After the
        iteration, ``stream.batch`` is the :class:`BatchResult` (None when stopped) and
        ``stream.telemetry`` the batch's counters. Raises as :meth:`ascore` does.
        """
        check_batch(samples, "Scorer.astream")
        check_seconds(timeout_s, "timeout_s", "Scorer.astream")
        return ScoreStream(partial(self._run, samples, timeout_s=timeout_s,
                                   deadline=deadline), len(samples))

    def stream(self, samples: Sequence[Any], *, timeout_s: float | None = None) -> ScoreRun:
        """:meth:`astream` for synchronous callers: a blocking iterator over the results as
        each becomes final, scored on the scorer's loop thread. ``run.stop()`` is safe from
        any thread or a signal handler (how ``rewardsmith score`` handles Ctrl-C).
        Raises as :meth:`score` does.
        """
        check_batch(samples, "Scorer.stream")
        check_seconds(timeout_s, "timeout_s", "Scorer.stream")
        return ScoreRun(self._loop_thread.submit,
                        partial(self._run, samples, timeout_s=timeout_s, deadline=None),
                        len(samples), self._loop_thread.alive)

    async def _run(self, samples: Sequence[Any], control: BatchControl, *,
                   timeout_s: float | None, deadline: float | None) -> BatchResult:
        """The one scoring run: each final result goes to ``control.listener`` (when there
        is one) and the batch comes back with every result in input order (only those
        final before a stop, when stopped)."""
        _warn_duplicate_ids(samples)
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(
                deadline, int | float) or not math.isfinite(deadline)):
            raise ValueError(f"Scorer.ascore: deadline must be a finite time.monotonic() "
                             f"instant or None, got {deadline!r}")
        started = time.monotonic()
        if timeout_s is not None:
            candidate = started + timeout_s
            deadline = candidate if deadline is None else min(deadline, candidate)
        final = deadline
        if deadline is not None:
            # Parsing and building results take time proportional to the batch; stop the
            # scoring work early enough that the answer still leaves before the deadline.
            reserve = min(len(samples) * _FINISH_COST_S, 0.5 * max(0.0, deadline - started))
            deadline -= reserve
        telemetry = BatchTelemetry(samples=len(samples), deadline=deadline)
        token = bind_telemetry(telemetry)
        bound = bind_workers(self._workers, self._sync_limit_s)
        limits = _Deadline(deadline, final)
        if control.listener is not None:
            limits.stopping = asyncio.get_running_loop().create_future()
        control.attach(limits.stop)
        try:
            results, deadline_hit = await self._score(samples, limits, telemetry,
                                                      control.listener)
        finally:
            unbind_workers(bound)
            unbind_telemetry(token)
        health = self._workers.health()
        telemetry.abandoned_workers = health.abandoned_alive
        telemetry.workers_unhealthy = health.unhealthy
        batch = BatchResult(results, telemetry, time.monotonic() - started, deadline_hit)
        log.info("batch_stopped" if limits.stopped else "batch_scored", pack=self.pack.name,
                 pack_version=self.pack.version, pack_hash=self.pack.hash, **batch.summary())
        return batch

    def worker_health(self) -> WorkerHealth:
        """Abandoned worker threads still running, and whether sync work is refused."""
        return self._workers.health()

    async def aclose(self) -> None:
        for component in self.pack.components:
            try:
                await component.aclose()
            except Exception as exc:  # closing must not mask the work that was done
                log.warning("component_close_failed", component=component.config.id,
                            error=repr(exc))
        await self.pack.backends.aclose()

    def close(self) -> None:
        try:
            self._loop_thread.run(self.aclose())
        finally:
            self._loop_thread.close()
            self._workers.close()

    # -- the pipeline -----------------------------------------------------------------
    async def _score(
        self, raw: Sequence[Any], deadline: _Deadline, telemetry: BatchTelemetry,
        listener: Callable[[SampleResult], None] | None = None,
    ) -> tuple[list[SampleResult], bool]:
        if self._semaphore is None:
            # No pack limit: the judges' own limits compose as documented (issue 13).
            limit = self.pack.meta.max_concurrency
            self._semaphore = (asyncio.Semaphore(limit) if limit is not None
                               else contextlib.nullcontext())
        meta = self.pack.meta
        states: list[_State | SampleError] = []
        failed_turns: dict[int, int] = {}  # per-turn vector length of unparsed samples
        parse_started = time.monotonic()
        count, final = len(raw), deadline.final
        unread_from: int | None = None
        for index, item in enumerate(raw):
            if final is not None and index and index & 255 == 0:
                # A batch too large for its deadline (issue 10): stop reading while the
                # results of what was read, and a cheap failed result for the rest, still
                # fit, at this scorer's measured cost of building a result.
                if not self._finish_costs.known:
                    self._probe_finish(states)
                now = time.monotonic()
                # each sample read must also be scored: stop reading while it still can be
                per = (self._finish_per_result(parse_started, index)
                       + self._finish_costs.scoring((now - parse_started) / index))
                if now + index * per + (count - index) * self._finish_costs.tail_s >= final:
                    unread_from = index
                    break
            if isinstance(item, SampleError):
                states.append(item)
                continue
            try:
                sample = parse_sample(item, index, max_response_chars=meta.max_response_chars,
                                      strip_reasoning_wrappers=meta.strip_reasoning,
                                      where=source_label(item))
                states.append(_State(sample))
            except SampleError as exc:
                exc.sample_id = item_id(item, index)
                states.append(exc)
                failed_turns[index] = count_assistant_turns(item)
            except Exception as exc:  # a parser bug must still not cost the batch
                states.append(SampleError(f"sample #{index}: {type(exc).__name__}: {exc}",
                                          kind=ErrorKind.INTERNAL_ERROR,
                                          sample_id=item_id(item, index)))
                failed_turns[index] = count_assistant_turns(item)
        live = [s for s in states if isinstance(s, _State)]
        read = len(states)
        if final is not None and deadline.at is not None and (read >= 256 or unread_from):
            # Measured now (the probe, or earlier batches): this replaces the reserve
            # assumed before reading.
            if not self._finish_costs.known:
                self._probe_finish(states)
            per = self._finish_per_result(parse_started, read)
            deadline.at = final - read * per - (count - read) * self._finish_costs.tail_s

        # Results as samples finish, for a listener (issue 14); none: all built at the end.
        done: list[SampleResult | None] = [None] * read
        completion = Completion(
            components=len(self.pack.components),
            whole_groups=bool(self._group) or any(c.on_error == "group_mean"
                                                  for c in self._configs.values()),
            on_final=None if listener is None else partial(
                self._final, done=done, telemetry=telemetry, listener=listener),
            held=self._judge_failed)
        if completion.eager:
            completion.register(live)
            for state in live:
                state.completion = completion
            for index, state in enumerate(states):
                if isinstance(state, SampleError):
                    completion.mark_final(index)
                    done[index] = self._failed_input(index, state, failed_turns)
                    telemetry.record_failure(state.kind)
                    listener(done[index])  # type: ignore[misc,arg-type]
        scoring_started = time.monotonic()
        deadline_hit, launched = await self._gate_and_launch(live, deadline)
        scoring = [s for s in live if s.gate is None]
        deadline_hit |= await self._run_inline(scoring, deadline)
        launched.extend(self._launch_groups(scoring))
        if launched:
            deadline_hit |= await self._wait_all(launched, deadline)
        if not deadline_hit:
            self._finish_costs.learn_scoring(len(live), time.monotonic() - scoring_started)
        if deadline.stopped:
            completion.stopped = True  # what was not final by now gets no result
        final = completion.final
        for state in live:
            if final and (completion.stopped or state.sample.index in final):
                continue
            for component in self.pack.components:
                if component.config.id not in state.outcomes:
                    state.outcomes[component.config.id] = self._skipped(component, state)
        del live, scoring, launched  # _finish releases each state once its result is built
        finishing = time.monotonic()
        results = self._finish(states, telemetry, failed_turns, completion, done)
        if not completion.stopped:
            self._finish_costs.learn(len(results), time.monotonic() - finishing)
        if listener is not None:
            for index, result in enumerate(done):
                if result is None and not completion.stopped:
                    listener(results[index])
        if unread_from is not None and not completion.stopped:
            finishing = time.monotonic()
            tail = self._unread(raw, unread_from, telemetry)
            results.extend(tail)
            self._finish_costs.learn_tail(count - unread_from, time.monotonic() - finishing)
            deadline_hit = True
            if listener is not None:
                for result in tail:
                    listener(result)
        return results, deadline_hit

    def _final(self, members: Sequence[_State], *, done: list[SampleResult | None],
               telemetry: BatchTelemetry, listener: Callable[[SampleResult], None]) -> None:
        """Build and hand on the results of ``members``, which just became final (one
        sample, or a whole prompt group when the pack needs whole groups)."""
        for state in members:
            for component in self.pack.components:
                if component.config.id not in state.outcomes:  # gated: the rest skipped
                    state.outcomes[component.config.id] = self._skipped(component, state)
        means = self._group_means([m for m in members if m.gate is None])
        for state in members:
            index = state.sample.index
            done[index] = result = self._finish_state(index, state, means, telemetry)
            listener(result)

    def _finish_per_result(self, parse_started: float, read: int) -> float:
        """Seconds to keep back per sample read: the scorer's measured finishing cost, or
        (nothing measured) a multiple of what reading cost."""
        measured = self._finish_costs.reserve(1)
        if measured is not None:
            return measured
        return max((time.monotonic() - parse_started) / max(read, 1) * _FINISH_PER_READ,
                   _FINISH_COST_S)

    def _probe_finish(self, states: list[_State | SampleError]) -> None:
        """Measure, on a cold scorer, what building a result costs: results of the first
        parsed samples, as if every component had scored, built on copies and thrown away
        (the batch and its telemetry are untouched)."""
        probe = [s.sample for s in states[:1024] if isinstance(s, _State)][:PROBE_SAMPLES]
        if not probe:
            return
        scratch = BatchTelemetry(samples=len(probe))
        outcomes = {}
        for component in self.pack.components:
            cfg = component.config
            lo, hi = self._ranges[cfg.id]
            outcomes[cfg.id] = (cfg.type, cfg.effective_weight, min(max(0.0, lo), hi))

        def build(i: int) -> object:
            state = _State(probe[i], {cid: ComponentOutcome(cid, kind, weight, value)
                                      for cid, (kind, weight, value) in outcomes.items()})
            return self._finish_one(i, state, {}, scratch)

        self._finish_costs.probe(build, len(probe))

    def _unread(self, raw: Sequence[Any], start: int,
                telemetry: BatchTelemetry) -> list[SampleResult]:
        """Failed results (``deadline``) for the items not read before the deadline."""
        ref, reward = self.pack.ref, self.pack.failure_reward
        message, kind = "not read: the batch deadline came first", str(ErrorKind.DEADLINE)
        out = []
        for index in range(start, len(raw)):
            item = raw[index]
            if isinstance(item, SampleError):  # undecodable input keeps its own error
                sid = index if item.sample_id is NO_ID else item.sample_id
                out.append(SampleResult(id=sid, index=index, reward=reward, status="failed",
                                        pack=ref, error=str(item), error_kind=str(item.kind),
                                        turn_rewards=self._assigned(reward, 0)))
                telemetry.record_failure(item.kind)
                continue
            out.append(SampleResult(id=item_id(item, index), index=index, reward=reward,
                                    status="failed", pack=ref, error=message, error_kind=kind,
                                    turn_rewards=self._assigned(
                                        reward, count_assistant_turns(item))))
        unread = sum(r.error_kind == kind for r in out)
        if unread:
            telemetry.record_failure(kind, count=unread)
        return out

    def _skipped(self, component: Component[Any], state: _State) -> ComponentOutcome:
        cfg = component.config
        if state.gate is not None:
            return ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, None, skipped=True)
        outcome = ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, None,
                                   error="abandoned at the batch deadline",
                                   error_kind=str(ErrorKind.DEADLINE))
        tally = (state.tallies or {}).get(cfg.id)
        if tally is not None and not tally.empty():
            # What the abandoned run had sent (and shared) is still this row's (s5 F3).
            outcome.measurements.update(tally.measurements())
        return outcome

    async def _gate_and_launch(
        self, states: list[_State], deadline: _Deadline
    ) -> tuple[bool, list[asyncio.Future[None]]]:
        """Run each sample's gates in pack order, then launch its I/O-bound components at
        once, so judge calls overlap the checks still running on later samples.
        """
        launched: list[asyncio.Future[None]] = []
        inline = all(self._mode(g) == "inline" for g in self._gates)
        if inline:
            if not self._gates:
                await self._launch_sliced(states, launched)
                return deadline.passed(), launched
            for first in range(0, len(states), _GATE_CHUNK):
                chunk = states[first:first + _GATE_CHUNK]
                for gate in self._gates:
                    pending = [s for s in chunk if s.gate is None]
                    outcomes = await self._run_sync(gate, pending, deadline)
                    for state, outcome in zip(pending, outcomes, strict=True):
                        if outcome is not None:
                            self._record_gate(state, gate, outcome)
                for state in chunk:
                    state.settle()  # gated ones are final now
                if deadline.passed():
                    return True, launched
                for state in chunk:
                    if state.gate is None:
                        launched.extend(self._launch_concurrent(state))
            return False, launched

        async def gate_then_score(state: _State) -> None:
            for gate in self._gates:
                if self._record_gate(state, gate, await self._call(gate, state.sample)):
                    state.settle()
                    return
            await asyncio.gather(*self._launch_concurrent(state))

        # Costly gates (e.g. a judge) run concurrently across samples; the inline checks
        # wait for them, since a failed gate must skip them.
        runs = [asyncio.ensure_future(gate_then_score(s)) for s in states]
        return await self._wait_all(runs, deadline), []

    async def _launch_sliced(self, states: list[_State],
                             launched: list[asyncio.Future[None]]) -> None:
        """Start every sample's concurrent components, yielding to the event loop between
        slices sized so that a loop turn (a slice's first steps — a judge renders its
        request up to the wait for a slot — and the I/O that is ready) takes about
        ``_LAUNCH_SLICE_S``, between ``_LAUNCH_CHUNK_MIN`` and ``_LAUNCH_CHUNK`` samples:
        the connects and sends of the calls already started advance once per turn."""
        size, first = _LAUNCH_CHUNK_MIN, 0
        while first < len(states):
            for state in states[first:first + size]:
                launched.extend(self._launch_concurrent(state))
            first += size
            if first >= len(states):
                return
            started = time.perf_counter()
            # the tasks just made run their first steps now, with the I/O that is ready
            await asyncio.sleep(0)
            spent = time.perf_counter() - started
            size = max(_LAUNCH_CHUNK_MIN, min(_LAUNCH_CHUNK, int(
                size * _LAUNCH_SLICE_S / spent) if spent > 0 else _LAUNCH_CHUNK))

    def _launch_concurrent(self, state: _State) -> list[asyncio.Future[None]]:
        """Start the sample's "async" and "thread" components as tasks."""

        async def run(component: Component[Any]) -> None:
            if component.uses_judge:
                state.tallies = state.tallies or {}
                state.tallies[component.config.id] = open_tally()[0]  # this task's own
            state.outcomes[component.config.id] = await self._call(component, state.sample)
            state.settle()

        return [asyncio.ensure_future(run(c)) for c in self._concurrent]

    def _launch_groups(self, states: list[_State]) -> list[asyncio.Future[None]]:
        if not self._group:
            return []
        groups: dict[str, list[_State]] = defaultdict(list)
        for state in states:
            groups[state.sample.group_key].append(state)

        async def run(component: Component[Any], members: list[_State]) -> None:
            if component.uses_judge:  # an abandoned group's calls go on its first row
                first = members[0]
                first.tallies = first.tallies or {}
                first.tallies[component.config.id] = open_tally()[0]  # this task's own
            outcomes = await self._call_group(component, [m.sample for m in members])
            for member, outcome in zip(members, outcomes, strict=True):
                member.outcomes[component.config.id] = outcome
            for member in members:
                member.settle()

        return [asyncio.ensure_future(run(c, members))
                for c in self._group for members in groups.values()]

    def _record_gate(self, state: _State, gate: Component[Any], outcome: ComponentOutcome) -> bool:
        state.outcomes[gate.config.id] = outcome
        spec = gate.config.gate
        assert spec is not None
        if outcome.error is not None:
            # A gate that could not check fails closed unless the pack lets it pass; a gate
            # that abstains ("too short to tell") does not apply and never decides. Either
            # way the component's own on_error policy sets its value later.
            failed = spec.on_error == "fail" and outcome.error_kind not in ABSTENTION_KINDS
        else:
            failed = (outcome.passed is False) if spec.min_value is None else (
                outcome.raw_value is not None and outcome.raw_value < spec.min_value
            )
        if failed:
            state.gate = gate.config.id
            state.gate_reward = spec.fail_reward
        return failed

    async def _run_inline(self, states: list[_State], deadline: _Deadline) -> bool:
        """Synchronous components, one component over the whole batch at a time (keeps its
        code and caches hot), on an owned worker thread under a per-sample limit, so the
        loop stays free for judge replies and the deadline."""
        # Under a deadline, in chunks: what is scored when it comes is a prefix of the
        # batch, each sample complete, rather than every sample missing its last checks.
        step = len(states) if deadline.at is None else _INLINE_CHUNK
        for first in range(0, len(states), max(step, 1)):
            chunk = states[first:first + step] if step < len(states) else states
            for component in self._inline:
                outcomes = await self._run_sync(component, chunk, deadline)
                for state, outcome in zip(chunk, outcomes, strict=True):
                    if outcome is not None:
                        state.outcomes[component.config.id] = outcome
                if deadline.passed():
                    return True
            for state in chunk:
                state.settle()
        return False

    async def _run_sync(self, component: Component[Any], states: list[_State],
                        deadline: _Deadline) -> list[ComponentOutcome | None]:
        """``component`` over ``states`` on a worker thread; ``None`` where the batch
        deadline came first (the sample is recorded as abandoned later)."""
        limit = self._limit(component)
        remaining = deadline.remaining()
        if remaining is not None:
            # A sample stuck for a quarter of what is left is abandoned while the rest of
            # the batch can still be scored on a fresh thread.
            limit = min(limit, max(remaining / _STUCK_SHARE, 0.001))
        call_sync = self._call_sync

        def one(i: int) -> ComponentOutcome:
            return call_sync(component, states[i].sample)

        def overrun(_: int) -> ComponentOutcome | None:
            return self._error(component, f"ran past its {limit:g}s per-sample limit; its "
                               "worker thread was abandoned", ErrorKind.WORKER_OVERRUN)

        def refused(_: int, why: str) -> ComponentOutcome | None:
            return self._error(component, why, ErrorKind.WORKERS_EXHAUSTED)

        return await self._workers.map(one, len(states), limit_s=limit, deadline=deadline.at,
                                       on_overrun=overrun, on_deadline=lambda _: None,
                                       on_refused=refused)

    def _limit(self, component: Component[Any]) -> float:
        """The per-sample limit of a synchronous component: its ``timeout_s``, else the
        ``REWARDSMITH_SYNC_LIMIT_S`` default."""
        return component.config.timeout_s or self._sync_limit_s

    async def _wait_all(self, aws: Sequence[Awaitable[None]], deadline: _Deadline) -> bool:
        """Wait for all, or until the deadline; cancel what is left. True if cut short."""
        tasks = [asyncio.ensure_future(a) for a in aws]
        if not tasks:
            return False
        remaining = deadline.remaining()
        if remaining is not None and remaining <= 0:
            _abandoning()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return True
        if deadline.stopping is None:
            _, pending = await asyncio.wait(tasks, timeout=remaining)
        else:  # a streamed run: a stop ends the wait as the deadline does
            pending = await _wait_or_stop(tasks, deadline.stopping, remaining)
        if pending:
            _abandoning()
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return bool(pending)

    # -- one component call -----------------------------------------------------------
    def _outcome(
        self, component: Component[Any], score: Any, elapsed_ms: float
    ) -> ComponentOutcome:
        cfg = component.config
        if not isinstance(score, Score):
            return self._error(component, f"returned {type(score).__name__}, not a Score",
                               ErrorKind.INVALID_SCORE)
        lo, hi = component.value_range
        value = score.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ) or not lo - 1e-9 <= value <= hi + 1e-9:
            return self._error(component, f"returned value {value!r}, outside [{lo}, {hi}]",
                               ErrorKind.INVALID_SCORE)
        value = min(max(float(value), lo), hi)
        if self._mode(component) != "inline":
            measurements = dict(score.measurements)
            measurements.setdefault("latency_ms", round(elapsed_ms, 3))
            return ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, value, value,
                                    score.passed, score.rationale, measurements, score.details,
                                    partial_error_kind=score.partial_error_kind)
        # Cheap checks repeat themselves across samples: equal values are kept once.
        share = self._sharer
        return ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, value, value,
                                score.passed, share.text(score.rationale),
                                share.mapping(score.measurements), share.mapping(score.details),
                                partial_error_kind=score.partial_error_kind)

    def _error(self, component: Component[Any], message: str, kind: ErrorKind | str
               ) -> ComponentOutcome:
        cfg = component.config
        return ComponentOutcome(cfg.id, cfg.type, cfg.effective_weight, None, error=message,
                                error_kind=str(kind))  # plain str: orjson refuses str-subclass keys

    def _exception(self, component: Component[Any], exc: BaseException) -> ComponentOutcome:
        exc = contain(exc)
        if isinstance(exc, ContainedExit):
            return self._error(component, str(exc), ErrorKind.PLUGIN_EXIT)
        if isinstance(exc, TimeoutError):
            return self._error(component, f"timed out after {component.config.timeout_s}s",
                               ErrorKind.TIMEOUT)
        if isinstance(exc, ComponentError):
            outcome = self._error(component, str(exc), exc.kind)
            outcome.measurements.update(exc.measurements)
            return outcome
        # An unclassified exception inside a judge is the judge's failure, named by type:
        # counted as an outage kind (core.judge_outages), never a quiet checks-only reward.
        kind = ErrorKind.JUDGE_INTERNAL_ERROR if component.uses_judge else ErrorKind.EXCEPTION
        return self._error(component, f"{type(exc).__name__}: {exc}", kind)

    def _call_sync(self, component: Component[Any], sample: Sample) -> ComponentOutcome:
        if component.config.scope == "turn" and len(sample.turns) > 0:
            return score_turns_sync(component, sample,
                                    self._call_sync_one)
        return self._call_sync_one(component, sample)

    def _call_sync_one(self, component: Component[Any], sample: Sample) -> ComponentOutcome:
        started = time.perf_counter()
        try:
            score = component.score(sample)
        except BaseException as exc:  # a plugin's SystemExit must not end the batch
            return self._exception(component, exc)
        return self._outcome(component, score, (time.perf_counter() - started) * 1000)

    async def _call(self, component: Component[Any], sample: Sample) -> ComponentOutcome:
        if component.config.scope == "turn" and len(sample.turns) > 0:
            return await score_turns(component, sample, self._call_one)
        return await self._call_one(component, sample)

    async def _call_one(self, component: Component[Any], sample: Sample) -> ComponentOutcome:
        if not component.uses_judge:
            return await self._call_untallied(component, sample)
        tally, token = open_tally()
        try:
            outcome = await self._call_untallied(component, sample)
        finally:
            close_tally(token)
        if outcome.error is not None and "judge_calls" not in outcome.measurements \
                and not tally.empty():
            # Ended without its own accounting (timeout_s, an unclassified exception):
            # the requests it made are still this row's (s5 tester F3).
            outcome.measurements.update(tally.measurements())
        return outcome

    async def _call_untallied(self, component: Component[Any], sample: Sample
                              ) -> ComponentOutcome:
        assert self._semaphore is not None
        started = time.perf_counter()
        try:
            async with self._semaphore:
                mode = self._mode(component)
                if mode == "async":
                    coro: Awaitable[Score] = component.score(sample)  # type: ignore[assignment]
                    # asyncio.timeout, not wait_for: no extra task per call (issue 13)
                    async with asyncio.timeout(component.config.timeout_s):
                        score = await _contained(coro)
                elif mode == "thread":
                    score = await self._workers.call(  # type: ignore[call-arg]
                        partial(component.score, sample), limit_s=self._limit(component))
                else:
                    return self._call_sync_one(component, sample)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise  # the batch deadline: the caller records it
            return self._exception(component, exc)
        except BaseException as exc:  # a plugin's SystemExit must not end the batch
            return self._exception(component, exc)
        return self._outcome(component, score, (time.perf_counter() - started) * 1000)

    async def _call_group(
        self, component: Component[Any], samples: list[Sample]
    ) -> list[ComponentOutcome]:
        started = time.perf_counter()
        tally, token = open_tally()
        try:
            scores = await asyncio.wait_for(_contained(component.score_group(samples)),
                                            component.config.timeout_s)
            if len(scores) != len(samples):
                raise ComponentError(f"returned {len(scores)} scores for {len(samples)} samples",
                                     kind=ErrorKind.INVALID_SCORE)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise
            return self._group_failed(component, exc, samples, tally)
        except BaseException as exc:  # a plugin's SystemExit must not end the batch
            return self._group_failed(component, exc, samples, tally)
        finally:
            close_tally(token)
        elapsed = (time.perf_counter() - started) * 1000
        return [self._exception(component, s) if isinstance(s, BaseException)
                else self._outcome(component, s, elapsed) for s in scores]

    def _group_failed(self, component: Component[Any], exc: BaseException,
                      samples: list[Sample], tally: JudgeTally) -> list[ComponentOutcome]:
        """Every member's outcome of a group run that raised: the group's judge requests
        (the tally) on the first row only, so rows sum to the batch telemetry."""
        outcomes = [self._exception(component, exc) for _ in samples]
        if outcomes and component.uses_judge and not tally.empty():
            outcomes[0].measurements.update(tally.measurements())
        return outcomes

    # -- aggregation ------------------------------------------------------------------
    def _finish(self, states: list[_State | SampleError], telemetry: BatchTelemetry,
                failed_turns: dict[int, int] | None = None,
                completion: Completion | None = None,
                done: Sequence[SampleResult | None] = ()) -> list[SampleResult]:
        """Every result of the batch in input order: those already built as their samples
        finished (``done``) and the rest, built now; after a stop, only the former."""
        stopped = completion is not None and completion.stopped
        final: set[int] = completion.final if completion is not None else set()
        self._record_judge_outages(
            [s for i, s in enumerate(states) if i in final] if stopped else states, telemetry)
        means_by_group: dict[str, dict[str, float | None]] = {}
        if self._needs_group_means:
            grouped: dict[str, list[_State]] = defaultdict(list)
            for s in states:
                if isinstance(s, _State) and s.gate is None:
                    grouped[s.sample.group_key].append(s)
            means_by_group = {k: self._group_means(v)[k] for k, v in grouped.items()}

        results: list[SampleResult] = []
        unread: Counter[str] = Counter()  # counted once per kind: a 100k tail stays cheap
        for index, state in enumerate(states):
            if index in final:
                if (result := done[index]) is not None:
                    results.append(result)
                continue
            if stopped:
                continue
            if isinstance(state, SampleError):
                unread[str(state.kind)] += 1
                results.append(self._failed_input(index, state, failed_turns or {}))
                continue
            states[index] = None  # type: ignore[index]  # peak memory: one of state, result
            results.append(self._finish_state(index, state, means_by_group, telemetry))
        for kind, count in unread.items():
            telemetry.record_failure(kind, count=count)
        self._mark_judge_unavailable(results, telemetry)
        return results

    @property
    def _needs_group_means(self) -> bool:
        return any(c.on_error == "group_mean" for c in self._configs.values())

    def _group_means(self, members: Sequence[_State]) -> dict[str, dict[str, float | None]]:
        """``{group key: {component id: mean}}`` of the ``group_mean`` components over
        ``members`` (non-gated samples of one prompt group); empty when none needs it."""
        if not members or not self._needs_group_means:
            return {}
        ids = [cid for cid, c in self._configs.items() if c.on_error == "group_mean"]
        return {members[0].sample.group_key: group_means([m.outcomes for m in members], ids)}

    def _failed_input(self, index: int, state: SampleError,
                      failed_turns: dict[int, int]) -> SampleResult:
        """The failed result of an input that could not be read as a sample."""
        failure_reward = self.pack.failure_reward
        return SampleResult(
            id=index if state.sample_id is NO_ID else state.sample_id, index=index,
            reward=failure_reward, status="failed", pack=self.pack.ref,
            error=str(state), error_kind=str(state.kind),
            turn_rewards=self._assigned(failure_reward, failed_turns.get(index, 0)))

    def _finish_state(self, index: int, state: _State,
                      means_by_group: dict[str, dict[str, float | None]],
                      telemetry: BatchTelemetry) -> SampleResult:
        """One sample's result; a bug in its aggregation costs only that sample."""
        try:
            return self._finish_one(index, state, means_by_group, telemetry)
        except Exception as exc:
            pack = self.pack
            telemetry.record_failure(ErrorKind.INTERNAL_ERROR)
            return SampleResult(
                id=state.sample.id, index=index, reward=pack.failure_reward,
                status="failed", pack=pack.ref, error=f"{type(exc).__name__}: {exc}",
                error_kind=str(ErrorKind.INTERNAL_ERROR), group_key=state.sample.group_key,
                turn_rewards=self._assigned(pack.failure_reward, len(state.sample.turns)))

    def _judge_failed(self, state: _State) -> bool:
        """Whether a judge whose failures the pack does not allow failed on ``state``: its
        row waits for the batch's end, which says whether that judge judged no sample
        (:meth:`_mark_judge_unavailable`)."""
        return any(o.error is not None and cid in self._strict_judges
                   for cid, o in state.outcomes.items())

    @staticmethod
    def _mark_judge_unavailable(results: list[SampleResult],
                                telemetry: BatchTelemetry) -> None:
        """Rows whose reward lacks a judge that could not run in this batch, and whose pack
        did not allow that, say so: ``status`` ``judge_unavailable`` instead of ``ok`` (the
        reward is the other components', as for ``ok``; the batch is an outage: exit 4)."""
        down = [cid for cid, o in telemetry.judge_unavailable.items() if not o.allowed]
        if not down:
            return
        for result in results:
            if result.status == "ok" and any(
                    (o := result.components.get(cid)) is not None and o.error is not None
                    for cid in down):
                result.status = "judge_unavailable"

    def _assigned(self, reward: float, turns: int) -> tuple[float, ...] | None:
        """A gated or failed sample's per-turn vector, when results carry one."""
        if not (self.pack.scores_trajectories or turns > 1):
            return None
        return assign_reward(reward, turns, self.pack.trajectory, self.pack.reward_range)

    def _record_judge_outages(self, states: Sequence[_State | SampleError],
                              telemetry: BatchTelemetry) -> None:
        """Name each judge component that could not run at all in this batch: it judged
        no sample, and its failures are not all excluded on purpose (core.judge_outages)."""
        for component in self.pack.components:
            if not component.uses_judge:
                continue
            cid = component.config.id
            outcomes = [o for s in states if isinstance(s, _State)
                        and (o := s.outcomes.get(cid)) is not None and not o.skipped]
            if not outcomes or any(o.error is None for o in outcomes):
                continue
            kind = outage_kind(o.error_kind for o in outcomes)  # the most telling cause
            if kind is None:
                continue  # every failure excluded on purpose (core.judge_outages)
            cause = next(o for o in outcomes if o.error_kind == kind)
            allowed = bool(component.context.judge_defaults.get("allow_failures"))
            why = cause.error or kind
            if kind == ErrorKind.DEADLINE and telemetry.judge_retries:
                # what kept the calls from finishing (e.g. a throttle storm)
                why += " (judge attempts retried in this batch: " + ", ".join(
                    f"{k} x{n}" for k, n in telemetry.judge_retries.most_common()) + ")"
            # Recorded, not logged: the CLI and the Lambda report it once each.
            telemetry.record_judge_outage(JudgeOutage(cid, kind, why, len(outcomes), allowed))

    def _finish_one(self, index: int, state: _State,
                    means_by_group: dict[str, dict[str, float | None]],
                    telemetry: BatchTelemetry) -> SampleResult:
        pack = self.pack
        sample = state.sample
        outcomes = state.outcomes
        ordered = {c.config.id: outcomes[c.config.id] for c in pack.components}
        base = dict(id=sample.id, index=index, pack=pack.ref, components=ordered,
                    group_key=sample.group_key, response_chars=len(sample.response))
        turns = len(sample.turns)
        try:
            for cid, outcome in ordered.items():
                if outcome.error is not None:
                    telemetry.record_failure(outcome.error_kind or ErrorKind.ERROR, cid)
                    means = means_by_group.get(sample.group_key, {})
                    apply_policy(outcome, self._configs[cid], self._ranges[cid], means.get(cid))
                elif outcome.partial_error_kind is not None:
                    # part of its work failed (turns, jurors, orderings, comparisons) and it
                    # was scored from the rest: still a failure of the sample, counted
                    telemetry.record_failure(outcome.partial_error_kind, cid)
            if state.gate is not None:
                assert state.gate_reward is not None
                return SampleResult(reward=state.gate_reward, status="gated",
                                    gate=state.gate,
                                    turn_rewards=self._assigned(state.gate_reward, turns),
                                    **base)
            if pack.formula is not None:
                reward = formula_reward(pack.formula, ordered, self._configs, pack.reward_range)
            else:
                reward = weighted_mean(list(ordered.values()), self._ranges, pack.reward_range)
        except SampleFailed as exc:
            telemetry.record_failure(ErrorKind.SAMPLE_FAILED)
            return SampleResult(reward=pack.failure_reward, status="failed",
                                error=str(exc), error_kind=str(ErrorKind.COMPONENT_FAILED),
                                turn_rewards=self._assigned(pack.failure_reward, turns),
                                **base)
        vector = None
        if pack.scores_trajectories or turns > 1:
            vector = turn_rewards(ordered, self._configs, self._ranges, turns, pack.trajectory,
                                  pack.reward_range, pack.formula)
        return SampleResult(reward=finite_or(reward, pack.failure_reward),
                            status="ok", turn_rewards=vector, **base)

