"""Run ``llama-server`` on loopback for a model file: start, wait until ready, stop.

llama-server answers ``GET /health`` with 503 while it loads the model and 200 once it
serves (llama.cpp ``tools/server/README.md``, "GET /health"); the OpenAI-compatible API is
under ``/v1`` (``/v1/chat/completions`` with ``response_format`` ``json_schema`` and
``json_object`` + ``schema``, both enforced as grammars).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from rewardsmith.core import settings
from rewardsmith.judgemodel.assets import AssetError

_POLL_S = 0.5


def configured_server_url() -> str | None:
    """``REWARDSMITH_JUDGE_SERVER_URL``: the ``base_url`` of an already running judge server
    (without a trailing slash), or None."""
    value = settings.get("REWARDSMITH_JUDGE_SERVER_URL")
    return value.rstrip("/") if value else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class JudgeServer:
    """``llama-server`` serving ``model`` on ``127.0.0.1:port`` (a context manager).

    ``parallel`` slots share ``ctx_size`` tokens of context; ``threads`` CPU threads. The
    server's output goes to ``log`` (default: next to the model, ``llama-server.log``).
    """

    def __init__(self, binary: Path, model: Path, *, port: int | None = None,
                 ctx_size: int = 8192, parallel: int = 2, threads: int = 2,
                 alias: str = "judge", log: Path | None = None) -> None:
        self.binary = binary
        self.model = model
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.alias = alias
        self.log = log or model.with_name("llama-server.log")
        self.args = [str(binary), "-m", str(model), "--host", self.host, "--port",
                     str(self.port), "--ctx-size", str(ctx_size), "--parallel", str(parallel),
                     "--threads", str(threads), "--alias", alias]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The ``base_url`` an OpenAI-compatible client uses (``http://127.0.0.1:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self, ready_timeout_s: float = 300.0) -> JudgeServer:
        """Start the server and return once ``/health`` answers 200.

        Raises:
            AssetError: the binary or model is missing, the process exited, or it was not
                ready within ``ready_timeout_s`` (the log is named; the process is stopped).
        """
        for path in (self.binary, self.model):
            if not path.exists():
                raise AssetError(f"{path} does not exist (rewardsmith judge-model build / "
                                 "fetch make it)")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise AssetError(f"llama-server exited with {code} before it was ready; "
                                 f"see {self.log}")
            if self.healthy():
                return self
            time.sleep(_POLL_S)
        self.stop()
        raise AssetError(f"llama-server was not ready within {ready_timeout_s:g}s; "
                         f"see {self.log}")

    def healthy(self) -> bool:
        """Whether ``GET /health`` answers 200 now."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/health",
                                        timeout=2.0) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``grace_s``); idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace_s)

    def __enter__(self) -> JudgeServer:
        return self.start() if self._process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
