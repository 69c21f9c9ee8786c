"""What one judge call really sent: every request that left for the model, and what each
answer used, observed from inside the backend for whoever asked (a budget, in
``plugins/judges/budget.py``).

A sample's judge call is not always its own request: an identical request of another
sample may answer it (de-duplication), a repair turn sends a second request, and a call
abandoned at the deadline (or cancelled, or timed out) reached the model without an answer.
The replies and errors a judge sees cannot tell these apart, so a network backend reports
each request it sends through :func:`sending`, to the :class:`SendMeter` bound to the
calling task by :func:`metered` (none is bound outside a budgeted call: then it costs one
context-variable read).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterator

_current: contextvars.ContextVar[SendMeter | None] = contextvars.ContextVar(
    "rewardsmith_judge_send_meter", default=None)


class SendMeter:
    """The requests sent for one judge call of one task, in order (they are sequential:
    a retry, a mode step-down or the repair turn follows the request before it).

    ``on_send(meter)`` runs as a request leaves (``meter.sent`` already counts it), so the
    caller can reserve its cost before the answer comes back.
    """

    def __init__(self, on_send: Callable[[SendMeter], None] | None = None) -> None:
        self.on_send = on_send
        self.sent = 0  # requests sent
        self.answered = 0  # requests the service answered (a usage or an error)
        self.input_tokens = 0  # summed over the answers that reported usage
        self.output_tokens = 0
        #: The usage of the latest answer that reported any (the conversation a repair
        #: turn re-sends), ``(input, output)``; None until one did.
        self.last_usage: tuple[int, int] | None = None

    @property
    def unanswered(self) -> int:
        """Requests sent that got no answer: abandoned (deadline, cancellation) or timed
        out. The service may have received and billed them."""
        return self.sent - self.answered

    def _start(self) -> None:
        self.sent += 1
        if self.on_send is not None:
            self.on_send(self)

    def _answer(self, input_tokens: int, output_tokens: int) -> None:
        self.answered += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        if input_tokens or output_tokens:
            self.last_usage = (input_tokens, output_tokens)


@contextlib.contextmanager
def metered(meter: SendMeter) -> Iterator[SendMeter]:
    """Bind ``meter`` to the current task while the block runs."""
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


class _Send:
    __slots__ = ("meter", "usage")

    def __init__(self, meter: SendMeter | None) -> None:
        self.meter = meter
        self.usage: tuple[int, int] = (0, 0)

    def answered_with(self, input_tokens: int, output_tokens: int) -> None:
        """The answer's usage, as the service reported it (tokens)."""
        self.usage = (input_tokens, output_tokens)


@contextlib.contextmanager
def sending() -> Iterator[_Send]:
    """One request to the model, around the exchange (the backend's attempt): counted as
    sent on entry; answered on exit with the usage given to ``answered_with``, or with none
    when the service answered with an error; left unanswered when the exchange was
    cancelled (the batch deadline, a cancelled batch, the attempt's own time limit)."""
    send = _Send(_current.get())
    meter = send.meter
    if meter is None:
        yield send
        return
    meter._start()
    try:
        yield send
    except asyncio.CancelledError:
        raise  # sent, never answered
    except BaseException:
        meter._answer(0, 0)
        raise
    meter._answer(*send.usage)
