"""Fixtures for the judge tests; the backend and helpers live in judge_support."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.judges import Policy, Recorder, make_pack

from rewardsmith.core.pack import Pack


@pytest.fixture
def pack_factory(tmp_path: Path) -> Callable[[Policy, str], tuple[Pack, Recorder]]:
    def factory(policy: Policy, components: str) -> tuple[Pack, Recorder]:
        return make_pack(tmp_path, policy, components)

    return factory
