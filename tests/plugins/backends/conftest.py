"""Fixtures for the judge-backend tests: a plugin host with the two built-in backends, a
backend pool and bound telemetry. The simulators (``converse_simulator``,
``openai_simulator``, ...) come from the shipped pytest plugin, as for plugin authors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rewardsmith.core.judge import BackendPool
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.plugins.backends import bedrock, openai


@pytest.fixture
def host() -> PluginHost:
    return make_plugin_host(load_entry_points=False,
                            plugins=[("bedrock", bedrock), ("openai", openai)])


@pytest.fixture
async def pool(host: PluginHost) -> Any:
    backends = BackendPool(host)
    yield backends
    await backends.aclose()


@pytest.fixture
def telemetry() -> Iterator[BatchTelemetry]:
    batch = BatchTelemetry()
    token = bind_telemetry(batch)
    yield batch
    unbind_telemetry(token)
