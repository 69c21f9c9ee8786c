"""Fixtures for the scaffold tests: a host with the scaffolding commands, a CLI runner, and
importing a generated package."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner, Result

from rewardsmith import PluginHost, make_plugin_host
from rewardsmith.cli import build_cli


@pytest.fixture
def host() -> PluginHost:
    """The plugins these tests need (other plugins are not under test here)."""
    return make_plugin_host(allow=["checks"])


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(host: PluginHost) -> Invoke:
    def run(*args: str, with_host: PluginHost | None = None) -> Result:
        chosen = with_host or host
        return CliRunner().invoke(build_cli(chosen), list(args), obj={"host": chosen})

    return run


@pytest.fixture
def import_from(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path, str], ModuleType]]:
    """Import a module from a directory, and forget it (and its submodules) afterwards;
    ``monkeypatch`` takes the directory off ``sys.path`` again."""
    added: list[str] = []

    def load(directory: Path, module: str) -> ModuleType:
        monkeypatch.syspath_prepend(directory)
        added.append(module)
        return importlib.import_module(module)

    yield load
    for module in added:
        for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
            del sys.modules[name]
