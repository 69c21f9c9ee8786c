"""What every network judge backend needs to survive a busy service: a concurrency limit,
retries with exponential backoff and full jitter, a per-attempt timeout, and a circuit
breaker; plus the settings for them, shared by the Bedrock and OpenAI backends.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import structlog
from pydantic import Field

from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.judging import (
    TRANSIENT_JUDGE_ERROR_KINDS,
    JudgeBackendConfig,
    judge_error,
)
from rewardsmith.core.telemetry import current_telemetry

T = TypeVar("T")
log = structlog.get_logger("rewardsmith.judge")


class ResilientBackendConfig(JudgeBackendConfig):
    """Settings shared by network backends: retries, circuit breaker, prices, connecting,
    and nucleus sampling (both services take ``top_p``)."""

    operational_fields: ClassVar[frozenset[str]] = JudgeBackendConfig.operational_fields | {
        "max_retries", "retry_base_delay_s", "retry_max_delay_s",
        "circuit_failure_threshold", "circuit_cooldown_s",
        "price_per_1k_input", "price_per_1k_output", "connect_timeout_s",
    }

    top_p: float | None = Field(default=None, gt=0, le=1)

    max_retries: int = Field(
        default=4, ge=0, le=20,
        description="Retries after a transient failure (throttling, timeout, 5xx, model "
        "error), on top of any retries the client library makes itself.",
    )
    retry_base_delay_s: float = Field(default=0.5, ge=0, description="First backoff cap.")
    retry_max_delay_s: float = Field(default=20.0, ge=0, description="Largest backoff cap.")
    circuit_failure_threshold: int = Field(
        default=20, ge=1,
        description="Consecutive transient failures after which calls fail fast.",
    )
    circuit_cooldown_s: float = Field(
        default=10.0, ge=0, description="How long calls fail fast before one probe is let through."
    )
    price_per_1k_input: float | None = Field(
        default=None, ge=0, description="USD per 1,000 input tokens (default: built-in table)."
    )
    price_per_1k_output: float | None = Field(
        default=None, ge=0, description="USD per 1,000 output tokens (default: built-in table)."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0)


class CallFailed(RewardsmithError):
    """One attempt failed; ``kind`` is a judge error kind, ``code`` the service's error
    code (e.g. ``ValidationException``), ``retry_after_s`` a server hint."""

    def __init__(self, kind: ErrorKind, message: str, *, code: str = "",
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code or kind
        self.retry_after_s = retry_after_s

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

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.cooldown_s:
                return "half_open"
            return "open"

    def before_call(self) -> None:
        """Raise ``circuit_open`` unless a call may go out now."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self._clock() - self._opened_at
            if waited >= self.cooldown_s and not self._probe_in_flight:
                self._probe_in_flight = True  # half-open: this caller is the probe
                return
            remaining = max(0.0, self.cooldown_s - waited)
        raise judge_error(
            ErrorKind.CIRCUIT_OPEN,
            f"judge circuit is open after {self.threshold} consecutive failures; failing fast "
            f"(next probe in {remaining:.1f}s)",
        )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probe_in_flight or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._probe_in_flight = False

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
            log.error("judge_config_error", backend=self.backend, model=self.model,
                      code=code, message=message,
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


def record_call(started: float, stats: CallStats, cost_usd: float,
                error_kind: ErrorKind | str | None) -> None:
    """One judge request in the batch telemetry: latency on the model (slot waiting
    excluded), tokens and cost of all its attempts, and the failure kind if it failed."""
    current_telemetry().record_judge_call(
        latency_ms=(time.perf_counter() - started - stats.queued_s) * 1000,
        input_tokens=stats.input_tokens, output_tokens=stats.output_tokens, cost_usd=cost_usd,
        error_kind=None if error_kind is None else error_kind.removeprefix("judge_"),
    )


class Resilience:
    """Runs attempts under the concurrency limit, the per-attempt timeout, retries with
    full-jitter backoff and the circuit breaker. Raises a judge :class:`ComponentError`.
    """

    def __init__(self, config: ResilientBackendConfig, *,
                 on_config_error: ConfigErrorReporter,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.breaker = CircuitBreaker(config.circuit_failure_threshold, config.circuit_cooldown_s)
        self.limiter = LoopLocalSemaphore(config.max_concurrency)
        self._config_errors = on_config_error
        self._rng = rng or random.Random()

    async def run(self, attempt: Callable[[], Awaitable[T]], stats: CallStats) -> T:
        """Call ``attempt`` until it succeeds, fails permanently or retries run out.

        ``attempt`` raises :class:`CallFailed` for classified failures; anything else is a
        bug and propagates untouched.
        """
        failure: CallFailed | None = None
        for number in range(self.config.max_retries + 1):
            if failure is not None:
                delay = full_jitter_delay(number - 1, self.config.retry_base_delay_s,
                                          self.config.retry_max_delay_s, self._rng)
                if failure.retry_after_s is not None:
                    delay = max(delay, min(failure.retry_after_s, self.config.retry_max_delay_s))
                await asyncio.sleep(delay)
            self.breaker.before_call()
            stats.attempts += 1
            waiting_since = time.perf_counter()
            try:
                async with self.limiter.get():
                    stats.queued_s += time.perf_counter() - waiting_since
                    try:
                        result = await asyncio.wait_for(attempt(), self.config.timeout_s)
                    except TimeoutError:
                        raise CallFailed("judge_timeout", f"no answer within "
                                         f"{self.config.timeout_s}s") from None
            except CallFailed as exc:
                failure = exc
                if not exc.transient:
                    self.breaker.release_probe()
                    if exc.kind == ErrorKind.JUDGE_CONFIG:
                        self._config_errors.report(exc.code, exc.message)
                    raise judge_error(exc.kind, exc.message) from None
                self.breaker.record_failure()
                continue
            except BaseException:
                self.breaker.release_probe()
                raise
            self.breaker.record_success()
            return result
        assert failure is not None
        raise judge_error(
            failure.kind,
            f"{failure.message} (gave up after {self.config.max_retries + 1} attempts)",
        )
