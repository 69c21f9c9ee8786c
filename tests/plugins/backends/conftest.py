"""Fixtures for the judge-backend tests: the simulators and a plugin host with the two
built-in backends (the same fixtures plugin authors get from rewardsmith.simulators)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rewardsmith.core.judge import BackendPool
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.plugins.backends import bedrock, openai
from rewardsmith.pytest_plugin import (  # noqa: F401  (fixtures, used by name)
    aws_dummy_env,
    bedrock_judge_settings,
    converse_simulator,
    openai_judge_settings,
    openai_simulator,
)


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
