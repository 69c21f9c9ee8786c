"""Results as each sample finishes (issue 14): when a sample's result is final, and the
iterators that hand a batch's results over in completion order.

A sample is final when every component has an outcome for it (or a gate decided it). What
needs a whole group makes its members final only together: ``on_error = "group_mean"``
(the group's mean is borrowed) and group-mode components (listwise, pairwise in group
mode) — the pack decides, :attr:`Completion.whole_groups`. Deduplicated judge requests
share a call but each sample still waits for its own reply, so they need nothing here.

:class:`ScoreStream` (async) and :class:`ScoreRun` (a blocking iterator over the scorer's
loop thread) are what ``Scorer.astream`` and ``Scorer.stream`` return; ``Scorer.ascore``
is the same run with no one listening, its results collected in input order.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rewardsmith.core.results import BatchResult, ComponentOutcome, SampleResult
    from rewardsmith.core.sample import Sample
    from rewardsmith.core.telemetry import BatchTelemetry

Listener = Callable[["SampleResult"], None]


class Pending(Protocol):
    """A sample being scored, as the engine keeps it."""

    sample: Sample
    outcomes: dict[str, ComponentOutcome]
    gate: str | None


class Completion:
    """Which samples of one batch are final, handing each to ``on_final`` once.

    ``components``: how many outcomes make a sample complete; ``whole_groups``: members of
    a prompt group are final only when all of them are complete; ``on_final`` receives the
    samples that just became final (one, or a whole group). ``held``: complete samples whose
    result can still change at the end of the batch (a judge that failed may turn out to have
    judged no sample: the row then says ``judge_unavailable``); they, and their group when
    whole groups are waited for, are built with the batch's end. With no ``on_final`` nothing is
    tracked: the engine builds every result at the end of the batch, as it did before
    streaming existed, so the batch path and its deadline accounting are unchanged.
    """

    def __init__(self, *, components: int, whole_groups: bool,
                 on_final: Callable[[Sequence[Pending]], None] | None,
                 held: Callable[[Pending], bool] | None = None) -> None:
        self._components = components
        self.whole_groups = whole_groups
        self._on_final = on_final
        self._held = held
        self._held_groups: set[str] = set()
        self._final: set[int] = set()
        self._complete: set[int] = set()
        self._groups: dict[str, list[Pending]] = {}
        self._complete_in: Counter[str] = Counter()
        #: Set when the run was stopped: nothing becomes final any more.
        self.stopped = False

    @property
    def eager(self) -> bool:
        """Whether results are built as samples finish (someone is listening)."""
        return self._on_final is not None

    def register(self, live: Sequence[Pending]) -> None:
        """The parsed samples of the batch (their groups, when whole groups are waited for)."""
        if self._on_final is not None and self.whole_groups:
            for state in live:
                self._groups.setdefault(state.sample.group_key, []).append(state)

    def is_final(self, index: int) -> bool:
        """Whether the sample at ``index`` was already handed on."""
        return index in self._final

    @property
    def final(self) -> set[int]:
        """The indices of the samples already handed on (read-only use)."""
        return self._final

    def mark_final(self, index: int) -> None:
        """Record that the sample at ``index`` got its result (at the end of the batch)."""
        self._final.add(index)

    def settle(self, state: Pending) -> None:
        """Hand ``state`` on if it just became final (cheap when it did not)."""
        if self._on_final is None or self.stopped:
            return
        index = state.sample.index
        if index in self._complete or not (state.gate is not None
                                           or len(state.outcomes) >= self._components):
            return
        self._complete.add(index)
        held = self._held is not None and self._held(state)
        if not self.whole_groups:
            if not held:
                self._final.add(index)
                self._on_final((state,))
            return
        key = state.sample.group_key
        if held:
            self._held_groups.add(key)
        self._complete_in[key] += 1
        members = self._groups.get(key, ())
        if self._complete_in[key] == len(members) and key not in self._held_groups:
            self._final.update(m.sample.index for m in members)
            self._on_final(members)

    def settle_all(self, states: Sequence[Pending]) -> None:
        """:meth:`settle` each of ``states``."""
        if self._on_final is not None:
            for state in states:
                self.settle(state)


class BatchControl:
    """The link between one running batch and whoever streams it: each final result goes
    to ``listener`` (on the loop's thread), and :meth:`stop` ends the run early.

    Stopping launches nothing more, cancels what is in flight (as a batch deadline would)
    and hands on no result after it: samples not final by then get no result at all.
    """

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.stop_requested = False
        self._stop: Callable[[], None] | None = None

    def attach(self, stop: Callable[[], None]) -> None:
        """The engine's way to stop this batch (called once it started)."""
        self._stop = stop
        if self.stop_requested:
            stop()

    def stop(self) -> None:
        """Stop the batch (call on the loop's thread; idempotent)."""
        if self.stop_requested:
            return
        self.stop_requested = True
        if self._stop is not None:
            self._stop()


_END = object()


class _Outcome:
    """How a streamed run ended: its batch (None when stopped) or its exception."""

    def __init__(self) -> None:
        self.batch: BatchResult | None = None
        self.telemetry: BatchTelemetry | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self.emitted = 0


def _ended(outcome: _Outcome, control: BatchControl, batch: BatchResult) -> None:
    outcome.telemetry = batch.telemetry
    if control.stop_requested:
        outcome.stopped = True
    else:
        outcome.batch = batch


class _Ended:
    """What a finished run tells, for both iterators: :attr:`batch`, :attr:`telemetry`,
    :attr:`stopped` and :attr:`not_scored` (see :class:`ScoreStream`)."""

    _outcome: _Outcome
    total: int

    @property
    def batch(self) -> BatchResult | None:
        return self._outcome.batch

    @property
    def telemetry(self) -> BatchTelemetry | None:
        return self._outcome.telemetry

    @property
    def stopped(self) -> bool:
        return self._outcome.stopped

    @property
    def not_scored(self) -> int:
        return self.total - self._outcome.emitted


class ScoreStream(_Ended):
    """Async iterator over one batch's :class:`SampleResult`\\ s, each as soon as it is
    final, in completion order (``result.index`` is its input position). Use on the event
    loop that scores (``Scorer.astream``).

    After the iteration ends: :attr:`batch` is the :class:`BatchResult` (every result, in
    input order) or None when :meth:`stop` ended it early; :attr:`telemetry` is the batch's
    counters either way; :attr:`not_scored` counts the inputs that got no result.
    Exceptions of the run are raised from the iteration.
    """

    def __init__(self, start: Callable[[BatchControl], Awaitable[BatchResult]],
                 total: int) -> None:
        self._start = start
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._control = BatchControl(self._queue.put_nowait)
        self._outcome = _Outcome()
        self._task: asyncio.Task[None] | None = None
        self.total = total

    async def _drive(self) -> None:
        try:
            _ended(self._outcome, self._control, await self._start(self._control))
        except BaseException as exc:
            self._outcome.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self._queue.put_nowait(_END)

    def __aiter__(self) -> ScoreStream:
        return self

    async def __anext__(self) -> SampleResult:
        if self._task is None:
            self._task = asyncio.ensure_future(self._drive())
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # iterating again ends again
            if self._outcome.error is not None:
                raise self._outcome.error
            raise StopAsyncIteration
        self._outcome.emitted += 1
        return item  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop launching work and cancel what is in flight; the results already final
        are still yielded, then the iteration ends."""
        self._control.stop()

    async def aclose(self) -> None:
        """Stop, and wait until the run has wound down."""
        self.stop()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


class ScoreRun(_Ended):
    """Blocking iterator over one batch's results, each as soon as it is final (completion
    order; ``result.index`` is the input position), scored on the scorer's loop thread
    (``Scorer.stream``). :meth:`stop` may be called from any thread, e.g. a signal handler.

    After the iteration: :attr:`batch` (None when stopped), :attr:`telemetry`,
    :attr:`stopped`, :attr:`not_scored`, as for :class:`ScoreStream`.
    """

    def __init__(self, submit: Callable[[Coroutine[Any, Any, None]],
                                        tuple[Future[None], asyncio.AbstractEventLoop]],
                 start: Callable[[BatchControl], Awaitable[BatchResult]], total: int,
                 alive: Callable[[], bool]) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._control = BatchControl(self._queue.put)
        self._outcome = _Outcome()
        self._alive = alive
        self.total = total
        self._ended = False

        async def drive() -> None:
            try:
                _ended(self._outcome, self._control, await start(self._control))
            except Exception as exc:
                self._outcome.error = exc
            finally:
                self._queue.put(_END)

        self._future, self._loop = submit(drive())

    def __iter__(self) -> ScoreRun:
        return self

    def __next__(self) -> SampleResult:
        if self._ended:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                if not self._alive() and not self._future.done():
                    raise RuntimeError("the scorer's event loop stopped") from None
                continue
            if item is _END:
                self._ended = True
                if self._outcome.error is not None:
                    raise self._outcome.error
                raise StopIteration
            self._outcome.emitted += 1
            return item  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop launching work and cancel what is in flight (safe from any thread and from
        a signal handler); results already final are still delivered, then it ends."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to stop
            self._loop.call_soon_threadsafe(self._control.stop)

    def close(self) -> None:
        """Stop and drain, discarding what is left."""
        self.stop()
        for _ in self:
            pass
