"""The loopback HTTP server both simulators run on.

``ThreadingHTTPServer`` with daemon threads and a deep listen backlog, HTTP/1.1 keep-alive
(so a boto3 or httpx connection pool reuses connections as against the real service),
every request recorded for tests, slow answers that wake up when the server stops, and a
clean shutdown that closes kept-alive connections too.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rewardsmith.simulators.faults import FaultPlan, FaultPolicy, VerdictPolicy, default_verdict

# Rejections a real service sends before any model work: they come back at once, without
# the simulated model latency (which throttled callers would otherwise wait out).
_IMMEDIATE_FAULTS = frozenset({"throttle", "server_error", "validation", "access_denied",
                               "not_found"})


#: ``GET`` this for counters of a simulator running in another process.
STATS_PATH = "/_simulator/stats"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON, or None when the body was not JSON
    raw_body: bytes
    fault: str
    model: str | None
    received_at: float = field(default_factory=time.time)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # listen backlog: 100+ clients connect at once

    def __init__(self, address: tuple[str, int], simulator: SimulatorServer) -> None:
        self.simulator = simulator
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 120  # idle kept-alive connections are closed eventually
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms a call), which would dwarf everything being measured.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and benches read the recorded requests instead

    def _respond(self, response: Response) -> None:
        payload = response.body if isinstance(response.body, bytes) else \
            json.dumps(response.body).encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (its read timeout)

    def do_GET(self) -> None:
        if self.path in ("/", "/ping", "/health"):
            self._respond(Response(200, {"status": "ok"}))
        elif self.path == STATS_PATH:
            self._respond(Response(200, self.server.simulator.stats()))
        else:
            self._respond(Response(404, {"message": f"no route {self.path}"}))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        simulator = self.server.simulator
        simulator._enter()
        try:
            response = simulator.dispatch(self.command, self.path, dict(self.headers.items()),
                                          raw)
            if response.delay_s > 0 and simulator.stopping.wait(response.delay_s):
                self.close_connection = True
                return  # shutting down: drop the slow answer
            self._respond(response)
        finally:
            simulator._leave()


class SimulatorServer:
    """Base class: a judge-service simulator on a background thread.

    Use as a context manager (``with ConverseSimulator() as sim: sim.endpoint_url``) or
    call :meth:`start`/:meth:`stop`. ``faults`` configures latency and fault rates,
    ``policy`` decides verdicts; both can be changed while running.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultPolicy | None = None, policy: VerdictPolicy | None = None,
                 max_recorded: int = 100_000) -> None:
        self.host = host
        self.port = port
        self.plan = FaultPlan(faults)
        self.policy: VerdictPolicy = policy or default_verdict
        self.stopping = threading.Event()
        # The newest requests in full (a long `rewardsmith simulate` run must not grow
        # without bound); the counters below cover every request.
        self._requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._count = 0
        self._faults: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests being answered at once (concurrency seen)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """The next number for an id the simulated service makes up (tool use, completion)."""
        return next(self._ids)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> SimulatorServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()  # wake slow/hanging answers
        httpd.shutdown()
        with httpd.connections_lock:
            connections = list(httpd.open_connections)
        for connection in connections:  # kept-alive connections: unblock their threads
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- configuration ----------------------------------------------------------------
    def configure(self, faults: FaultPolicy | None = None, **changes: Any) -> FaultPolicy:
        """Change latency/fault settings, e.g. ``sim.configure(throttle_rate=0.2)``."""
        return self.plan.configure(faults, **changes)

    def script(self, *faults: str) -> None:
        """Fault of each of the next requests, in order (``"ok"`` for a normal answer)."""
        self.plan.script(*faults)

    def outage(self, fault: str, seconds: float) -> None:
        """Serve ``fault`` to every request for ``seconds`` from the next request on."""
        self.plan.outage(fault, seconds)

    def set_policy(self, policy: VerdictPolicy) -> None:
        self.policy = policy

    def reset(self) -> None:
        """Forget recorded requests, scripted faults and any outage."""
        with self._lock:
            self._requests.clear()
            self._count = 0
            self._faults.clear()
            self.max_in_flight = self.in_flight
        self.plan.clear()

    # -- what was received ------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._count

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def faults_served(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    def stats(self) -> dict[str, Any]:
        """Counters, also served at :data:`STATS_PATH`."""
        return {"request_count": self.request_count, "faults_served": self.faults_served(),
                "max_in_flight": self.max_in_flight}

    # -- handling ---------------------------------------------------------------------
    def dispatch(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Response:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fault, latency = self.plan.draw()
        model = self.model_of(path, body)
        with self._lock:
            self._requests.append(RecordedRequest(method, path, headers, body, raw, fault, model))
            self._count += 1
            self._faults[fault] += 1
        try:
            response = self.handle(path, headers, body, fault)
        except Exception as exc:  # a bug in a test's policy must show, not hang the client
            response = self.internal_error(f"simulator error: {type(exc).__name__}: {exc}")
        if fault not in _IMMEDIATE_FAULTS:
            response.delay_s += latency
        if fault == "hang":
            response.delay_s += self.plan.policy.hang_s
        return response

    def model_of(self, path: str, body: Any) -> str | None:
        raise NotImplementedError

    def handle(self, path: str, headers: dict[str, str], body: Any, fault: str) -> Response:
        raise NotImplementedError

    def internal_error(self, message: str) -> Response:
        raise NotImplementedError
