"""The Starlette application of ``rewardsmith serve`` (Starlette 1.x; routes, lifespan and
responses as documented at https://www.starlette.io/).

Every scoring route goes through the same admission steps, cheapest first, so a request
that is refused costs the server next to nothing and no other request anything:

1. the bearer token, when ``REWARDSMITH_SERVE_TOKEN`` is set (``401``);
2. a full server (``max_inflight`` requests being scored) answers ``503`` with
   ``Retry-After`` at once rather than a queue that ends in the trainer's timeout;
3. the body, read under the request's deadline (``408`` when it has not all arrived by
   then) and its size cap (``Content-Length`` or the bytes actually read: ``413``);
4. JSON (``400``, read as the Lambda's Python runtime reads its event:
   :func:`rewardsmith.core.rollouts.loads_json`, so ``NaN``/``Infinity`` are accepted) and
   the protocol's shape (``422``), the message naming what and where;
5. admission: a scoring slot is taken only now, with the body in hand, so a client that
   stalls mid-upload never holds one (``503`` if the slots filled up meanwhile);
6. scoring under what is left of the deadline
   (:class:`~rewardsmith.serving.service.RewardService`).

``GET /healthz`` (never authenticated) and ``GET /metrics`` (Prometheus text) answer
without admission. Once shutdown begins (:meth:`RewardServer.begin_shutdown`, called by
:func:`rewardsmith.serving.server.uvicorn_server` on ``SIGTERM``), new scoring requests and
bodies still being uploaded get ``503``; admitted ones finish (uvicorn waits for them, then
the lifespan drains held groups and closes the pack).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.rollouts import loads_json
from rewardsmith.core.wire import encode_json
from rewardsmith.serving import protocols
from rewardsmith.serving.metrics import ServerMetrics
from rewardsmith.serving.protocols import Outcome, RequestError
from rewardsmith.serving.service import RewardService

log = structlog.get_logger("rewardsmith.serving")

#: Default body cap: the Lambda's synchronous payload limit is 6 MB; a trainer batch of
#: a few thousand long rollouts fits in 16 MiB.
DEFAULT_MAX_BODY_BYTES = 16 * 2**20


@dataclass(frozen=True)
class ServeConfig:
    """Operator settings of one server (the CLI's options; never from the pack).

    ``max_inflight``: scoring requests admitted at once (then 503); ``retry_after_s``: the
    ``Retry-After`` of a 503; ``max_body_bytes``: request size cap (413);
    ``deadline_s``: per-request scoring deadline in seconds; ``group_window_s`` /
    ``group_size``: the coalescing of a prompt's group across requests (``None`` window:
    100 ms when the pack has a group component, else off); ``failure_reward``: the reward
    of a sample that could not be scored at all (``None``: the pack's);
    ``token``: the bearer token (``None``: no authentication); ``reference_key``: the NeMo
    Gym task field holding the reference answer.
    """

    max_inflight: int = 64
    retry_after_s: int = 1
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    deadline_s: float = 60.0
    group_window_s: float | None = None
    group_size: int | None = None
    failure_reward: float | None = None
    token: str | None = None
    reference_key: str = "reference_answer"

    def __post_init__(self) -> None:
        problems = []
        if self.max_inflight < 1:
            problems.append(f"max_inflight must be >= 1, got {self.max_inflight}")
        if self.max_body_bytes < 1:
            problems.append(f"max_body_bytes must be >= 1, got {self.max_body_bytes}")
        if not self.deadline_s > 0:
            problems.append(f"deadline_s must be > 0, got {self.deadline_s}")
        if self.group_window_s is not None and not self.group_window_s >= 0:
            problems.append(f"group_window_s must be >= 0, got {self.group_window_s}")
        if self.group_size is not None and self.group_size < 1:
            problems.append(f"group_size must be >= 1, got {self.group_size}")
        if problems:
            raise ValueError("; ".join(problems))


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Lone surrogates or >64-bit ids echoed from the request: escaped ASCII instead.
    body = encode_json(value).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class _Rejected(RewardsmithError):
    """A request refused before or instead of scoring, with its answer."""

    def __init__(self, status: int, reason: str, payload: dict[str, Any],
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(payload.get("error"))
        self.status, self.reason, self.payload, self.headers = status, reason, payload, headers


Handler = Callable[[Request, Any, float], Awaitable[tuple[Any, dict[str, str]]]]


class RewardServer:
    """Routes and state of one server; :attr:`app` is the ASGI application."""

    def __init__(self, scorer: Scorer, config: ServeConfig | None = None, *,
                 judge_problems: Mapping[str, str] | None = None) -> None:
        """``judge_problems``: ``{component id: cause}`` of judges found misconfigured at
        startup (:func:`rewardsmith.serving.preflight.judge_config_problems`) that the
        operator chose to serve anyway: ``/healthz`` is ``degraded`` from the start."""
        self.config = config or ServeConfig()
        self.scorer = scorer
        pack = scorer.pack
        self.metrics = ServerMetrics(pack, self.config.max_inflight)
        failure = self.config.failure_reward
        self.failure_reward = float(pack.failure_reward if failure is None else failure)
        self.service = RewardService(scorer, self.metrics, failure_reward=self.failure_reward,
                                     group_window_s=self.config.group_window_s,
                                     group_size=self.config.group_size)
        for component, cause in (judge_problems or {}).items():
            self.service.health.record_config_problem(component, cause)
        self.component_ids = [c.config.id for c in pack.components]
        self.judge_ids = frozenset(c.config.id for c in pack.components
                                   if getattr(c, "uses_judge", False))
        self.inflight = 0
        self.shutting_down = False
        self._stopping: asyncio.Event | None = None
        self.app = Starlette(routes=[
            Route("/get_reward", self._route("/get_reward", self._openrlhf), methods=["POST"]),
            Route("/slime", self._route("/slime", self._slime), methods=["POST"]),
            Route("/miles", self._route("/miles", self._slime), methods=["POST"]),
            Route("/verify", self._route("/verify", self._nemo_gym), methods=["POST"]),
            Route("/v1/score", self._route("/v1/score", self._lambda), methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics_route, methods=["GET"]),
        ], lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._stopping = asyncio.Event()
        self.service.start()
        try:
            yield
        finally:
            self.begin_shutdown()
            await self.service.drain()
            self.service.stop()

    def begin_shutdown(self) -> None:
        """Refuse new scoring requests (``503``) and end body uploads still in progress,
        so that only admitted requests keep the server up. Call on the server's loop."""
        self.shutting_down = True
        if self._stopping is not None:
            self._stopping.set()

    def _reject_if_busy(self) -> None:
        if self.shutting_down:
            raise _Rejected(503, "shutting_down", {"error": "the server is shutting down",
                                                   "where": "server"},
                            {"Retry-After": str(self.config.retry_after_s)})
        if self.inflight >= self.config.max_inflight:
            raise _Rejected(503, "overloaded", {
                "error": f"{self.inflight} requests are being scored, the limit is "
                         f"{self.config.max_inflight}; retry after "
                         f"{self.config.retry_after_s}s", "where": "server"},
                {"Retry-After": str(self.config.retry_after_s)})

    async def _read_body(self, request: Request, deadline: float) -> Any:
        """The decoded body, read by ``deadline`` (a ``time.monotonic()`` instant): ``408``
        when it has not all arrived by then, ``503`` when shutdown begins meanwhile."""
        reading = asyncio.ensure_future(self._read_json(request))
        waiters: set[asyncio.Future[Any]] = {reading}
        if self._stopping is not None:
            waiters.add(asyncio.ensure_future(self._stopping.wait()))
        try:
            await asyncio.wait(waiters, timeout=max(0.0, deadline - time.monotonic()),
                               return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # this request was cancelled: so is its read
            reading.cancel()
            raise
        finally:
            for waiter in waiters:
                if waiter is not reading:
                    waiter.cancel()
        if reading.done():
            return reading.result()
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, ClientDisconnect):
            await reading
        if self.shutting_down:
            raise _Rejected(503, "shutting_down", {
                "error": "the server is shutting down; the request body had not all "
                         "arrived", "where": "body"},
                {"Retry-After": str(self.config.retry_after_s)})
        raise _Rejected(408, "body_timeout", {
            "error": f"the request body did not all arrive within the deadline of "
                     f"{self.config.deadline_s:g}s (Content-Length: "
                     f"{request.headers.get('content-length', 'none')})", "where": "body"},
            {"Connection": "close"})

    # -- admission ----------------------------------------------------------------------------
    def _authorize(self, request: Request) -> None:
        token = self.config.token
        if not token:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            raise _Rejected(401, "unauthorized", {
                "error": "missing or wrong bearer token (Authorization: Bearer <token>)",
                "where": "header Authorization"},
                {"WWW-Authenticate": 'Bearer realm="rewardsmith"'})

    async def _read_json(self, request: Request) -> Any:
        cap = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _Rejected(413, "too_large", {
                "error": f"request body of {int(declared):,} bytes is over the limit of "
                         f"{cap:,} bytes", "where": "body"})
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise _Rejected(413, "too_large", {
                    "error": f"request body is over the limit of {cap:,} bytes",
                    "where": "body"})
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise _Rejected(400, "malformed", {"error": "empty request body; expected JSON",
                                               "where": "body"})
        try:
            return loads_json(raw)
        except ValueError as exc:
            raise _Rejected(400, "malformed", {"error": f"body is not valid JSON: {exc}",
                                               "where": "body"}) from None

    def _route(self, route: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            response = await self._handle(request, route, handler, started)
            self.metrics.requests.labels(route, str(response.status_code)).inc()
            self.metrics.duration.labels(route).observe(time.monotonic() - started)
            return response

        return endpoint

    async def _handle(self, request: Request, route: str, handler: Handler,
                      started: float) -> Response:
        admitted = False
        try:
            self._authorize(request)
            self._reject_if_busy()  # cheap refusal before reading a body we cannot score
            body = await self._read_body(request, started + self.config.deadline_s)
            self._reject_if_busy()
            self.inflight += 1
            self.metrics.inflight.inc()
            admitted = True
            try:
                answer, headers = await handler(request, body,
                                                 started + self.config.deadline_s)
            except RequestError as exc:
                raise _Rejected(exc.status, "malformed", exc.to_json()) from None
            return _json(answer, headers=headers)
        except _Rejected as rejected:
            self.metrics.rejected.labels(rejected.reason).inc()
            return _json(rejected.payload, rejected.status, rejected.headers)
        except ClientDisconnect:  # the client went away mid-upload: nobody to answer
            self.metrics.rejected.labels("client_disconnected").inc()
            log.info("client_disconnected", route=route)
            return _json({"error": "the client disconnected", "where": "body"}, 400)
        except Exception as exc:  # a bug here must answer, be counted and be logged
            log.error("request_failed", route=route, error=f"{type(exc).__name__}: {exc}")
            return _json({"error": f"internal error ({type(exc).__name__}); see the server "
                                   "log", "where": "server"}, 500)
        finally:
            if admitted:
                self.inflight -= 1
                self.metrics.inflight.dec()

    def _outage_headers(self, outcomes: list[Outcome]) -> dict[str, str]:
        names = sorted({name for o in outcomes for name in o.judge_outages})
        return {"X-Rewardsmith-Judge-Unavailable": ",".join(names)} if names else {}

    # -- protocols ----------------------------------------------------------------------------
    async def _openrlhf(self, request: Request, body: Any,
                        deadline: float) -> tuple[Any, dict[str, str]]:
        outcomes = await self.service.score(protocols.openrlhf_samples(body), deadline)
        answer = protocols.openrlhf_answer(outcomes, self.component_ids,
                                           self.scorer.pack.reward_range)
        return answer, self._outage_headers(outcomes)

    async def _slime(self, request: Request, body: Any,
                     deadline: float) -> tuple[Any, dict[str, str]]:
        reply = request.query_params.get("reply", "object")
        if reply not in ("object", "number"):
            raise RequestError(422, f"'reply' must be 'object' or 'number', got {reply!r}",
                               "query.reply")
        outcomes = await self.service.score([protocols.slime_sample(body)], deadline)
        answer = protocols.slime_answer(outcomes[0], self.component_ids,
                                        number=reply == "number")
        return answer, self._outage_headers(outcomes)

    async def _nemo_gym(self, request: Request, body: Any,
                        deadline: float) -> tuple[Any, dict[str, str]]:
        sample = protocols.nemo_gym_sample(body, self.config.reference_key)
        outcomes = await self.service.score([sample], deadline)
        answer = protocols.nemo_gym_answer(body, outcomes[0], self.component_ids)
        return answer, self._outage_headers(outcomes)

    async def _lambda(self, request: Request, body: Any,
                      deadline: float) -> tuple[Any, dict[str, str]]:
        outcomes = await self.service.score(protocols.lambda_samples(body), deadline)
        answer = protocols.lambda_answer(outcomes, failure_reward=self.failure_reward,
                                         judge_ids=self.judge_ids)
        return answer, self._outage_headers(outcomes)

    # -- health and metrics -------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        """``{"status": "ok" | "degraded" | "shutting_down", ...}``: ``degraded`` once a
        judge outage or an engine overrun has been seen (details included); 503 while
        shutting down."""
        ref = self.scorer.pack.ref
        health = self.service.health
        status = "shutting_down" if self.shutting_down else (
            "degraded" if health.judge_outages or health.engine_overruns else "ok")
        return JSONResponse({
            "status": status,
            "pack": {"name": ref.name, "version": ref.version, "hash": ref.hash},
            "inflight": self.inflight, "max_inflight": self.config.max_inflight,
            "group_window_s": self.service.group_window_s,
            "group_size": self.service.group_size,
            "judge_outages": health.judge_outages,
            "engine_overruns": health.engine_overruns,
        }, status_code=503 if self.shutting_down else 200)

    async def metrics_route(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except _Rejected as rejected:
            self.metrics.rejected.labels(rejected.reason).inc()
            return _json(rejected.payload, rejected.status, rejected.headers)
        body, content_type = self.metrics.exposition()
        return Response(body, media_type=content_type)


def create_app(scorer: Scorer, config: ServeConfig | None = None) -> Starlette:
    """The ASGI app serving ``scorer`` (see :class:`RewardServer`); run it with uvicorn,
    e.g. :func:`rewardsmith.serving.server.run`."""
    return RewardServer(scorer, config).app
