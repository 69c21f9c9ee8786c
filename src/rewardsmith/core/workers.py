"""Synchronous component work off the event loop: threads the engine owns, a time limit per
call, and a worker that overruns abandoned and replaced.

Why: a synchronous ``score`` (an inline check, a ``run = "thread"`` component, a pack
regex or JSON Schema ``pattern``, a plugin check that never returns) run on the event
loop blocks every judge reply and the batch deadline; run on the loop's default executor,
a few calls that never return starve unrelated work for the rest of the process's life.
Here each call runs on a thread of a :class:`SyncWorkers` pool owned by one scorer; the
loop only supervises: when a call runs past its limit (or the batch deadline passes), its
thread is abandoned (Python threads cannot be killed), the call's result becomes a named
error for that sample only, and the rest of the work goes on on a fresh thread.

Abandoned threads are counted. While more than ``max_abandoned`` of them are still
running, the pool is *unhealthy*: it refuses new work with a ``workers_exhausted`` error
(instead of starting thread after thread, each burning a CPU on a runaway regex) until
some finish; the scorer's telemetry, the CLI and the Lambda's log line and EMF metrics
report it (``docs/decisions.md``, "Issue 10").

Plugin code that raises ``SystemExit``, ``KeyboardInterrupt`` or ``GeneratorExit`` in a
worker never reaches the loop as such: :func:`contain` turns it into a
:class:`ContainedExit` (an ordinary ``Exception``), because asyncio re-raises the first
two out of the event loop when a task ends with them (CPython 3.11
``Lib/asyncio/tasks.py``, ``Task.__step``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rewardsmith.core import settings
from rewardsmith.core.errors import ComponentError, ErrorKind, RewardsmithError

T = TypeVar("T")

#: How often an idle supervisor re-checks a running call when no limit is due sooner (s).
_MAX_POLL_S = 0.25
#: A call blocked without using CPU overruns after this many times its limit of wall time.
_BLOCKED_FACTOR = 3.0


def _cpu_clock(thread: threading.Thread) -> int | None:
    """The CPU-time clock of ``thread`` (POSIX ``pthread_getcpuclockid``), else None."""
    getter = getattr(time, "pthread_getcpuclockid", None)
    if getter is None or thread.ident is None:
        return None
    try:
        return int(getter(thread.ident))
    except OSError:
        return None


# Seconds the garbage collector has run in this process: a full collection over a large
# batch's objects (seconds, with 100,000 samples) stops every thread and is charged to
# whichever call triggered it, so it is not counted against a call's limit.
_gc_time = [0.0, 0.0]  # [total, start of the collection in progress]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_time[1] = time.perf_counter()
    else:
        _gc_time[0] += time.perf_counter() - _gc_time[1]


gc.callbacks.append(_on_gc)


def _used(job: _Job, now: float) -> tuple[float, float]:
    """Wall and CPU seconds the job's current call has run, less garbage collection
    (CPU = wall without a clock)."""
    collecting = _gc_time[0] - job.gc_started
    wall = now - job.call_started - collecting
    if job.cpu_clock is None:
        return wall, wall
    try:
        return wall, time.clock_gettime(job.cpu_clock) - job.cpu_started - collecting
    except OSError:  # the thread ended meanwhile
        return wall, 0.0


SYNC_LIMIT_ENV = "REWARDSMITH_SYNC_LIMIT_S"
MAX_ABANDONED_ENV = "REWARDSMITH_MAX_ABANDONED_WORKERS"


@dataclass(frozen=True)
class SyncLimits:
    """``call_limit_s``: per-sample limit of a synchronous component without its own
    ``timeout_s``; ``max_abandoned``: overrunning threads tolerated before work is refused;
    ``problems``: bad environment values that fell back to the defaults."""

    call_limit_s: float
    max_abandoned: int
    problems: tuple[str, ...] = ()


def sync_limits(environ: dict[str, str] | None = None) -> SyncLimits:
    """The limits from ``REWARDSMITH_SYNC_LIMIT_S`` and ``REWARDSMITH_MAX_ABANDONED_WORKERS``
    (a bad value falls back to the default and is named in ``problems``)."""
    problems: list[str] = []

    def read(name: str, minimum: float) -> float:
        default = float(settings.default(name))
        raw = settings.get(name, environ)
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not (value >= minimum and value < float("inf")):
            problems.append(f"{name}={raw!r} is not a finite number >= {minimum:g}; "
                            f"using {default:g}")
            return default
        return value

    return SyncLimits(read(SYNC_LIMIT_ENV, 0.001), int(read(MAX_ABANDONED_ENV, 0)),
                      tuple(problems))


class ContainedExit(RewardsmithError):
    """Plugin code raised a ``BaseException`` that is not an ``Exception``
    (``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit``); ``original`` is it."""

    def __init__(self, original: BaseException) -> None:
        self.original = original
        super().__init__(f"plugin code raised {type(original).__name__}"
                         + (f"({original})" if str(original) else ""))


# Set by the SIGINT handler install_interrupt_marker() puts in place: the user pressed Ctrl-C.
_interrupt = {"installed": False, "received": False}


def install_interrupt_marker() -> None:
    """Record real SIGINTs (then raise KeyboardInterrupt as Python's default handler does),
    so :func:`users_interrupt` can tell the user's Ctrl-C from plugin code raising
    ``KeyboardInterrupt``. For programs that own the process (the CLI); call from the main
    thread. A handler other than Python's default is left alone.
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def on_sigint(signum: int, frame: Any) -> None:
        _interrupt["received"] = True
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, on_sigint)
    _interrupt["installed"] = True


def users_interrupt(exc: BaseException) -> bool:
    """True when ``exc`` is a ``KeyboardInterrupt`` that must stop the program: a SIGINT was
    received (marker installed), or, without the marker, it arrived on the main thread
    (signals are only delivered there; on another thread it is always plugin code)."""
    if not isinstance(exc, KeyboardInterrupt):
        return False
    if _interrupt["installed"]:
        return _interrupt["received"]
    return threading.current_thread() is threading.main_thread()


def contain(exc: BaseException) -> BaseException:
    """``exc`` itself when it is an ``Exception`` or a ``CancelledError``, else a
    :class:`ContainedExit` wrapping it (so it can cross a task or thread boundary)."""
    if isinstance(exc, Exception | asyncio.CancelledError):
        return exc
    return ContainedExit(exc)


@dataclass(frozen=True)
class WorkerHealth:
    """``abandoned_alive``: abandoned threads still running; ``abandoned_total``: threads
    abandoned since the pool started; ``unhealthy``: new work is refused."""

    abandoned_alive: int
    abandoned_total: int
    max_abandoned: int

    @property
    def unhealthy(self) -> bool:
        return self.abandoned_alive > self.max_abandoned


class _Job:
    """Calls ``fn(i)`` for ``i`` from ``index`` to ``count - 1`` on one thread; the
    supervisor reads the progress fields under ``lock``."""

    __slots__ = (
        "abandoned",
        "call_started",
        "context",
        "count",
        "cpu_clock",
        "cpu_started",
        "deadline",
        "done",
        "fn",
        "gc_started",
        "index",
        "limit",
        "lock",
        "loop",
        "results",
        "thread",
    )

    def __init__(self, fn: Callable[[int], Any], count: int, limit: float | None,
                 deadline: float | None, loop: asyncio.AbstractEventLoop,
                 results: list[Any], start: int) -> None:
        self.fn = fn
        self.count = count
        self.limit = limit
        self.results = results
        self.index = start
        self.call_started = time.monotonic()
        self.cpu_clock: int | None = None  # the worker thread's CPU clock, where there is one
        self.cpu_started = 0.0
        self.gc_started = 0.0
        self.abandoned = False
        self.lock = threading.Lock()
        self.done: asyncio.Future[None] = loop.create_future()
        self.loop = loop
        self.context = contextvars.copy_context()  # telemetry is bound per batch
        self.deadline = deadline
        self.thread: threading.Thread | None = None  # set by the worker that runs it

    def finish(self) -> None:
        def resolve() -> None:
            if not self.done.done():
                self.done.set_result(None)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            self.loop.call_soon_threadsafe(resolve)


class SyncWorkers:
    """A pool of up to ``max_workers`` threads for synchronous component calls.

    ``max_abandoned`` is how many overrunning threads may still be running before the
    pool refuses new work (see the module docstring). Use from one event loop at a time.
    """

    def __init__(self, *, max_workers: int = 8, max_abandoned: int = 4,
                 name: str = "rewardsmith-sync") -> None:
        self._max_workers = max(1, max_workers)
        self._max_abandoned = max(0, max_abandoned)
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._idle = 0
        self._abandoned: list[threading.Thread] = []
        self._abandoned_total = 0
        self._serial = 0
        self._closed = False

    # -- health -------------------------------------------------------------------------
    def health(self) -> WorkerHealth:
        """How many abandoned threads are still running, and whether work is refused."""
        with self._lock:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return WorkerHealth(len(self._abandoned), self._abandoned_total,
                                self._max_abandoned)

    # -- running work -------------------------------------------------------------------
    async def map(self, fn: Callable[[int], T], count: int, *, limit_s: float | None,
                  deadline: float | None,
                  on_overrun: Callable[[int], T],
                  on_deadline: Callable[[int], T],
                  on_refused: Callable[[int, str], T]) -> list[T]:
        """``[fn(0), ..., fn(count - 1)]``, run in order on one worker thread.

        ``limit_s`` bounds each call (seconds; ``None``: only the deadline); ``deadline`` is
        a ``time.monotonic()`` instant. A call past its limit gets ``on_overrun(i)`` and
        the rest go on on a fresh thread; calls not finished at the deadline get
        ``on_deadline(i)``; when the pool is unhealthy the calls get
        ``on_refused(i, why)``. ``fn`` should not raise; if it does, the call's result is
        the :func:`contain`-ed exception. Cancelling the caller abandons the job (its
        thread is counted if it had started).
        """
        results: list[Any] = [None] * count
        start = 0
        loop = asyncio.get_running_loop()
        while start < count:
            refused = self._refusal()
            if refused is not None:
                for i in range(start, count):
                    results[i] = on_refused(i, refused)
                break
            job = _Job(fn, count, limit_s, deadline, loop, results, start)
            self._submit(job)
            try:
                stopped = await self._supervise(job)
            except asyncio.CancelledError:
                self._give_up(job)
                raise
            if stopped is None:
                break
            i, overran = stopped
            if overran:
                results[i] = on_overrun(i)
                start = i + 1
            else:
                for j in range(i, count):
                    results[j] = on_deadline(j)
                break
        return results

    async def call(self, fn: Callable[[], T], *, limit_s: float | None,
                   deadline: float | None = None) -> T:
        """Run ``fn()`` on a worker thread and return its result.

        Raises:
            ComponentError: ``worker_overrun`` past ``limit_s`` (the thread is abandoned),
                ``workers_exhausted`` when the pool is unhealthy, ``deadline`` at
                ``deadline``.
            Exception: what ``fn`` raised, with a ``BaseException`` that is not an
                ``Exception`` wrapped in :class:`ContainedExit`.
        """
        def guarded(_: int) -> tuple[bool, Any]:
            try:
                return True, fn()
            except BaseException as exc:  # crosses the thread boundary as a value
                return False, contain(exc)

        def overrun(_: int) -> tuple[bool, Any]:
            return False, ComponentError(
                f"ran past its {limit_s:g}s time limit; its worker thread was abandoned",
                kind=ErrorKind.WORKER_OVERRUN)

        def late(_: int) -> tuple[bool, Any]:
            return False, ComponentError("still running at the batch deadline; its worker "
                                         "thread was abandoned", kind=ErrorKind.DEADLINE)

        def refused(_: int, why: str) -> tuple[bool, Any]:
            return False, ComponentError(why, kind=ErrorKind.WORKERS_EXHAUSTED)

        ((ok, value),) = await self.map(guarded, 1, limit_s=limit_s, deadline=deadline,
                                        on_overrun=overrun, on_deadline=late,
                                        on_refused=refused)
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def close(self) -> None:
        """Stop the idle threads (running ones stop after their job); never blocks."""
        with self._lock:
            self._closed = True
            count = len(self._workers)
        for _ in range(count):
            self._jobs.put(None)

    # -- internals ----------------------------------------------------------------------
    def _refusal(self) -> str | None:
        health = self.health()
        if health.unhealthy:
            return (f"{health.abandoned_alive} worker threads abandoned after overrunning are "
                    f"still running (limit {health.max_abandoned}); synchronous work is "
                    "refused until they finish")
        return None

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                self._closed = False  # a scorer used again after close() gets new threads
            spawn = self._idle == 0 and len(self._workers) < self._max_workers
            if spawn:
                self._serial += 1
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._name}-{self._serial}")
                self._workers.add(thread)
                self._idle += 1
        if spawn:
            thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                with self._lock:
                    self._workers.discard(me)
                return
            if not job.context.run(self._run_job, job, me):
                return  # abandoned: this thread retires; the pool already replaced it
            with self._lock:
                self._idle += 1

    @staticmethod
    def _run_job(job: _Job, me: threading.Thread) -> bool:
        """Run the job's calls; False when the supervisor abandoned this thread."""
        fn, count, results, deadline = job.fn, job.count, job.results, job.deadline
        try:
            with job.lock:
                if job.abandoned:
                    return True  # given up while queued: this thread never ran it
                job.thread = me
                job.cpu_clock = _cpu_clock(me)
                job.call_started = time.monotonic()
                job.cpu_started = time.thread_time()
                job.gc_started = _gc_time[0]
                i = job.index
            while i < count:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    value = fn(i)
                except BaseException as exc:  # a call that should not raise: kept as value
                    value = contain(exc)
                with job.lock:
                    if job.abandoned:
                        return False
                    results[i] = value
                    i += 1
                    job.index = i
                    job.call_started = time.monotonic()
                    job.cpu_started = time.thread_time()
                    job.gc_started = _gc_time[0]
            return True
        finally:
            job.finish()

    async def _supervise(self, job: _Job) -> tuple[int, bool] | None:
        """Wait for ``job``; None when every call finished, else ``(index, overran)`` of
        the call it stopped at: overran its limit, or met the deadline.

        A call overruns when its thread has used ``limit`` seconds of CPU (a busy machine
        that keeps the thread waiting never makes an ordinary call overrun: the project's
        regex limits count CPU time too), or when it has been running ``_BLOCKED_FACTOR``
        times ``limit`` of wall time (a call blocked without using CPU: a lock, a socket).
        """
        limit = job.limit
        while True:
            due = job.deadline
            now = time.monotonic()
            if limit is not None and job.thread is not None:
                wall, cpu = _used(job, now)
                until = min(job.call_started + limit * _BLOCKED_FACTOR, now + limit - cpu)
                due = until if due is None else min(due, until)
            wait = _MAX_POLL_S if due is None else min(_MAX_POLL_S, max(0.001, due - now))
            if not job.done.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(job.done), wait)
            if job.done.done():
                # The worker stops early only when it saw the deadline.
                return (job.index, False) if job.index < job.count else None
            now = time.monotonic()
            with job.lock:
                if job.index >= job.count:
                    continue  # finished just now; its done callback is on its way
                over = False
                if limit is not None and job.thread is not None:
                    wall, cpu = _used(job, now)
                    over = cpu >= limit or wall >= limit * _BLOCKED_FACTOR
                late = job.deadline is not None and now >= job.deadline
                if not (over or late):
                    continue
            self._give_up(job)
            return job.index, over

    def _give_up(self, job: _Job) -> None:
        """Abandon ``job``: its thread (if it started) leaves the pool, so the next submit
        starts another, and counts against ``max_abandoned`` until its call returns."""
        with job.lock:
            job.abandoned = True
            thread = job.thread if job.index < job.count else None
        if thread is not None:
            with self._lock:
                self._workers.discard(thread)
                self._abandoned.append(thread)
                self._abandoned_total += 1


# The pool of the batch being scored, and its default per-call limit, for plugin code that
# offloads synchronous work itself (a product metric's function).
_current: contextvars.ContextVar[tuple[SyncWorkers, float] | None] = contextvars.ContextVar(
    "rewardsmith_sync_workers", default=None)


def bind_workers(workers: SyncWorkers, limit_s: float
                 ) -> contextvars.Token[tuple[SyncWorkers, float] | None]:
    """Make ``workers`` the pool :func:`offload` uses in this context (the engine does, per
    batch); pass the token to :func:`unbind_workers` when the batch ends."""
    return _current.set((workers, limit_s))


def unbind_workers(token: contextvars.Token[tuple[SyncWorkers, float] | None]) -> None:
    """Undo :func:`bind_workers`. A batch coroutine closed from another context (garbage
    collected after its loop was stopped by plugin code) has nothing left to undo there."""
    with contextlib.suppress(ValueError):
        _current.reset(token)


async def offload(fn: Callable[[], T], *, limit_s: float | None = None) -> T:
    """``fn()`` on the scoring batch's own worker threads under ``limit_s`` (default: the
    scorer's per-sample limit); outside a batch, on ``asyncio.to_thread``. Raises as
    :meth:`SyncWorkers.call` does."""
    bound = _current.get()
    if bound is None:
        try:
            return await asyncio.to_thread(fn)
        except BaseException as exc:
            contained = contain(exc)
            if contained is exc:
                raise
            raise contained from exc
    workers, default_limit = bound
    return await workers.call(fn, limit_s=limit_s or default_limit)
