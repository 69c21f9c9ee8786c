"""Fixtures for product-metric tests: a host with the metrics plugin, pack files in tmp,
real importable metric functions, a real installed-distribution entry point, and a
loopback HTTP metrics service.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import BatchResult
from rewardsmith.plugins import metrics as metrics_plugin


@pytest.fixture
def host() -> PluginHost:
    return make_plugin_host(load_entry_points=False, plugins=[("metrics", metrics_plugin)])


def _sample(sid: Any = "s1", response: str = "ok", **metadata: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "messages": [
            {"role": "user", "content": "Say something."},
            {"role": "assistant", "content": response},
        ],
        **({"metadata": metadata} if metadata else {}),
    }


@pytest.fixture
def make_sample() -> Callable[..., dict[str, Any]]:
    """A wire-format sample: ``make_sample(id, response, **metadata)``."""
    return _sample


@pytest.fixture
def installed_metric_plugins() -> list[str]:
    """Names of the test distributions ``install_metric_entry_points`` installed."""
    return []


@pytest.fixture
def make_host(installed_metric_plugins: list[str]) -> Callable[[], PluginHost]:
    """A host with the metrics plugin plus the test distributions installed so far."""

    def make() -> PluginHost:
        return make_plugin_host(load_entry_points=bool(installed_metric_plugins),
                                allow=installed_metric_plugins,
                                plugins=[("metrics", metrics_plugin)])

    return make


@pytest.fixture
def pack_from(tmp_path: Path, make_host: Callable[[], PluginHost]) -> Callable[[str], Pack]:
    """Write a pack with the given component tables and load it."""

    def load(components_toml: str) -> Pack:
        text = '[pack]\nname = "metric-test"\nversion = "1"\n\n' + textwrap.dedent(
            components_toml
        )
        path = tmp_path / f"pack-{uuid.uuid4().hex[:8]}.toml"
        path.write_text(text, encoding="utf-8")
        return load_pack(path, make_host())

    return load


@pytest.fixture
def score_with(pack_from: Callable[[str], Pack]) -> Callable[[str, list[Any]], BatchResult]:
    def run(components_toml: str, samples: list[Any]) -> BatchResult:
        scorer = Scorer(pack_from(components_toml))
        try:
            return scorer.score(samples, timeout_s=30)
        finally:
            scorer.close()

    return run


METRIC_FUNCTIONS = '''
import asyncio
import math
import threading
from os.path import basename as reexported_basename  # defined in posixpath, not here

CALL_THREADS = []


class Scorers:
    @staticmethod
    def length(sample):
        return len(sample.response)


def reply_length(sample):
    return len(sample.response)


def accepted(sample):
    return sample.metadata.get("accepted")


async def async_length(sample):
    await asyncio.sleep(0)
    return len(sample.response) / 10


def records_thread(sample):
    CALL_THREADS.append(threading.current_thread().name)
    return 1.0


def explodes(sample):
    raise RuntimeError("metrics warehouse unavailable")


def text(sample):
    return "0.5"


def not_a_number(sample):
    return math.nan


def two_args(sample, other):
    return 1.0


NOT_CALLABLE = 3
'''


@dataclass
class MetricModule:
    name: str
    path: Path


@pytest.fixture
def metric_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetricModule]:
    """A real module on sys.path holding metric functions (unique name per test)."""
    name = f"rs_metric_fns_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "site"
    root.mkdir()
    (root / f"{name}.py").write_text(METRIC_FUNCTIONS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    yield MetricModule(name, root)
    sys.modules.pop(name, None)


@pytest.fixture
def install_metric_entry_points(
    metric_module: MetricModule, installed_metric_plugins: list[str]
) -> Iterator[Callable[[str, dict[str, str]], None]]:
    """Install a distribution (a real .dist-info on sys.path) whose ``rewardsmith`` entry
    point is a plugin registering ``{name: "module:function"}`` through the
    ``register_metric_functions`` hook, so the host finds it as it would after pip.
    """
    modules: list[str] = []

    def install(dist_name: str, functions: dict[str, str]) -> None:
        # Unique per test and dropped afterwards: entry-point loading imports the plugin
        # module, and a module cached by an earlier test would still name that test's
        # (since removed) metric module.
        module = f"{dist_name.replace('-', '_')}_plugin_{metric_module.name}"
        modules.append(module)
        (metric_module.path / f"{module}.py").write_text(
            "import importlib\n"
            "from rewardsmith.core.hookspecs import hookimpl\n"
            f"FUNCTIONS = {functions!r}\n"
            "@hookimpl\n"
            "def register_metric_functions(register):\n"
            "    for name, ref in FUNCTIONS.items():\n"
            "        module, _, attr = ref.partition(':')\n"
            "        register(name, getattr(importlib.import_module(module), attr))\n",
            encoding="utf-8",
        )
        info = metric_module.path / f"{dist_name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[rewardsmith]\n{dist_name} = {module}\n", encoding="utf-8"
        )
        installed_metric_plugins.append(dist_name)
        importlib.invalidate_caches()  # the finders saw this folder before these files

    yield install
    for module in modules:
        sys.modules.pop(module, None)


# -- a loopback metrics service ---------------------------------------------------------
@dataclass
class MetricsService:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first


class _Handler(BaseHTTPRequestHandler):
    service: MetricsService

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.service.requests.append(
            {"path": self.path, "body": body, "headers": dict(self.headers.items())}
        )
        if self.service.fail_next:
            self._send(self.service.fail_next.pop(0), b'{"error": "try later"}')
            return
        route = self.path.split("?")[0]
        if route == "/ctr":
            response = body["response"]
            self._send(200, json.dumps({"metrics": {"ctr": len(response) / 100}}).encode())
        elif route == "/boom":
            self._send(500, b"internal error: warehouse down")
        elif route == "/slow":
            time.sleep(1.0)
            self._send(200, b'{"metrics": {"ctr": 0.5}}')
        elif route == "/html":
            self._send(200, b"<html>not json</html>", "text/html")
        elif route == "/string":
            self._send(200, b'{"metrics": {"ctr": "0.5"}}')
        else:
            self._send(404, b"no such metric")

    def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)


@pytest.fixture
def metrics_service() -> Iterator[MetricsService]:
    service = MetricsService(url="")
    handler = type("Handler", (_Handler,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
