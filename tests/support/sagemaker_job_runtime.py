"""A local server speaking the SageMaker job runtime's ``UpdateReward`` wire format
(botocore ``sagemakerjobruntime/2026-02-01``: rest-json, ``POST /update-reward``, header
``X-Amzn-SageMaker-Job-Arn``, SigV4 signed for ``sagemaker``), for real boto3 clients.

It records every request and answers from a script: a list of error codes to answer with
first (``ThrottlingException`` -> 429, ``InternalServiceError`` -> 500, ``ValidationException``
-> 400), then success (200 ``{}``). Like the service, it applies a ``ClientToken`` once: a
repeated token with the same body is answered 200 without a second update.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATUS = {"ThrottlingException": 429, "InternalServiceError": 500, "ValidationException": 400,
          "ResourceNotFoundException": 404, "AccessDeniedException": 403}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class JobRuntimeState:
    script: list[str] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    #: (trajectory id, rewards) applied, once per client token
    applied: dict[str, tuple[str, list[float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: JobRuntimeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], error: str | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "req-1")
            if error:
                self.send_header("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                error = state.script.pop(0) if state.script else None
                if self.path != "/update-reward":
                    error = "ResourceNotFoundException"
                elif error is None and not headers.get("x-amzn-sagemaker-job-arn"):
                    error = "ValidationException"
                status = STATUS.get(error, 500) if error else 200
                state.requests.append(Recorded("POST", self.path, headers, body, status))
                if error is None:
                    token = body.get("ClientToken", "")
                    state.applied.setdefault(token, (body["TrajectoryId"], body["Rewards"]))
            if error:
                self._send(status, {"Message": f"simulated {error}"}, error)
            else:
                self._send(200, {})

    return Handler


@contextmanager
def job_runtime_server() -> Iterator[tuple[str, JobRuntimeState]]:
    """``(endpoint_url, state)`` of a running local job runtime; stopped on exit."""
    state = JobRuntimeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
