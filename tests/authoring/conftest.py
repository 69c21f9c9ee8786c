"""Fixtures for the authoring tests.

``pytester`` (pytest's own plugin tester) is not loaded by default, and pytest refuses
``pytest_plugins`` in a conftest below the rootdir, so it is registered from this
conftest's ``pytest_configure`` (pytest calls it when the conftest is collected).
"""

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


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def host() -> PluginHost:
    """The plugins these tests need (other plugins are not under test here)."""
    return make_plugin_host(allow=["checks", "authoring"])


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(host: PluginHost) -> Invoke:
    def run(*args: str, with_host: PluginHost | None = None) -> Result:
        chosen = with_host or host
        return CliRunner().invoke(build_cli(chosen), list(args), obj={"host": chosen})

    return run


@pytest.fixture
def import_from() -> Iterator[Callable[[Path, str], ModuleType]]:
    """Import a module from a directory, and forget it (and its submodules) afterwards."""
    added: list[tuple[str, str]] = []

    def load(directory: Path, module: str) -> ModuleType:
        sys.path.insert(0, str(directory))
        added.append((str(directory), module))
        return importlib.import_module(module)

    yield load
    for directory, module in added:
        sys.path.remove(directory)
        for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
            del sys.modules[name]
