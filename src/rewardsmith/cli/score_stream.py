"""``rewardsmith score`` writing rows as samples finish (issue 14): the row writer (completion
or input order, a flushed line per row) and the SIGINT/SIGTERM handling that stops a run
keeping every finished row."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TextIO

from rewardsmith.core.wire import encode_line

#: ``--order`` values: rows as samples finish, or in input order.
ORDERS = ("completion", "input")


class RowWriter:
    """Writes JSONL rows to ``out``, each flushed at once. ``order="completion"``: as they
    come; ``"input"``: each row as soon as every row before it (by input index) is written,
    the rest held until then. :meth:`drain` writes what is held (after a stop), in input
    order with gaps where samples got no row."""

    def __init__(self, out: TextIO, order: str) -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self._out = out
        self._in_order = order == "input"
        self._held: dict[int, str] = {}
        self._next = 0
        self.written = 0

    def write(self, index: int, row: dict[str, Any]) -> None:
        """The row of the sample at input ``index`` (0-based over the whole input)."""
        line = encode_line(row) + "\n"
        if not self._in_order:
            self._emit(line)
            return
        self._held[index] = line
        while self._next in self._held:
            self._emit(self._held.pop(self._next))
            self._next += 1

    def drain(self) -> None:
        """Write every held row, in input order."""
        for index in sorted(self._held):
            self._emit(self._held.pop(index))

    def _emit(self, line: str) -> None:
        self._out.write(line)
        self._out.flush()  # a row is on disk the moment its sample is final
        self.written += 1


class StopSignals:
    """While active (``with``), the first SIGINT or SIGTERM records itself and calls the
    stop callback set with :meth:`on_stop` (the running batch's ``stop``); a second one
    restores the previous handlers and is re-delivered (Ctrl-C twice: stop at once).
    Outside the main thread signals cannot be caught and nothing is installed.

    POSIX exit codes for a signal: ``128 + signum`` (130 SIGINT, 143 SIGTERM); see
    :attr:`exit_code`.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self._stop: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:  # the second one: give up waiting
            self._restore()
            signal.raise_signal(signum)
            return
        self.received = signum
        if self._stop is not None:
            self._stop()

    def on_stop(self, stop: Callable[[], None] | None) -> None:
        """What the next signal calls (None: nothing runs; the loop checks
        :attr:`received` before starting more). Called at once if a signal came first."""
        self._stop = stop
        if stop is not None and self.received is not None:
            stop()

    @property
    def name(self) -> str:
        return "" if self.received is None else signal.Signals(self.received).name

    @property
    def exit_code(self) -> int:
        return 0 if self.received is None else 128 + self.received
