"""Requests-per-minute and tokens-per-minute limits per backend and model, adapted to
throttling (AIMD), so a run sits just under its quota instead of bouncing off it.

Bedrock's on-demand quotas are requests and tokens per minute per model and account, and
the tokens of a request are reserved when it starts, from its input plus ``maxTokens``
(https://docs.aws.amazon.com/bedrock/latest/userguide/quotas-token-burndown.html); the
OpenAI-compatible servers (vLLM behind a gateway, OpenAI itself) publish RPM/TPM limits
the same way. Peers: verl's reward loop keeps one RPM/TPM token bucket per process.

Each limit is a reservation schedule (a virtual-clock token bucket, as GCRA): a call of
cost ``c`` under rate ``r`` per second starts at ``max(now - burst, next)`` and moves
``next`` on by ``c / r``; over any window ``W`` the admitted cost is at most
``r * (W + burst)``. Waiting callers are served in arrival order. The token estimate of a
call (rendered prompt characters / 4 + ``max_tokens``) is corrected when the reply reports
its usage (:meth:`RateLimiter.settle`).

AIMD (additive increase, multiplicative decrease, as TCP's congestion control): throttled
answers multiply the working rate by ``_DECREASE`` (at most once a second, as TCP once per
round trip); while calls succeed, ``_INCREASE_PER_S`` of the declared rate is added back
per second, never above it. Calls are paced at ``_HEADROOM`` of the declared rate.
Only a declared limit is adapted: with none, a burst of throttling may be the service's
own trouble rather than a quota, and backoff (``_resilience``), not pacing, answers it.
Limiters are shared by every backend instance with the same service, endpoint and model:
one account's quota, however many components use it. When they declare different limits,
the lowest declaration of each limit paces every call (a quota is the account's, and every
declaration claims the model can take no more), said once in the log and in each batch's
judge notices; a declaration is forgotten when the backend that made it is gone, so a
reloaded pack with a raised quota gets it once the old pack is released.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rewardsmith.core import settings
from rewardsmith.core.logs import library_logger

log = library_logger("rewardsmith.judge")

_DECREASE = 0.85
_INCREASE_PER_S = 0.03  # of the declared rate, per second without throttling
# Calls are paced a little under the declared rate: arrivals at the service jitter, and a
# call arriving just before the service's bucket refilled would be throttled.
_HEADROOM = 0.97
_FLOOR = 0.05  # the working rate never drops below this fraction of the declared rate
_DECREASE_EVERY_S = 1.0
# Calls may run this far ahead of the schedule after a quiet spell: less than the one second
# of requests a service's bucket is taken to hold, so jitter in arrivals at the end of a
# burst finds a margin (issue 13: a full second at 97% of the quota was throttled by
# arrivals ~30 ms early on a busy box, and each throttle cost a 15% decrease).
_BURST_S = 0.9


@dataclass
class _Schedule:
    """One limit: ``rate`` per second (None: unlimited), ``next`` the virtual clock."""

    declared: float | None
    rate: float | None = None
    next: float = 0.0
    decreased_at: float = float("-inf")
    increased_at: float = float("-inf")

    def __post_init__(self) -> None:
        if self.declared is not None:
            self.declared *= _HEADROOM
        self.rate = self.declared

    def redeclare(self, per_s: float | None) -> None:
        """A new declared rate (per second, before headroom); the working rate keeps its
        AIMD fraction of the declared one, and the virtual clock is kept."""
        old = self.declared
        self.declared = None if per_s is None else per_s * _HEADROOM
        if self.declared is None or old is None or self.rate is None:
            self.rate = self.declared
        else:
            self.rate = min(self.declared, self.rate * self.declared / old)

    def reserve(self, now: float, cost: float) -> float:
        """Seconds to wait before a call of ``cost`` may start (0: now)."""
        if self.rate is None:
            return 0.0
        start = max(now - _BURST_S, self.next)
        self.next = start + cost / self.rate
        return max(0.0, start - now)

    def charge(self, cost: float) -> None:
        if self.rate is not None:
            self.next += cost / self.rate

    def throttled(self, now: float) -> None:
        # Without a declared limit there is nothing to adapt: a burst of throttling may be
        # the service's, not a quota, and backoff (not pacing) answers it.
        if self.rate is None or self.declared is None:
            return
        if now - self.decreased_at < _DECREASE_EVERY_S:
            return  # one decrease per round of answers, as TCP once per round trip
        self.decreased_at = now
        self.rate = max(self.declared * _FLOOR, self.rate * _DECREASE)

    def succeeded(self, now: float) -> None:
        if self.rate is None or self.declared is None or self.rate >= self.declared:
            return
        elapsed = min(1.0, max(0.0, now - max(self.increased_at, self.decreased_at)))
        self.increased_at = now
        self.rate = min(self.declared, self.rate + self.declared * _INCREASE_PER_S * elapsed)


class RateLimiter:
    """RPM and TPM limits of one backend+model; see the module docstring.

    ``requests_per_minute``/``tokens_per_minute``: the declared quota (None: not limited);
    ``adaptive``: AIMD on throttling around the declared limits.
    """

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None,
                 *, adaptive: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._requests = _Schedule(None if requests_per_minute is None
                                   else requests_per_minute / 60)
        self._tokens = _Schedule(None if tokens_per_minute is None
                                 else tokens_per_minute / 60)
        self.adaptive = adaptive
        self.declared = (requests_per_minute, tokens_per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_s = 0.0
        self.throttles = 0
        #: (requests_per_minute, tokens_per_minute, adaptive) by declaring backend
        self._declarations: dict[int, tuple[float | None, float | None, bool]] = {}
        #: What was said about conflicting declarations, or None while they agree.
        self.conflict: str | None = None
        self.name = ""

    def declare(self, token: int, requests_per_minute: float | None,
                tokens_per_minute: float | None, adaptive: bool) -> None:
        """A backend using this limiter declares its limits (``token`` names it): the
        schedule follows the lowest declared limit of each kind, and adapts (AIMD) when any
        declaration asks for it."""
        with self._lock:
            self._declarations[token] = (requests_per_minute, tokens_per_minute, adaptive)
            self._apply()

    def forget(self, token: int) -> None:
        """The backend named ``token`` is gone: its declaration no longer binds."""
        with self._lock:
            if self._declarations.pop(token, None) is not None and self._declarations:
                self._apply()

    def _apply(self) -> None:
        """Set the schedule from the declarations (call with the lock held)."""
        declarations = list(self._declarations.values())
        rpms = {d[0] for d in declarations if d[0] is not None}
        tpms = {d[1] for d in declarations if d[1] is not None}
        rpm, tpm = min(rpms, default=None), min(tpms, default=None)
        if (rpm, tpm) != self.declared:
            self._requests.redeclare(None if rpm is None else rpm / 60)
            self._tokens.redeclare(None if tpm is None else tpm / 60)
            self.declared = (rpm, tpm)
        self.adaptive = any(d[2] for d in declarations)
        if len({(d[0], d[1]) for d in declarations}) < 2:
            self.conflict = None
            return

        def listed(k: int, what: str, lowest: float | None) -> str | None:
            values = {d[k] for d in declarations}
            if len(values) < 2:
                return None
            seen = ", ".join("none" if v is None else f"{v:g}"
                             for v in sorted(values, key=lambda v: (v is None, v or 0.0)))
            return f"{what} {seen}: paced at {lowest:g}" if lowest is not None else None

        parts = [p for p in (listed(0, "requests_per_minute", rpm),
                             listed(1, "tokens_per_minute", tpm)) if p]
        conflict = (f"judge: the components using {self.name or 'one model'} declare "
                    f"different quotas ({'; '.join(parts)}): one schedule paces every call "
                    "to the model, at the lowest declaration of each limit; declare the "
                    "account's quota once, in [judge]")
        if conflict != self.conflict:
            log.warning("judge_quota_conflict", model=self.name,
                        requests_per_minute=rpm, tokens_per_minute=tpm,
                        declared=[list(d[:2]) for d in declarations])
        self.conflict = conflict

    def reserve(self, tokens: int) -> float:
        """Reserve one request of ``tokens`` (estimated); the seconds to wait first."""
        with self._lock:
            now = self._clock()
            delay = max(self._requests.reserve(now, 1.0), self._tokens.reserve(now, tokens))
            if delay > 0:
                self.waits += 1
                self.waited_s += delay
            return delay

    def never_fits(self, tokens: int) -> str | None:
        """Why a call reserving ``tokens`` can never start under the declared quota (more
        than a minute's tokens: a quota's bucket never holds it), or None."""
        rpm, tpm = self.declared
        if tpm is not None and tokens > tpm:
            return (f"this call reserves ~{tokens:,} tokens (its prompt's characters / 4 plus "
                    f"max_tokens) but tokens_per_minute = {tpm:g}: it can never fit the "
                    f"quota; raise tokens_per_minute to at least {tokens:,}, or lower "
                    "max_tokens or the data sent to the judge")
        if rpm is not None and rpm < 1:
            return (f"requests_per_minute = {rpm:g} is below one request a minute: no call "
                    "can ever fit it; the smallest workable value is 1")
        return None

    async def acquire(self, tokens: int) -> float:
        """Wait until one request of ``tokens`` may start; the seconds waited."""
        delay = self.reserve(tokens)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay

    def settle(self, estimated: int, actual: int) -> None:
        """The reply reported ``actual`` tokens for a call reserved at ``estimated``."""
        if actual > 0 and actual != estimated:
            with self._lock:
                self._tokens.charge(actual - estimated)

    def on_throttle(self) -> None:
        if not self.adaptive:
            return
        with self._lock:
            self.throttles += 1
            now = self._clock()
            self._requests.throttled(now)
            if self._tokens.declared is not None:
                self._tokens.throttled(now)

    def on_success(self) -> None:
        if not self.adaptive:
            return
        with self._lock:
            now = self._clock()
            self._requests.succeeded(now)
            self._tokens.succeeded(now)

    def snapshot(self) -> dict[str, Any]:
        """Declared and working limits (per minute), waits and throttles so far."""
        with self._lock:
            def per_minute(value: float | None) -> float | None:
                return None if value is None else round(value * 60, 1)

            return {"declared_rpm": self.declared[0],
                    "working_rpm": per_minute(self._requests.rate),
                    "declared_tpm": self.declared[1],
                    "working_tpm": per_minute(self._tokens.rate),
                    "waits": self.waits, "waited_s": round(self.waited_s, 3),
                    "throttles": self.throttles}


_SHARED: dict[tuple[str, ...], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()
_TOKENS = itertools.count()


# Bedrock Runtime's own endpoints (FIPS and dual-stack too): the quota is the region's.
_BEDROCK_HOST = re.compile(
    r"^bedrock-runtime(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:api\.aws|amazonaws\.com(?:\.cn)?)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def quota_scope(config: Any) -> str:
    """Where a backend's quota lives, spelled one way whatever the pack wrote: the AWS region
    for Bedrock (``region``, the region of a standard ``bedrock-runtime`` ``endpoint_url``,
    else ``AWS_DEFAULT_REGION`` as botocore reads it), or the endpoint URL with scheme and
    host in lower case, the default port and trailing slashes dropped. Two declarations of
    one quota that differ only in spelling (``region = "us-east-1"`` and that region's
    endpoint URL; ``http://Host:80/v1/`` and ``http://host/v1``) share one limiter."""
    url = getattr(config, "endpoint_url", None) or getattr(config, "base_url", None)
    if url:
        parts = urlsplit(str(url).strip())
        host = (parts.hostname or "").lower()
        found = _BEDROCK_HOST.match(host)
        if found:
            return found.group("region")
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:  # not a port: the URL is refused where it is used
            port = None
        netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
        return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    region = getattr(config, "region", None)
    if region is None and getattr(config, "backend", None) == "bedrock":
        region = settings.environment().get("AWS_DEFAULT_REGION")
    return str(region or "")


def shared_limiter(key: tuple[str, ...], requests_per_minute: float | None,
                   tokens_per_minute: float | None, *, adaptive: bool,
                   owner: object | None = None) -> RateLimiter:
    """The limiter of ``key`` (service, endpoint, model), made on first use, with this
    declaration added: it paces at the lowest declaration of each limit among the live
    ones (:meth:`RateLimiter.declare`). ``owner``: the object whose life the declaration
    lasts (the backend's; without one it lasts the process)."""
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = RateLimiter(requests_per_minute, tokens_per_minute,
                                                 adaptive=adaptive)
            limiter.name = "/".join(k for k in key if k)
        token = next(_TOKENS)
    limiter.declare(token, requests_per_minute, tokens_per_minute, adaptive)
    if owner is not None:
        weakref.finalize(owner, limiter.forget, token)
    return limiter


def limiters() -> dict[str, dict[str, Any]]:
    """Every live limiter's :meth:`RateLimiter.snapshot`, by ``service/model``."""
    with _SHARED_LOCK:
        items = list(_SHARED.items())
    return {"/".join(k for k in key if k): limiter.snapshot() for key, limiter in items}
