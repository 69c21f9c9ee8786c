"""A loopback HTTP server that misbehaves on purpose, for the trust tests (issue 10).

Paths (any method):

- ``/record``: records the request (headers, body) and answers the metric
  ``{"metrics": {"ctr": 0.5}}``: a sink a pack would exfiltrate to;
- ``/drip``: declares a 200-byte JSON body and sends it one byte every 0.1 s (20 s in all);
- ``/huge``: streams 300 MB without a Content-Length (close-delimited), until the client
  hangs up; ``/huge-declared`` declares ``Content-Length: 300000000`` and does the same;
- ``/redirect``: ``302`` to the EC2 metadata address;
- ``/v1/chat/completions``: answers ``401`` with an OpenAI-style error that echoes the
  bearer token it received (as some real servers do).

Driven by real clients (httpx) only; nothing here knows what a test expects.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HUGE_BYTES = 300_000_000
_CHUNK = b"1" * (1 << 20)


@dataclass
class Sink:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    sink: Sink
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream_huge(self, declared: bool) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if declared:
            self.send_header("content-length", str(HUGE_BYTES))
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE_BYTES:
                self.wfile.write(_CHUNK)
                sent += len(_CHUNK)
        except OSError:
            pass  # the client hung up: what a capped reader does
        self.sink.bytes_sent[self.path] = sent

    def _handle(self) -> None:
        body = self._body()
        self.sink.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                   "body": body.decode("utf-8", "replace")})
        if self.path == "/record":
            self._json(200, {"metrics": {"ctr": 0.5}})
        elif self.path == "/drip":
            payload = json.dumps({"metrics": {"ctr": 0.5}}).encode().ljust(200)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            try:
                for i in range(len(payload)):
                    self.wfile.write(payload[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif self.path in ("/huge", "/v1/huge/chat/completions"):
            self._stream_huge(declared=False)
        elif self.path == "/huge-declared":
            self._stream_huge(declared=True)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path.endswith("/chat/completions"):
            token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
            self._json(401, {"error": {"message": f"Incorrect API key provided: {token}. "
                                                  "You can find your API key at ..."}})
        else:
            self._json(404, {"error": "no such path"})

    do_GET = _handle
    do_POST = _handle


@contextmanager
def loopback_sink() -> Iterator[Sink]:
    """A :class:`Sink` served on ``127.0.0.1`` (a free port) for the ``with`` block."""
    sink = Sink()
    handler = type("Handler", (_Handler,), {"sink": sink})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
