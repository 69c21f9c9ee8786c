from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support import toy_plugin

from rewardsmith import PluginHost, Scorer, load_pack, make_plugin_host


@pytest.fixture
def host() -> PluginHost:
    toy_plugin.CALLS.clear()
    return make_plugin_host(load_entry_points=False, plugins=[("toy", toy_plugin)])


@pytest.fixture
def calls() -> Any:
    return toy_plugin.CALLS


@pytest.fixture
def write_pack(tmp_path: Path):
    def write(text: str, name: str = "pack.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_scorer(host: PluginHost, write_pack):
    def make(text: str) -> Scorer:
        return Scorer(load_pack(write_pack(text), host))

    return make

