"""What a network judge backend does around its transport: the telemetry of every call,
the structured-output mode fallback, the one repair turn for a malformed verdict, and the
reply. Subclasses of :class:`ResilientJudgeBackend` supply only the wire format: how a
request body is built, how one attempt is sent, and how a response is read.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from rewardsmith.core.errors import ComponentError, ErrorKind, RewardsmithError
from rewardsmith.core.json_text import json_type
from rewardsmith.core.judge_sends import sending
from rewardsmith.core.judging import (
    SCHEMA_CHECKED,
    JudgeBackend,
    JudgeReply,
    JudgeRequest,
    judge_error,
)
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.backends._pricing import estimate_cost
from rewardsmith.plugins.backends._resilience import (
    CallFailed,
    CallStats,
    ConfigErrorReporter,
    LoopLocalSemaphore,
    Resilience,
    ResilientBackendConfig,
    record_call,
)
from rewardsmith.plugins.backends._verdict import (
    PREVIOUS_REPLY_PLACEHOLDER,
    VerdictParse,
    check_schema,
    parse_verdict,
    repair_message,
    verdict_from_value,
)


def token_count(value: Any) -> int:
    """A usage figure as a token count: a non-negative whole number, else 0 (a server's
    ``"lots"``, ``-5`` or ``null`` is no count; the verdict does not depend on it)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    return 0


class ModeRejected(RewardsmithError):
    """The model refused a structured-output mode; ``auto`` steps down to the next one."""


@dataclass
class ModelAnswer:
    """One model response, reduced to what a judge needs."""

    text: str  # what the model wrote, reasoning excluded
    tool_input: Any  # the forced tool's input, when the verdict came as a tool call
    stop_reason: str | None
    service_latency_ms: float | None = None  # the service's own timing, when it reports one
    logprobs: list[dict[str, Any]] | None = None  # per output token, when asked for


class ResilientJudgeBackend(JudgeBackend):
    """A judge backend on a network service, its calls run through :class:`Resilience`.

    Subclasses implement :meth:`structured_mode`, :meth:`_body`, :meth:`_attempt`,
    :meth:`_token_counts`, :meth:`_read` and :meth:`_turn`.
    """

    #: ``auto`` steps down this order when the model rejects a mode (the last never is).
    fallback_order: ClassVar[tuple[str, ...]] = ()
    #: The stop reason meaning the reply was cut off at max_tokens, for the parse error.
    truncated_stop_reason: ClassVar[str | None] = None
    #: Whether the malformed-verdict error names the structured-output mode.
    mode_in_parse_error: ClassVar[bool] = False
    #: Modes whose text reply is schema-constrained: read as one JSON value, never run
    #: through reasoning-tag stripping.
    structured_text_modes: ClassVar[frozenset[str]] = frozenset()

    config: ResilientBackendConfig

    def __init__(self, config: ResilientBackendConfig) -> None:
        super().__init__(config)
        self._modes: dict[str, str] = {}  # model id -> structured-output mode that worked
        self._reporter = ConfigErrorReporter(self.backend_name(), config.model)
        self.resilience = Resilience(config, on_config_error=self._reporter)
        self._discovery = LoopLocalSemaphore(1)

    # -- transport, per service ----------------------------------------------------------
    def structured_mode(self) -> str:
        """The structured-output mode the next call will use."""
        raise NotImplementedError

    def _body(self, request: JudgeRequest, messages: list[dict[str, Any]],
              mode: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _attempt(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        """One exchange with the service; raises ``CallFailed`` or :class:`ModeRejected`."""
        raise NotImplementedError

    async def _prepare(self) -> None:
        """Make the client if it does not exist yet (before any rate-limit reservation,
        so the time it takes is not spent from the quota's schedule)."""

    @staticmethod
    def _token_counts(response: dict[str, Any]) -> tuple[int, int]:
        """Input and output tokens the response reports."""
        raise NotImplementedError

    def _read(self, request: JudgeRequest, response: dict[str, Any]) -> ModelAnswer:
        """The answer in ``response``; raises a judge error for a refusal."""
        raise NotImplementedError

    @staticmethod
    def _turn(role: str, text: str) -> dict[str, Any]:
        """One conversation message (``role`` is ``user`` or ``assistant``)."""
        raise NotImplementedError

    def mode_unsettled(self) -> bool:
        """Whether calls must still find, one at a time, the mode the service accepts
        (default: no; a subclass whose ``auto`` mode steps down says yes until settled)."""
        return False

    def settle_mode(self) -> None:
        """A call has found out what the service does with the current mode."""

    def remember_mode(self, mode: str) -> None:
        """Use ``mode`` from now on, after the model rejected the one before it."""
        self._modes[self.config.model] = mode

    # -- the contract -------------------------------------------------------------------
    async def complete(self, request: JudgeRequest) -> JudgeReply:
        started = time.perf_counter()
        usage = CallStats()
        error_kind: ErrorKind | str | None = None
        cancelled = False
        try:
            return await self._complete(request, usage, started)
        except ComponentError as exc:
            error_kind = exc.kind
            # A failed call reports its mode, attempts and repair turn like a verdict does.
            for key, value in self._failure_measurements(usage, started).items():
                exc.measurements.setdefault(key, value)
            raise
        except asyncio.CancelledError:
            if usage.sent:
                # Sent, then abandoned (the batch deadline, a stop, the component's
                # timeout_s): the service received it (and bills its input), so it is a
                # call that failed, counted once like any other (s5 tester F3).
                usage.attempts = usage.sent
                error_kind = current_telemetry().abandoning or ErrorKind.TIMEOUT
            else:
                cancelled = True  # never left this process: not a judge call
            raise
        except Exception as exc:
            # Unclassified (a bug, or a client library failing in a way nobody named):
            # a judge failure of its own kind, naming the exception, never an AttributeError
            # the judge would take for a component bug.
            error_kind = ErrorKind.JUDGE_INTERNAL_ERROR
            raise ComponentError(
                f"{self.backend_name()} judge {self.config.model}: {type(exc).__name__}: "
                f"{exc}", kind=ErrorKind.JUDGE_INTERNAL_ERROR,
                measurements=self._failure_measurements(usage, started)) from exc
        finally:
            if not cancelled:
                record_call(started, usage, self._cost(usage), error_kind,
                            mode=usage.mode, repaired=usage.repaired)

    def _failure_measurements(self, usage: CallStats, started: float
                              ) -> dict[str, float | int | str | bool | None]:
        """What a failed call reports in its sample's measurements: the keys a judge's
        ``CallStats.measurements`` gives a verdict (one call, its attempts, repair turn,
        structured-output mode, tokens, cost, latency and slot waiting)."""
        out: dict[str, float | int | str | bool | None] = {
            "judge_calls": 1,
            "judge_attempts": usage.attempts,
            "judge_repairs": int(usage.repaired),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost_usd": round(self._cost(usage), 8),
            "judge_latency_ms": round(
                (time.perf_counter() - started - usage.queued_s) * 1000, 3),
            "judge_queued_ms": round(usage.queued_s * 1000, 3),
        }
        if usage.mode:
            out["judge_mode"] = usage.mode
        return out

    def _cost(self, usage: CallStats) -> float:
        cfg = self.config
        return estimate_cost(cfg.model, usage.input_tokens, usage.output_tokens,
                             cfg.price_per_1k_input, cfg.price_per_1k_output)

    async def _complete(self, request: JudgeRequest, usage: CallStats,
                        started: float) -> JudgeReply:
        schema = request.json_schema
        if schema is not None:
            check_schema(schema)
        messages = [self._turn("user", request.user)]
        mode = self.structured_mode() if schema is not None else "none"
        usage.mode = mode
        response = None
        if self.mode_unsettled():
            # One call at a time finds the mode a server accepts: concurrent first calls would
            # each be rejected once. The first call through settles it, whatever its outcome
            # (an unreachable server must not make every later call wait in line).
            async with self._discovery.get():
                mode = usage.mode = self.structured_mode()  # may have stepped down meanwhile
                if self.mode_unsettled():  # calls queued behind the first one go concurrently
                    try:
                        mode, response = await self._send_with_fallback(request, messages,
                                                                        mode, usage)
                    finally:
                        self.settle_mode()
        if response is None:
            mode, response = await self._send_with_fallback(request, messages, mode, usage)
        answer = self._read(request, response)
        if schema is None:
            return self._reply(answer.text, None, answer, usage, started, mode,
                               repaired_from=None)

        parsed = self._verdict(answer, schema, mode)
        repaired_from: str | None = None
        if parsed.verdict is None:
            bad_output = answer.text or (orjson.dumps(answer.tool_input).decode()
                                         if answer.tool_input is not None else "")
            # The bad reply and the validation message re-enter only as escaped data.
            messages = [
                *messages,
                self._turn("assistant", PREVIOUS_REPLY_PLACEHOLDER),
                self._turn("user", repair_message(parsed.problem, schema, bad_output)),
            ]
            repaired_from = parsed.kind
            usage.repaired = True
            answer = self._read(request, await self._send(request, messages, mode, usage))
            parsed = self._verdict(answer, schema, mode)
            if parsed.verdict is None:
                context = f" (mode {mode})" if self.mode_in_parse_error else ""
                what = "ambiguous" if parsed.kind == ErrorKind.AMBIGUOUS_VERDICT else "malformed"
                raise judge_error(parsed.kind, f"{what} verdict after one repair request"
                                               f"{context}: {parsed.problem}")
        verdict = parsed.verdict
        text = answer.text if answer.tool_input is None else orjson.dumps(verdict).decode()
        return self._reply(text, verdict, answer, usage, started, mode,
                           repaired_from=repaired_from)

    async def _send(self, request: JudgeRequest, messages: list[dict[str, Any]], mode: str,
                    usage: CallStats) -> dict[str, Any]:
        await self._prepare()
        body = self._body(request, messages, mode)
        # The quota reserves prompt + max_tokens at the start; ~4 characters a token.
        estimate = (len(request.system) + sum(len(str(m)) for m in messages)) // 4 \
            + self.config.max_tokens
        response = await self.resilience.run(lambda: self._object_attempt(body, mode), usage,
                                             tokens=estimate)
        input_tokens, output_tokens = self._token_counts(response)
        self.resilience.rate.settle(estimate, input_tokens + output_tokens)
        usage.input_tokens += input_tokens
        usage.output_tokens += output_tokens
        # The speed of the last (successful) attempt sizes later attempts' time limits.
        self.resilience.observe_speed(output_tokens, usage.last_attempt_s)
        return response

    async def _object_attempt(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        """:meth:`_attempt`, whose answer must be a JSON object: a server (or a proxy, or a
        wrong ``base_url``) answering ``null``, a list or a string is treated as one
        answering a body that is not JSON at all, a transient ``judge_unavailable``."""
        with sending() as send:  # what a budget charges (core/judge_sends.py)
            response: Any = await self._attempt(body, mode)
            if isinstance(response, dict):
                send.answered_with(*self._token_counts(response))
        if not isinstance(response, dict):
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE,
                             f"the {self.backend_name()} server answered with JSON "
                             f"{json_type(response)}, not a response object",
                             code="bad_body")
        return response

    async def _send_with_fallback(
        self, request: JudgeRequest, messages: list[dict[str, Any]], mode: str,
        usage: CallStats,
    ) -> tuple[str, dict[str, Any]]:
        while True:
            try:
                response = await self._send(request, messages, mode, usage)
            except ModeRejected as exc:
                position = self.fallback_order.index(mode)
                following = self.fallback_order[position + 1]  # the last is never rejected
                self.remember_mode(following)
                self._reporter.log_mode_change(mode, following, str(exc))
                current_telemetry().record_judge_notice(
                    f"{self.backend_name()}:mode:{mode}",
                    f"{self.backend_name()} judge {self.config.model}: the server rejected "
                    f"structured-output mode {mode!r} ({exc}); using {following!r}")
                mode = usage.mode = following
                continue
            if mode != "none":
                self._modes.setdefault(self.config.model, mode)
            return mode, response

    def _verdict(self, answer: ModelAnswer, schema: dict[str, Any], mode: str) -> VerdictParse:
        if answer.tool_input is not None:
            return verdict_from_value(answer.tool_input, schema)
        parsed = parse_verdict(answer.text, schema,
                               structured=mode in self.structured_text_modes)
        if parsed.verdict is None and self.truncated_stop_reason is not None and \
                answer.stop_reason == self.truncated_stop_reason:
            return VerdictParse(None, f"{parsed.problem} (the reply hit "
                                f"{self.truncated_stop_reason}; consider raising max_tokens)",
                                parsed.kind)
        return parsed

    def _reply(self, text: str, verdict: Any, answer: ModelAnswer, usage: CallStats,
               started: float, mode: str, *, repaired_from: str | None) -> JudgeReply:
        extra: dict[str, Any] = {"mode": mode, "attempts": usage.attempts,
                                 "repairs": int(repaired_from is not None),
                                 "repaired": repaired_from is not None,
                                 "queued_ms": round(usage.queued_s * 1000, 3)}
        if repaired_from is not None:
            extra["repaired_from"] = repaired_from  # the first reply's error kind
        if verdict is not None:
            extra[SCHEMA_CHECKED] = True  # validated here: the judge need not do it again
        if answer.service_latency_ms is not None:
            extra["service_latency_ms"] = answer.service_latency_ms
        return JudgeReply(
            text=text,
            parsed=verdict,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            # Time on the model (retries and backoff included), not waiting for a slot.
            latency_ms=(time.perf_counter() - started - usage.queued_s) * 1000,
            cost_usd=self._cost(usage),
            stop_reason=answer.stop_reason,
            extra=extra,
            logprobs=answer.logprobs,
        )
