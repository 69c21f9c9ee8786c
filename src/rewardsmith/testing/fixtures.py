"""pytest fixtures for testing judges, backends and packs against the simulators.

Enable in a ``conftest.py``::

    pytest_plugins = ["rewardsmith.testing.fixtures"]

Fixtures (function-scoped, so scripted faults and recorded requests never leak):

``aws_dummy_env``       dummy AWS credentials and region, no profile/config files, IMDS off
``converse_simulator``  a running :class:`ConverseSimulator` (needs no AWS account)
``openai_simulator``    a running :class:`OpenAISimulator`, ``OPENAI_API_KEY`` set to a dummy
``bedrock_judge_settings``  a pack ``[judge]`` table pointing the ``bedrock`` backend at
                        ``converse_simulator`` with test-speed retry delays
``openai_judge_settings``   the same for the ``openai`` backend and ``openai_simulator``
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from rewardsmith.testing.converse_sim import ConverseSimulator
from rewardsmith.testing.openai_sim import OpenAISimulator

#: Retry settings that keep tests fast while still exercising backoff.
FAST_RETRIES: dict[str, Any] = {
    "retry_base_delay_s": 0.005,
    "retry_max_delay_s": 0.02,
    "circuit_cooldown_s": 0.05,
    "timeout_s": 10.0,
}


def bedrock_settings(endpoint_url: str, **overrides: Any) -> dict[str, Any]:
    """A ``bedrock`` judge table for a simulator; botocore's own retries are off (their
    backoff sleeps up to seconds) so the framework's fast, configurable retries act."""
    return {
        "backend": "bedrock",
        "model": "openai.gpt-oss-120b-1:0",
        "endpoint_url": endpoint_url,
        "region": "us-east-1",
        "boto_max_attempts": 1,
        **FAST_RETRIES,
        **overrides,
    }


def openai_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {"backend": "openai", "model": "sim-judge", "base_url": base_url,
            **FAST_RETRIES, **overrides}


@pytest.fixture
def aws_dummy_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASIMULATOR000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simulator-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    empty = tmp_path / "aws-empty-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


@pytest.fixture
def converse_simulator(aws_dummy_env: None) -> Iterator[ConverseSimulator]:
    with ConverseSimulator() as sim:
        yield sim


@pytest.fixture
def openai_simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAISimulator]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-simulator-dummy")
    with OpenAISimulator() as sim:
        yield sim


@pytest.fixture
def bedrock_judge_settings(converse_simulator: ConverseSimulator) -> dict[str, Any]:
    return bedrock_settings(converse_simulator.endpoint_url)


@pytest.fixture
def openai_judge_settings(openai_simulator: OpenAISimulator) -> dict[str, Any]:
    return openai_settings(openai_simulator.base_url)
