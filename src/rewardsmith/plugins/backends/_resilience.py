"""What every network judge backend needs to survive a busy service: a concurrency limit,
retries with exponential backoff and full jitter, a per-attempt timeout, and a circuit
breaker; plus the settings for them, shared by the Bedrock and OpenAI backends.

Throttling is pressure, not breakage. A throttled attempt is backed off and tried again for
as long as ``max_throttle_wait_s`` and the batch's deadline allow (it does not use up
``max_retries``), and it never counts toward opening the circuit breaker: the service
answered, it only asked us to slow down. Only failures that say the service is broken
(timeouts, 5xx, connection refused) open the circuit. A caller that finds the circuit open
waits for the half-open probe when its deadline leaves room for it, and goes ahead if the
probe succeeds. It fails at once when the deadline is too close, when the probe it waited
for failed, and once any probe of this outage has failed (the service is confirmed down:
waiting a cool-down per caller would only make a dead endpoint slow to report).

Backoff is the "full jitter" of Marc Brooker, "Exponential Backoff And Jitter", AWS
Architecture Blog (2015): ``sleep = uniform(0, min(cap, base * 2**attempt))``; here also
clipped to half of the time left before the deadline, so a retry always has time to run.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from pydantic import Field, ValidationInfo, field_validator

from rewardsmith.core import settings
from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.judging import (
    TRANSIENT_JUDGE_ERROR_KINDS,
    JudgeBackendConfig,
    judge_error,
)
from rewardsmith.core.logs import library_logger
from rewardsmith.core.telemetry import BatchTelemetry, current_telemetry
from rewardsmith.plugins.backends._rate_limit import quota_scope, shared_limiter

T = TypeVar("T")
log = library_logger("rewardsmith.judge")

# Below this many seconds before the deadline a call gives up instead of sleeping again:
# an attempt started later could not finish anyway.
_MIN_ATTEMPT_S = 0.05
# How often a caller waiting on a half-open probe looks whether it ended.
_PROBE_POLL_S = 0.05
# An attempt may take this many times what max_tokens needs at the measured speed before it
# times out: prompt processing and a slower moment on a shared CPU fit in the margin.
_TIMEOUT_MARGIN = 1.5
# Replies shorter than this say little about generation speed (prompt time dominates).
_MIN_TOKENS_FOR_SPEED = 16
_SPEED_SMOOTHING = 0.3
#: The longest wait a setting may ask for (seconds): backoff caps, throttle patience and
#: the circuit's cooldown; more would be a stall.
_LONGEST_WAIT_S = 3600.0
#: A pacing wait this long (seconds) is said as it starts (log) and in the notices.
_LONG_RATE_WAIT_S = 10.0  # weight of the newest measurement in the moving average


class ResilientBackendConfig(JudgeBackendConfig):
    """Settings shared by network backends: retries, circuit breaker, prices, connecting,
    and nucleus sampling (both services take ``top_p``)."""

    operational_fields: ClassVar[frozenset[str]] = JudgeBackendConfig.operational_fields | {
        "max_retries", "max_throttle_wait_s", "retry_base_delay_s", "retry_max_delay_s",
        "circuit_failure_threshold", "circuit_cooldown_s",
        "price_per_1k_input", "price_per_1k_output", "connect_timeout_s",
        "requests_per_minute", "tokens_per_minute", "adaptive_rate",
    }

    top_p: float | None = Field(default=None, gt=0, le=1)

    max_retries: int = Field(
        default=4, ge=0, le=20,
        description="Retries after a transient failure (timeout, 5xx, model error, "
        "unreachable endpoint), on top of any retries the client library makes itself. "
        "Throttling is not counted here: see max_throttle_wait_s.",
    )
    max_throttle_wait_s: float = Field(
        default=30.0, ge=0, le=_LONGEST_WAIT_S,
        description="How long one call keeps backing off and retrying while the service "
        "throttles it (seconds from its first throttled attempt); the batch deadline, when "
        "there is one, bounds it further. 0: a throttled call fails at once.",
    )
    # Waits are bounded (an hour at most): a larger value is a stall, not a setting.
    retry_base_delay_s: float = Field(default=0.5, ge=0, le=_LONGEST_WAIT_S,
                                      description="First backoff cap.")
    retry_max_delay_s: float = Field(default=20.0, ge=0, le=_LONGEST_WAIT_S,
                                     description="Largest backoff cap.")
    circuit_failure_threshold: int = Field(
        default=20, ge=1,
        description="Consecutive failures saying the service is broken (timeouts, 5xx, "
        "connection refused; not throttling) after which the circuit opens.",
    )
    circuit_cooldown_s: float = Field(
        default=10.0, ge=0, le=_LONGEST_WAIT_S,
        description="How long the circuit stays open before one probe call is let through; "
        "callers whose deadline allows wait for the probe, the others fail fast.",
    )
    price_per_1k_input: float | None = Field(
        default=None, ge=0, description="USD per 1,000 input tokens (default: built-in table)."
    )
    price_per_1k_output: float | None = Field(
        default=None, ge=0, description="USD per 1,000 output tokens (default: built-in table)."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0)
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="The model's request quota (RPM) for this account; "
        "calls are paced to stay under it (shared by every component using the model).",
    )
    tokens_per_minute: float | None = Field(
        default=None, gt=0, description="The model's token quota (TPM): each call reserves "
        "its prompt (characters / 4) plus max_tokens, corrected by the reply's usage.",
    )
    adaptive_rate: bool = Field(
        default=True, description="Slow down on throttling and speed back up on success "
        "(AIMD) within the declared requests_per_minute / tokens_per_minute.",
    )

    @field_validator("requests_per_minute")
    @classmethod
    def _one_request_fits(cls, value: float | None) -> float | None:
        # A quota is a bucket holding one minute's worth: below one request it never holds
        # a whole call, and pacing to it would wait for hours per call, silently.
        if value is not None and value < 1:
            raise ValueError(f"requests_per_minute = {value:g} is below one request a minute: "
                             "a call could never fit it; the smallest workable value is 1")
        return value

    @field_validator("tokens_per_minute")
    @classmethod
    def _one_call_fits(cls, value: float | None, info: ValidationInfo) -> float | None:
        max_tokens = info.data.get("max_tokens")
        if value is not None and isinstance(max_tokens, int) and value <= max_tokens:
            raise ValueError(
                f"tokens_per_minute = {value:g} is below one call's reservation: each call "
                f"reserves its prompt (characters / 4) plus max_tokens = {max_tokens}, so a "
                f"call could never fit; the smallest workable value is {max_tokens + 1} "
                "(max_tokens + 1, a one-token prompt), in practice several calls' worth "
                "(docs/sizing.md); or lower max_tokens")
        return value
    adaptive_timeout: bool = Field(
        default=True,
        description="Size each attempt's time limit from max_tokens and the measured output "
        "speed of earlier calls (never below timeout_s), and double it for the retry of an "
        "attempt that timed out, so a slow CPU judge is not cut off and restarted blindly.",
    )


class CallFailed(RewardsmithError):
    """One attempt failed; ``kind`` is a judge error kind, ``code`` the service's error
    code (e.g. ``ValidationException``), ``retry_after_s`` a server hint."""

    def __init__(self, kind: ErrorKind, message: str, *, code: str = "",
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code or kind
        # A hint of inf, nan or a negative delay is no hint (and would print as "infs").
        self.retry_after_s = retry_after_s if retry_after_s is not None and \
            math.isfinite(retry_after_s) and retry_after_s >= 0 else None

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_JUDGE_ERROR_KINDS


def full_jitter_delay(attempt: int, base_s: float, cap_s: float,
                      rng: random.Random | None = None) -> float:
    """AWS "full jitter": uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap_s, base_s * (2 ** attempt))
    return (rng or random).uniform(0.0, ceiling)


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → half-open after
    ``cooldown_s`` (one probe call) → closed on success, open again on failure.

    ``times_opened`` counts the transitions to open (closed → open, and a failed probe),
    so a caller can tell "still the same outage" from "the probe I waited for failed";
    ``confirmed_down`` is true once a probe of the current outage has failed.
    Throttling is neither a failure nor a success here (:meth:`record_throttle`).
    """

    def __init__(self, threshold: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.times_opened = 0
        self.confirmed_down = False
        self.last_failure = ""  # the message of the latest failure, named when open

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.cooldown_s:
                return "half_open"
            return "open"

    def try_acquire(self) -> float | None:
        """None when a call may go out now (this caller may be the half-open probe);
        otherwise the seconds until a probe is due (0.0 when one is already in flight)."""
        with self._lock:
            if self._opened_at is None:
                return None
            waited = self._clock() - self._opened_at
            if waited >= self.cooldown_s:
                if self._probe_in_flight:
                    return 0.0
                self._probe_in_flight = True  # half-open: this caller is the probe
                return None
            return self.cooldown_s - waited

    def open_error(self, remaining_s: float) -> Exception:
        """The ``circuit_open`` error a caller that cannot wait raises; it names the
        latest failure, so the cause survives when every caller ends up failing fast."""
        last = f"; last failure: {self.last_failure}" if self.last_failure else ""
        return judge_error(
            ErrorKind.CIRCUIT_OPEN,
            f"judge circuit is open after {self.threshold} consecutive failures; failing fast "
            f"(next probe in {max(0.0, remaining_s):.1f}s){last}",
        )

    def before_call(self) -> None:
        """Raise ``circuit_open`` unless a call may go out now (never waits)."""
        wait = self.try_acquire()
        if wait is not None:
            raise self.open_error(wait)

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False
            self.confirmed_down = False

    def record_failure(self, cause: str = "") -> None:
        with self._lock:
            self._failures += 1
            self.last_failure = cause or self.last_failure
            if self._probe_in_flight or self._failures >= self.threshold:
                if self._probe_in_flight:
                    self.confirmed_down = True
                if self._opened_at is None or self._probe_in_flight:
                    self.times_opened += 1
                self._opened_at = self._clock()
            self._probe_in_flight = False

    def record_throttle(self) -> None:
        """The service answered "slow down": alive, so not a failure; busy, so not proof
        of health either. The consecutive-failure count stays; a throttled probe hands
        the probe to the next caller without re-opening the circuit."""
        self.release_probe()

    def release_probe(self) -> None:
        """A probe ended without telling anything about the service (e.g. bad request)."""
        with self._lock:
            self._probe_in_flight = False


class LoopLocalSemaphore:
    """An ``asyncio.Semaphore`` per event loop, created lazily inside the running loop
    (a semaphore made outside a loop, or on another loop, cannot be awaited)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_loop: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}
        self._lock = threading.Lock()

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._by_loop.get(id(loop))
            if entry is None or entry[0] is not loop:
                # Forget closed loops so a long-lived process does not accumulate them.
                self._by_loop = {k: v for k, v in self._by_loop.items() if not v[0].is_closed()}
                entry = (loop, asyncio.Semaphore(self.limit))
                self._by_loop[id(loop)] = entry
            return entry[1]


class ConfigErrorReporter:
    """Logs a configuration error loudly once per backend and error code, not per sample."""

    def __init__(self, backend: str, model: str) -> None:
        self.backend = backend
        self.model = model
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, code: str, message: str) -> None:
        with self._lock:
            first = code not in self._seen
            self._seen.add(code)
        if first:
            # A server's error text may quote the request, i.e. candidate text: logged only
            # under REWARDSMITH_DEBUG (docs/security.md); each sample's error field has it.
            detail = {"message": message} if settings.get_flag("REWARDSMITH_DEBUG") else {
                "message_withheld": "may quote sample text; REWARDSMITH_DEBUG=1 shows it"}
            log.error("judge_config_error", backend=self.backend, model=self.model,
                      code=code, **detail,
                      hint="this is a configuration problem; retrying will not fix it")

    def log_mode_change(self, rejected: str, using: str, message: str) -> None:
        """The model rejected a structured-output mode; say once which one is used now."""
        with self._lock:
            first = f"mode:{rejected}" not in self._seen
            self._seen.add(f"mode:{rejected}")
        if first:
            log.warning("judge_structured_output_fallback", backend=self.backend,
                        model=self.model, rejected=rejected, using=using, message=message)


@dataclass
class CallStats:
    """What one judge request cost across its attempts (repairs included)."""

    attempts: int = 0
    queued_s: float = 0.0  # time spent waiting for a concurrency slot, not on the model
    input_tokens: int = 0
    output_tokens: int = 0
    mode: str = ""  # the structured-output mode of the (last) exchange
    repaired: bool = False  # a repair turn was sent
    last_attempt_s: float = 0.0  # time on the model of the latest attempt
    #: Attempts that reached the service (``attempts`` also counts one still waiting for
    #: a slot): a call cancelled after one was sent is a call (s5 tester F3).
    sent: int = 0


def record_call(started: float, stats: CallStats, cost_usd: float,
                error_kind: ErrorKind | str | None, *, mode: str = "",
                repaired: bool = False) -> None:
    """One judge request in the batch telemetry: latency on the model (slot waiting
    excluded), the slot waiting itself, tokens and cost of all its attempts, its
    structured-output mode, attempts and repair turn, and the failure kind if it failed."""
    current_telemetry().record_judge_call(
        latency_ms=(time.perf_counter() - started - stats.queued_s) * 1000,
        input_tokens=stats.input_tokens, output_tokens=stats.output_tokens, cost_usd=cost_usd,
        error_kind=None if error_kind is None else str(error_kind),
        queued_ms=stats.queued_s * 1000, mode=mode or None, attempts=stats.attempts,
        repaired=repaired,
    )


class Resilience:
    """Runs attempts under the concurrency limit, the per-attempt timeout, retries with
    full-jitter backoff and the circuit breaker. Raises a judge :class:`ComponentError`.

    Waits (backoff sleeps, waiting for a probe) are bounded by the batch deadline that the
    engine puts in the batch telemetry (:attr:`BatchTelemetry.deadline`); outside a batch
    there is no deadline and only the settings bound them.
    """

    def __init__(self, config: ResilientBackendConfig, *,
                 on_config_error: ConfigErrorReporter,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.breaker = CircuitBreaker(config.circuit_failure_threshold, config.circuit_cooldown_s)
        self.limiter = LoopLocalSemaphore(config.max_concurrency)
        self.rate = shared_limiter(
            (config.backend, quota_scope(config), config.model),
            config.requests_per_minute, config.tokens_per_minute,
            adaptive=config.adaptive_rate, owner=self)
        self._config_errors = on_config_error
        self._rng = rng or random.Random()
        self.tokens_per_s: float | None = None  # measured output speed, moving average
        #: Throttled answers since the last success, across every call of this backend. A
        #: throttled call's backoff exponent is at most this minus one: under a quota or an
        #: overload nearly every answer is a throttle and backoff grows as before; under
        #: sparse throttling (20% at random) successes keep resetting it, so an unlucky
        #: call's third or fourth throttle in a row is not answered with seconds of sleep
        #: at the end of a batch (issue 13: those sleeps were a 6 s tail on a 10 s batch).
        self.throttle_run = 0
        self._said_long_wait = False

    def _say_long_wait(self, telemetry: BatchTelemetry, seconds: float) -> None:
        """A call is about to wait ``seconds`` on the rate limiter: said once per run in
        the log (as it starts, so a long pause is explained while it lasts) and in the
        batch's judge notices."""
        rpm, tpm = self.rate.declared
        message = (f"judge: calls are waiting on the rate limiter of {self.config.backend}/"
                   f"{self.config.model} (requests_per_minute = {rpm}, tokens_per_minute = "
                   f"{tpm}): one waits {seconds:,.0f} s before it is sent")
        telemetry.record_judge_notice("rate:long_wait", message)
        if not self._said_long_wait:
            self._said_long_wait = True
            log.warning("judge_rate_limited", backend=self.config.backend,
                        model=self.config.model, wait_s=round(seconds, 1),
                        requests_per_minute=rpm, tokens_per_minute=tpm)

    def observe_speed(self, output_tokens: int, seconds: float) -> None:
        """Fold one successful attempt's output speed into :attr:`tokens_per_s`."""
        if output_tokens < _MIN_TOKENS_FOR_SPEED or seconds <= 0:
            return
        speed = output_tokens / seconds
        previous = self.tokens_per_s
        self.tokens_per_s = speed if previous is None else \
            previous + _SPEED_SMOOTHING * (speed - previous)

    def attempt_timeout_s(self, timeouts: int) -> float:
        """The time limit of the next attempt (seconds) after ``timeouts`` timed-out
        attempts of this call: ``timeout_s``, or more when ``max_tokens`` at the measured
        speed needs more, doubled per earlier timeout (``adaptive_timeout``)."""
        cfg = self.config
        if not cfg.adaptive_timeout:
            return cfg.timeout_s
        limit = cfg.timeout_s
        if self.tokens_per_s:
            limit = max(limit, _TIMEOUT_MARGIN * cfg.max_tokens / self.tokens_per_s)
        return limit * (2 ** timeouts)

    async def run(self, attempt: Callable[[], Awaitable[T]], stats: CallStats,
                  tokens: int = 0) -> T:
        """Call ``attempt`` until it succeeds, fails permanently or retries run out.

        ``attempt`` raises :class:`CallFailed` for classified failures; anything else is a
        bug and propagates untouched. Transient failures other than throttling are retried
        ``max_retries`` times; throttling is retried while ``max_throttle_wait_s`` (from the
        first throttle) and the deadline allow. Each attempt, once it holds a concurrency
        slot, waits for the rate limiter (``tokens``: the call's estimated tokens).
        """
        telemetry = current_telemetry()
        too_big = self.rate.never_fits(tokens)
        if too_big is not None:
            # Waiting would never end (or take hours per call): fail this call, loudly.
            self._config_errors.report("quota_too_small", too_big)
            telemetry.record_judge_notice("config:quota_too_small", too_big)
            raise judge_error(ErrorKind.JUDGE_CONFIG, too_big)
        if self.rate.conflict is not None:  # declarations differ: the lowest paces (F5)
            telemetry.record_judge_notice(f"rate:conflict:{self.rate.name}", self.rate.conflict)
        failure: CallFailed | None = None
        tries = 0  # attempts of this run: the backoff exponent
        retries = 0  # transient failures other than throttling, retried so far
        throttled_since: float | None = None
        timeouts = 0  # attempts of this run that timed out: each doubles the next limit
        while True:
            if failure is not None:
                exponent = tries - 1
                if failure.kind == ErrorKind.JUDGE_THROTTLED:
                    # Backoff grows with the evidence that the service is saturated, not
                    # with one call's bad luck (see throttle_run).
                    exponent = min(exponent, max(0, self.throttle_run - 1))
                delay = full_jitter_delay(exponent, self.config.retry_base_delay_s,
                                          self.config.retry_max_delay_s, self._rng)
                if failure.retry_after_s is not None:
                    delay = max(delay, min(failure.retry_after_s, self.config.retry_max_delay_s))
                remaining = telemetry.remaining_s()
                if remaining is not None:
                    # Leave the retry at least half of the time that is left.
                    delay = min(delay, max(0.0, remaining / 2))
                await asyncio.sleep(delay)
            await self._admit(telemetry)
            tries += 1
            stats.attempts += 1
            waiting_since = time.perf_counter()
            try:
                async with self.limiter.get():
                    # Paced once a slot is held, so calls leave at the reserved instants
                    # rather than in a bunch when slots free up.
                    waited = self.rate.reserve(tokens)
                    if waited:
                        if waited >= _LONG_RATE_WAIT_S:
                            self._say_long_wait(telemetry, waited)
                        await asyncio.sleep(waited)
                        telemetry.record_rate_wait(waited)
                    on_model = time.perf_counter()
                    stats.queued_s += on_model - waiting_since
                    limit = self.attempt_timeout_s(timeouts)
                    try:
                        # asyncio.timeout, not wait_for: no extra task per attempt (3.11).
                        async with asyncio.timeout(limit):
                            stats.sent += 1
                            result = await attempt()
                    except TimeoutError:
                        raise CallFailed(ErrorKind.JUDGE_TIMEOUT,
                                         f"no answer within {limit:g}s") from None
                    finally:
                        stats.last_attempt_s = time.perf_counter() - on_model
            except CallFailed as exc:
                failure = exc
                if not exc.transient:
                    # Permanent: retrying cannot help, and the service is not broken, so
                    # the breaker neither counts it nor waits on it.
                    self.breaker.release_probe()
                    if exc.kind == ErrorKind.JUDGE_CONFIG:
                        self._config_errors.report(exc.code, exc.message)
                        telemetry.record_judge_notice(f"config:{exc.code}", exc.message)
                    raise judge_error(exc.kind, exc.message) from None
                if exc.kind == ErrorKind.JUDGE_TIMEOUT:
                    timeouts += 1
                if exc.kind == ErrorKind.JUDGE_THROTTLED:
                    self.throttle_run += 1
                    self.breaker.record_throttle()
                    self.rate.on_throttle()
                    now = time.monotonic()
                    throttled_since = now if throttled_since is None else throttled_since
                    gave_up = self._throttle_budget_spent(now - throttled_since, telemetry)
                else:
                    self.breaker.record_failure(exc.message)
                    retries += 1
                    gave_up = self._retries_spent(retries, telemetry)
                if gave_up is None and exc.retry_after_s is not None:
                    gave_up = self._hint_out_of_reach(
                        exc.retry_after_s, telemetry,
                        None if throttled_since is None or exc.kind != ErrorKind.JUDGE_THROTTLED
                        else time.monotonic() - throttled_since)
                if gave_up is not None:
                    raise judge_error(
                        exc.kind, f"{exc.message} (gave up after {tries} attempts"
                                  f"{gave_up})") from None
                telemetry.record_judge_retry(exc.kind)
                continue
            except BaseException:
                self.breaker.release_probe()
                raise
            self.breaker.record_success()
            self.rate.on_success()
            self.throttle_run = 0
            return result

    @staticmethod
    def _deadline_close(telemetry: BatchTelemetry) -> bool:
        remaining = telemetry.remaining_s()
        return remaining is not None and remaining < _MIN_ATTEMPT_S

    def _retries_spent(self, retries: int, telemetry: BatchTelemetry) -> str | None:
        """Why a call that failed transiently stops retrying now, or None to retry."""
        if retries > self.config.max_retries:
            return ""
        if self._deadline_close(telemetry):
            return "; the batch deadline leaves no time for another"
        return None

    def _hint_out_of_reach(self, retry_after_s: float, telemetry: BatchTelemetry,
                           throttled_for_s: float | None) -> str | None:
        """Why a call stops now because the service asked for a retry (``Retry-After``)
        later than the batch deadline, or than the throttle budget, allows; None otherwise.

        A retry sent before the time the service named is refused again (RFC 9110, section
        10.2.3): hammering it until the deadline only adds load to a throttled service.
        """
        remaining = telemetry.remaining_s()
        if remaining is not None and retry_after_s > remaining - _MIN_ATTEMPT_S:
            return (f"; the service asked to retry after {retry_after_s:g}s and the batch "
                    f"deadline leaves {max(0.0, remaining):.1f}s")
        if throttled_for_s is not None and \
                throttled_for_s + retry_after_s > self.config.max_throttle_wait_s:
            return (f"; the service asked to retry after {retry_after_s:g}s, beyond "
                    f"max_throttle_wait_s {self.config.max_throttle_wait_s:g}")
        return None

    def _throttle_budget_spent(self, throttled_for_s: float,
                               telemetry: BatchTelemetry) -> str | None:
        """Why a throttled call stops retrying now, or None to back off and retry."""
        if throttled_for_s >= self.config.max_throttle_wait_s:
            return f"; throttled for {throttled_for_s:.1f}s, max_throttle_wait_s is " \
                   f"{self.config.max_throttle_wait_s:g}"
        if self._deadline_close(telemetry):
            return "; the batch deadline leaves no time for another"
        return None

    async def _admit(self, telemetry: BatchTelemetry) -> None:
        """Return when a call may go out; raise ``circuit_open`` when the circuit is open
        and the caller cannot wait for the probe (the deadline is too close, the probe it
        waited for failed, or a probe of this outage already failed)."""
        opened = self.breaker.times_opened
        while True:
            # Checked before acquiring: a waiter slow to wake must not become the next
            # probe of an outage its own probe just confirmed.
            if self.breaker.times_opened != opened:
                raise self.breaker.open_error(self.breaker.cooldown_s)
            wait = self.breaker.try_acquire()
            if wait is None:
                return
            if self.breaker.confirmed_down:
                raise self.breaker.open_error(wait)
            step = wait if wait > 0 else _PROBE_POLL_S
            remaining = telemetry.remaining_s()
            if remaining is not None and step > max(0.0, remaining / 2):
                raise self.breaker.open_error(wait)
            await asyncio.sleep(step)
