"""Support for the reward-server tests: a real uvicorn server on a free loopback port in a
thread, components that let a test hold scoring or take a judge down, and the test packs."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import uvicorn

from rewardsmith import Component, ComponentConfig, Score, Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.sample import Sample
from rewardsmith.serving.app import RewardServer, ServeConfig
from rewardsmith.serving.server import uvicorn_server
from tests.support import toy_plugin

#: Set to let every ``held`` component finish; cleared by :func:`make_scorer`.
RELEASE = threading.Event()
#: How many ``held`` calls are waiting right now.
HELD = {"waiting": 0}


class Held(Component):
    """Waits until :data:`RELEASE` is set, then scores 1: keeps requests in flight for as
    long as a test needs, with no timing involved."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["held"] = "held"

    async def score(self, sample: Sample) -> Score:
        HELD["waiting"] += 1
        try:
            while not RELEASE.is_set():
                await asyncio.sleep(0.005)
        finally:
            HELD["waiting"] -= 1
        return Score(1.0)


class FlakyJudge(Component):
    """A judge component (``uses_judge``) whose backend is down for responses containing
    'judge-down' (the error kind a refused connection gets) and scores 0.8 otherwise."""

    run = "async"
    uses_judge: ClassVar[bool] = True

    class Config(ComponentConfig):
        type: Literal["flaky-judge"] = "flaky-judge"

    async def score(self, sample: Sample) -> Score:
        await asyncio.sleep(0)
        if "judge-down" in sample.response:
            raise ComponentError("connection refused by the judge endpoint",
                                 kind="judge_unavailable")
        return Score(0.8)


@hookimpl
def register_components(register):  # type: ignore[no-untyped-def]
    for cls in (Held, FlakyJudge):
        register(cls)


# A gate, then a weighted mean mapped onto [-1, 1]: blank -> -1.0 (the gate);
# "yes" -> (3*1 + 1*0) / 4 = 0.75 -> 0.5; "no" -> 0.25 -> -0.5; "yo yes" -> 1.0.
TOY_PACK = """
[pack]
name = "serve-toy"
version = "1.0.0"
reward_range = [-1.0, 1.0]
failure_reward = -1.0

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = -1.0 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"
weight = 3

[[components]]
id = "o"
type = "contains"
needle = "o"
"""

# One group component: the longest rollout of a prompt gets 1, the shortest 0.
GROUP_PACK = """
[pack]
name = "serve-group"
version = "1.0.0"

[[components]]
id = "rank"
type = "length-rank"
"""

HELD_PACK = """
[pack]
name = "serve-held"
version = "1.0.0"

[[components]]
id = "held"
type = "held"
"""

# The judge counts for half: 0.8 from the judge and 1 from "yes" -> 0.9; with the judge
# out it abstains and "yes" alone decides (what the Lambda answers too).
JUDGE_PACK = """
[pack]
name = "serve-judge"
version = "1.0.0"

[judge]
backend = "openai"
model = "never-called"

[[components]]
id = "yes"
type = "contains"
needle = "yes"

[[components]]
id = "judge"
type = "flaky-judge"
on_error = "abstain"
"""

# The reference reaches the components: exact match against reference_answer.
REFERENCE_PACK = """
[pack]
name = "serve-reference"
version = "1.0.0"

[[components]]
id = "match"
type = "reference-match"
mode = "exact"
"""


def make_scorer(tmp_path: Path, text: str, name: str = "pack.toml") -> Scorer:
    """A scorer for pack ``text`` with the built-in, toy and serving test components."""
    RELEASE.clear()
    toy_plugin.CALLS.clear()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    host = make_plugin_host(plugins=[("toy", toy_plugin), ("serving-test", sys.modules[__name__])])
    return Scorer(load_pack(str(path), host))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URL, the :class:`RewardServer` behind it, and the uvicorn
    server (set ``uvicorn.should_exit`` to do what SIGTERM does)."""

    url: str
    server: RewardServer
    uvicorn: uvicorn.Server
    thread: threading.Thread


@contextmanager
def running(scorer: Scorer, config: ServeConfig | None = None, *,
            graceful_timeout_s: float = 30.0) -> Iterator[LiveServer]:
    """Serve ``scorer`` with uvicorn on a free loopback port in a thread, until the block
    ends (then shut it down as SIGTERM would and wait for the thread)."""
    reward_server = RewardServer(scorer, config)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn_server(reward_server, graceful_timeout_s=graceful_timeout_s)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    give_up = time.monotonic() + 60  # a hang guard, not an assertion about speed
    while not server.started:
        if not thread.is_alive() or time.monotonic() > give_up:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", reward_server, server, thread)
    finally:
        RELEASE.set()
        server.should_exit = True
        thread.join(60)
        sock.close()


def chat(prompt: str, response: str, i: Any = 0, **extra: Any) -> dict[str, Any]:
    """One wire sample: a user turn and the assistant's response."""
    return {"id": i, "messages": [{"role": "user", "content": prompt},
                                  {"role": "assistant", "content": response}], **extra}
