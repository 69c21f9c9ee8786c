"""Per-batch counters that judge backends and the engine write into.

The current batch's telemetry travels in a context variable, so a backend deep inside a
component records its calls without every signature passing it along; asyncio tasks and
``asyncio.to_thread`` copy the context, so concurrent batches never mix.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JudgeOutage:
    """A judge component that could not run in a batch: no sample got a verdict from it and
    its failures say the judge was misconfigured, out of reach, too slow for the deadline or
    unusable in every answer (``kind``: ``core.judge_outages.outage_kind``). ``cause`` is the
    message of the most telling failure; ``failed`` counts the samples whose judge call failed;
    ``allowed`` is the pack's ``[judge] allow_failures`` for the component."""

    component: str
    kind: str
    cause: str
    failed: int
    allowed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "cause": self.cause, "failed": self.failed,
                "allowed": self.allowed}


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q``-quantile of ``values`` by the nearest-rank method: the smallest value with
    at least ``q`` of the values at or below it (the ``ceil(q * n)``-th smallest, 1-based;
    ``q = 0`` gives the minimum). Always an observed value, never an interpolation.

    The one quantile of the project: the CLI's summary and report, the Lambda's log line
    and metrics, and the load test all use it, so their p50s agree on the same numbers.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside [0, 1].
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile q must be in [0, 1], got {q!r}")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class JudgeTally:
    """The judge requests recorded in the batch telemetry while one component ran for one
    sample (or one group), in the keys of a row's judge figures.

    A component's row normally carries its own accounting (``CallStats`` in
    plugins/judges/calling.py). When its run ends without it (abandoned at the batch
    deadline, stopped, over its ``timeout_s``, or an unclassified exception), the engine
    puts this tally on the row instead, so every request is counted once on some row and
    the rows still sum to the batch telemetry (s5 tester F3). Tallies nest (a sample's run,
    then one call of it): a request counts in every tally open where it was made.
    """

    calls: int = 0
    failed: int = 0
    cached: int = 0
    deduplicated: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    repairs: int = 0
    parent: JudgeTally | None = field(default=None, repr=False)

    def empty(self) -> bool:
        return not (self.calls or self.cached or self.deduplicated)

    def measurements(self) -> dict[str, float | int]:
        """The row's judge figures (``judge_calls``, tokens, ``cost_usd``, ``cached``,
        ``deduplicated``, ``judge_attempts``, ``judge_repairs``, ``judge_failed_calls``)."""
        out: dict[str, float | int] = {
            "judge_calls": self.calls, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "cost_usd": round(self.cost_usd, 8),
            "cached": self.cached, "deduplicated": self.deduplicated,
            "judge_attempts": self.attempts, "judge_repairs": self.repairs}
        if self.failed:
            out["judge_failed_calls"] = self.failed
        return out


_tally: contextvars.ContextVar[JudgeTally | None] = contextvars.ContextVar(
    "rewardsmith_judge_tally", default=None)


def open_tally() -> tuple[JudgeTally, contextvars.Token[JudgeTally | None]]:
    """Start tallying the judge requests made in this context (and the tasks it starts);
    pass the token to :func:`close_tally` when done (a task that ends may skip it)."""
    tally = JudgeTally(parent=_tally.get())
    return tally, _tally.set(tally)


def close_tally(token: contextvars.Token[JudgeTally | None]) -> None:
    """Stop the tally :func:`open_tally` returned ``token`` with."""
    _tally.reset(token)


def _tallies() -> Iterable[JudgeTally]:
    tally = _tally.get()
    while tally is not None:
        yield tally
        tally = tally.parent


@dataclass
class BatchTelemetry:
    """Counters of one scored batch, safe to update from worker threads (one lock).

    Latencies are in milliseconds, cost in US dollars. :meth:`summary` is its JSON form.

    Each failure is counted once, by whoever saw it (issue 14; docs/lambda.md, "Counters"):
    the judge backend counts *calls* (``judge_calls``, ``judge_failures``,
    ``judge_call_failures`` by kind, ``judge_retries``), the engine counts what reached a
    *sample* (``failures`` by kind, ``component_failures`` by component and kind). A failed
    judge call that cost one sample its verdict is one entry on each side: a call failure
    and a sample failure, named differently. They differ where calls and samples do: a
    pairwise judge makes two calls per sample, a deduplicated request one call for several
    samples.
    """

    samples: int = 0
    #: Judge requests made (one each, whatever their attempts); those that failed.
    judge_calls: int = 0
    judge_failures: int = 0
    #: Failed judge requests by error kind (``judge_parse``, ``circuit_open`` ...).
    judge_call_failures: Counter[str] = field(default_factory=Counter)
    cache_hits: int = 0
    deduplicated: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    judge_latencies_ms: list[float] = field(default_factory=list)
    #: Failures that reached samples, by kind: one per failed component outcome or failed
    #: sample (the engine's count; judge calls are counted apart, above).
    failures: Counter[str] = field(default_factory=Counter)
    #: Judge attempts that failed and were tried again, by kind (``judge_throttled`` ...):
    #: pressure the backends absorbed, as opposed to ``failures`` that reached a sample.
    judge_retries: Counter[str] = field(default_factory=Counter)
    #: The batch's deadline, a ``time.monotonic()`` instant (None: no deadline). Backends
    #: read it to keep their backoff and circuit-breaker waits inside the caller's time.
    deadline: float | None = None
    #: Failures that reached a sample, per component id and kind.
    component_failures: dict[str, Counter[str]] = field(default_factory=dict)
    #: Judge components that could not run at all in this batch, by component id.
    judge_unavailable: dict[str, JudgeOutage] = field(default_factory=dict)
    #: Judge calls that waited for their backend's requests/tokens-per-minute limit, and
    #: the seconds they waited in all.
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0
    #: Numbers judge components report per sample for the batch (jury agreement, cascade
    #: escalations, budget degradations ...), by component id and name: [count, sum].
    judge_stats: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: Worker threads abandoned after overrunning that were still running when the batch
    #: ended, and whether that many made the scorer refuse synchronous work (issue 10).
    abandoned_workers: int = 0
    workers_unhealthy: bool = False
    #: Judge calls by the structured-output mode they ended in (``json_schema`` ...).
    judge_modes: Counter[str] = field(default_factory=Counter)
    #: Judge calls that needed the repair turn; attempts summed over all calls.
    judge_repairs: int = 0
    judge_attempts: int = 0
    #: Time judge calls waited for a concurrency slot (ms), apart from the latencies.
    judge_queue_ms: list[float] = field(default_factory=list)
    #: Things the run's summary says once: permanent judge errors (the server's message)
    #: and structured-output step-downs, by a key naming the cause.
    judge_notices: dict[str, str] = field(default_factory=dict)
    #: Set when the engine cancels the batch's unfinished work (``deadline``: the batch
    #: deadline or a stop): the kind a judge call sent and then abandoned fails with;
    #: None: a call abandoned now is over its component's ``timeout_s``.
    abandoning: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_judge_call(
        self,
        *,
        latency_ms: float,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
        error_kind: str | None = None,
        queued_ms: float | None = None,
        mode: str | None = None,
        attempts: int = 1,
        repaired: bool = False,
    ) -> None:
        """One judge call: its latency on the model (ms), time waiting for a slot (ms),
        tokens, cost (USD), structured-output mode, attempts, whether it needed the repair
        turn and, if it failed, its kind."""
        with self._lock:
            self.judge_calls += 1
            self.judge_latencies_ms.append(latency_ms)
            if queued_ms is not None:
                self.judge_queue_ms.append(queued_ms)
            if mode:
                self.judge_modes[mode] += 1
            self.judge_attempts += attempts
            self.judge_repairs += repaired
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.cost_usd += cost_usd
            if error_kind is not None:
                self.judge_failures += 1
                self.judge_call_failures[str(error_kind)] += 1
            for tally in _tallies():
                tally.calls += 1
                tally.failed += error_kind is not None
                tally.attempts += attempts
                tally.repairs += repaired
                tally.input_tokens += input_tokens
                tally.output_tokens += output_tokens
                tally.cost_usd += cost_usd

    def record_judge_notice(self, key: str, message: str) -> None:
        """Something the run's summary must say once (the first message per ``key``)."""
        with self._lock:
            self.judge_notices.setdefault(key, message)

    def record_judge_retry(self, kind: str) -> None:
        """A judge attempt failed with ``kind`` and will be tried again."""
        with self._lock:
            self.judge_retries[str(kind)] += 1  # plain str keys, as for failures

    def record_rate_wait(self, seconds: float) -> None:
        """A judge call waited ``seconds`` for its backend's RPM/TPM limit (issue 13)."""
        with self._lock:
            self.rate_limit_waits += 1
            self.rate_limit_wait_s += seconds

    def abandon(self, kind: str) -> None:
        """The engine is about to cancel the batch's unfinished work; calls abandoned from
        now on fail with ``kind``."""
        self.abandoning = str(kind)

    def remaining_s(self) -> float | None:
        """Seconds left before the batch's deadline (negative once passed; None: none)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def record_cache_hit(self) -> None:
        """A judge request answered from the persistent cache."""
        with self._lock:
            self.cache_hits += 1
            for tally in _tallies():
                tally.cached += 1

    def record_dedup(self) -> None:
        """A judge request answered by the call of an identical one (its reply, or its
        failure), counted when the answer is shared, not when the request joins."""
        with self._lock:
            self.deduplicated += 1
            for tally in _tallies():
                tally.deduplicated += 1

    def record_failure(self, kind: str, component: str | None = None, count: int = 1) -> None:
        """``count`` failures of ``kind`` reached samples (through ``component``, if given)."""
        with self._lock:
            self.failures[str(kind)] += count
            if component is not None:
                # plain str keys: error kinds may be str subclasses, which orjson refuses
                self.component_failures.setdefault(component, Counter())[str(kind)] += count

    def record_judge_outage(self, outage: JudgeOutage) -> None:
        """A judge component could not run at all (the last outage per component kept)."""
        with self._lock:
            self.judge_unavailable[outage.component] = outage

    def record_judge_stat(self, component: str, name: str, value: float) -> None:
        """One sample's ``value`` of the statistic ``name`` of judge ``component``;
        :meth:`summary` reports each statistic's count and mean under ``judge_stats``."""
        with self._lock:
            entry = self.judge_stats.setdefault(component, {}).setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += float(value)

    def latency_percentile(self, q: float) -> float | None:
        """The ``q`` quantile (see :func:`quantile`) of judge-call latencies in ms; None
        when no judge was called. Raises ``ValueError`` for ``q`` outside [0, 1]."""
        if not self.judge_latencies_ms:
            return None
        return quantile(self.judge_latencies_ms, q)

    def summary(self, rewards: list[float] | None = None) -> dict[str, Any]:
        """The counters as a JSON-ready dict (latency p50/p95 in ms, cost rounded to
        6 places); with ``rewards``, also their mean and population std."""
        out: dict[str, Any] = {
            "samples": self.samples,
            "judge_calls": self.judge_calls,
            "judge_failures": self.judge_failures,
            "cache_hits": self.cache_hits,
            "deduplicated": self.deduplicated,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "judge_latency_p50_ms": self.latency_percentile(0.5),
            "judge_latency_p95_ms": self.latency_percentile(0.95),
            "judge_queue_p50_ms": quantile(self.judge_queue_ms, 0.5)
            if self.judge_queue_ms else None,
            "judge_modes": dict(self.judge_modes),
            "judge_attempts": self.judge_attempts,
            "judge_repairs": self.judge_repairs,
            "judge_notices": dict(self.judge_notices),
            "judge_call_failures": dict(self.judge_call_failures),
            "failures": dict(self.failures),
            "judge_retries": dict(self.judge_retries),
            "rate_limit_waits": self.rate_limit_waits,
            "rate_limit_wait_s": round(self.rate_limit_wait_s, 3),
            "component_failures": {cid: dict(kinds)
                                   for cid, kinds in self.component_failures.items()},
            "judge_unavailable": {cid: outage.to_json()
                                  for cid, outage in self.judge_unavailable.items()},
        }
        if self.judge_stats:  # only for packs whose judges report any
            out["judge_stats"] = {
                cid: {name: {"n": int(n), "mean": round(total / n, 6)}
                      for name, (n, total) in stats.items()}
                for cid, stats in self.judge_stats.items()}
        if self.abandoned_workers or self.workers_unhealthy:
            out["abandoned_workers"] = self.abandoned_workers
            out["workers_unhealthy"] = self.workers_unhealthy
        if rewards:
            # float arithmetic, not statistics.pstdev (exact fractions: ~0.5 s for 100,000
            # rewards, twice per Lambda invocation; issue 10)
            mean = math.fsum(rewards) / len(rewards)
            out["reward_mean"] = mean
            out["reward_std"] = (math.sqrt(math.fsum((r - mean) ** 2 for r in rewards)
                                           / len(rewards)) if len(rewards) > 1 else 0.0)
        return out


_current: contextvars.ContextVar[BatchTelemetry | None] = contextvars.ContextVar(
    "rewardsmith_batch_telemetry", default=None
)


def current_telemetry() -> BatchTelemetry:
    """The telemetry of the batch being scored (a throwaway one outside any batch)."""
    telemetry = _current.get()
    return telemetry if telemetry is not None else BatchTelemetry()


def bound_telemetry() -> BatchTelemetry | None:
    """The telemetry of the batch being scored, or None outside any batch."""
    return _current.get()


def bind_telemetry(telemetry: BatchTelemetry) -> contextvars.Token[BatchTelemetry | None]:
    """Make ``telemetry`` the current batch's (what :func:`current_telemetry` returns in
    this context); pass the token returned to :func:`unbind_telemetry` when the batch ends."""
    return _current.set(telemetry)


def unbind_telemetry(token: contextvars.Token[BatchTelemetry | None]) -> None:
    """Restore the telemetry that was current before :func:`bind_telemetry` returned
    ``token``. Raises ``ValueError`` for a token made in another context."""
    _current.reset(token)
