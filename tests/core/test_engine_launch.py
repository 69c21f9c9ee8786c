"""Issue 13: the engine starts a batch's I/O-bound components in slices, yielding to the
event loop between them, so the connects and sends of the first calls go out while later
samples are still being set up. Before, every sample's component took its first step
before any connect completed: a cold 2,000-sample invocation's first 100 judge calls
answered ~0.3 s late. Asserted on the order of events around real TCP connects, never
on times."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from tests.support.toy_plugin import sample

from rewardsmith import Component, ComponentConfig, Score
from rewardsmith.core.engine import Scorer
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.core.sample import Sample

EVENTS: list[tuple[str, int]] = []
PORT: list[int] = []
CONNECTING = 4  # samples whose component opens a connection (the listener never accepts)


class Connects(Component):
    """The first samples open a TCP connection, as a judge's first calls do; the rest
    only record that they started."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["t-connects"] = "t-connects"

    async def score(self, sample: Sample) -> Score:
        index = int(sample.id)
        EVENTS.append(("started", index))
        if index < CONNECTING:
            _, writer = await asyncio.open_connection("127.0.0.1", PORT[0])
            EVENTS.append(("connected", index))
            writer.close()
        return Score(1.0)


class _Plugin:
    @hookimpl
    def register_components(self, register: Any) -> None:
        register(Connects)


@pytest.fixture
def listener() -> Iterator[int]:
    """A listening socket that never accepts: the kernel completes the first connects
    (its backlog), so a connect's completion is an event-loop I/O event and nothing else."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        PORT[:] = [server.getsockname()[1]]
        EVENTS.clear()
        yield PORT[0]


def test_the_first_calls_connect_before_the_last_samples_are_set_up(
        listener: int, tmp_path: Any) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text('[pack]\nname = "launch"\nversion = "1"\n\n'
                    '[[components]]\nid = "c"\ntype = "t-connects"\n', encoding="utf-8")
    host = make_plugin_host(load_entry_points=False, plugins=[("t-launch", _Plugin())])
    scorer = Scorer(load_pack(pack, host))
    try:
        batch = scorer.score([sample(i, "ok") for i in range(1000)])
    finally:
        scorer.close()
    assert [r.reward for r in batch.results] == [1.0] * 1000
    assert sum(kind == "started" for kind, _ in EVENTS) == 1000
    first_connected = EVENTS.index(("connected", 0))
    last_started = EVENTS.index(("started", 999))
    # The first sample's connect completed while later samples were still to start.
    assert first_connected < last_started
    started_before = sum(kind == "started" for kind, _ in EVENTS[:first_connected])
    assert started_before < 500


class CostlyConnects(Connects):
    """:class:`Connects` whose first step costs about a millisecond of CPU, as a judge's
    does (rendering its request, body and cache key, ~0.2 ms each on 2 cores)."""

    class Config(ComponentConfig):
        type: Literal["t-costly-connects"] = "t-costly-connects"

    async def score(self, sample: Sample) -> Score:
        spin_until = time.perf_counter() + 0.001
        while time.perf_counter() < spin_until:
            pass
        return await super().score(sample)


class _CostlyPlugin:
    @hookimpl
    def register_components(self, register: Any) -> None:
        register(CostlyConnects)


def test_costly_first_steps_start_in_smaller_slices(listener: int, tmp_path: Any) -> None:
    """A loop turn of launches is sized to about 2 ms of first steps (at least 8 samples):
    with a millisecond each, the first connect, which takes a few turns, completes before
    two slices of the fixed 32 would have started."""
    pack = tmp_path / "pack.toml"
    pack.write_text('[pack]\nname = "launch"\nversion = "1"\n\n'
                    '[[components]]\nid = "c"\ntype = "t-costly-connects"\n',
                    encoding="utf-8")
    host = make_plugin_host(load_entry_points=False, plugins=[("t-costly", _CostlyPlugin())])
    scorer = Scorer(load_pack(pack, host))
    try:
        batch = scorer.score([sample(i, "ok") for i in range(300)])
    finally:
        scorer.close()
    assert [r.reward for r in batch.results] == [1.0] * 300
    first_connected = EVENTS.index(("connected", 0))
    assert sum(kind == "started" for kind, _ in EVENTS[:first_connected]) < 64
