"""Fixtures for the reward-Lambda tests; components and helpers live in lambda_support."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import BASIC_PACK, make_test_host

from rewardsmith import Scorer, load_pack
from rewardsmith.core.plugins import PluginHost


@pytest.fixture
def host() -> PluginHost:
    return make_test_host()


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "pack.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def basic_scorer(write_pack: Callable[..., Path], host: PluginHost) -> Scorer:
    return Scorer(load_pack(write_pack(BASIC_PACK), host))


@pytest.fixture
def captured_emf(capfd: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """EMF documents printed to stdout since the last call."""

    def read() -> list[dict[str, Any]]:
        out = capfd.readouterr().out
        return [json.loads(line) for line in out.splitlines()
                if line.startswith("{") and '"_aws"' in line]

    return read
