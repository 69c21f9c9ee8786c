"""HTTP cassettes of a real judge: record the exchanges of an OpenAI-compatible server
through a loopback proxy, and replay them from a loopback server.

A cassette is a JSON-lines file, one exchange a line:
``{"request": <request body>, "status": <HTTP status>, "response": <response body>}``.
Replay matches a request by its body (canonical JSON: sorted keys), so the backend under
test runs its whole path (request building, mode selection, parsing, the repair turn) over
real HTTP, against what the real model answered, malformed replies included. Exchanges of
one body are served in recorded order (the last repeats). A request the cassette lacks is
answered with HTTP 404 naming the cassette (not 400: a 400 naming the cassette's file,
``...--json_schema.jsonl``, would read as a rejected mode), so a changed prompt fails
loudly, and is counted in :attr:`ReplayServer.misses`.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

_UPSTREAM_TIMEOUT_S = 900.0  # a CPU judge writing 1,000 tokens; the client bounds it too


def request_key(body: Any) -> str:
    """The replay key of a request body: its canonical JSON."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def load_cassette(path: Path) -> list[dict[str, Any]]:
    """The exchanges of a cassette file, in recorded order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 answering POSTs with :meth:`answer`."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                status, payload = owner.answer(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:  # quiet: tests read the cassette
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The ``base_url`` for an OpenAI-compatible client (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> _Server:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class RecordingProxy(_Server):
    """Forwards ``POST /v1/...`` to ``upstream`` (a ``base_url``) and appends each exchange
    to ``path``."""

    def __init__(self, upstream: str, path: Path) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.path = path
        self.exchanges: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        suffix = path.removeprefix("/v1")
        request = urllib.request.Request(f"{self.upstream}{suffix}",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=_UPSTREAM_TIMEOUT_S) as response:
                status, payload = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                status, payload = exc.code, json.loads(raw)
            except ValueError:
                status, payload = exc.code, {"error": {"message": raw.decode(errors="replace")}}
        exchange = {"request": body, "status": status, "response": payload}
        with self._lock:
            self.exchanges.append(exchange)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(exchange, ensure_ascii=False) + "\n")
        return status, payload


class ReplayServer(_Server):
    """Answers each request with the recorded exchange of the same body (see module doc)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        for exchange in load_cassette(path):
            self._queues.setdefault(request_key(exchange["request"]), deque()).append(exchange)
        self.served = 0
        self.misses: list[Any] = []
        self._lock = threading.Lock()

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            queue = self._queues.get(request_key(body))
            if not queue:
                self.misses.append(body)
                return 404, {"error": {"message": f"no recorded exchange for this request in "
                                                  f"cassette {self.path.name}"}}
            exchange = queue.popleft() if len(queue) > 1 else queue[0]
            self.served += 1
            return int(exchange["status"]), exchange["response"]
