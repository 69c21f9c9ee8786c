"""Shared by every test folder: pytest's own plugin tester.

``pytester`` is not loaded by default, and pytest refuses ``pytest_plugins`` in a conftest
below the rootdir, so it is registered from ``pytest_configure`` (pytest calls it when the
conftest is collected). Shared helpers live in :mod:`tests.support`.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(autouse=True)
def _fresh_endpoint_modes() -> None:
    """The openai backend remembers per endpoint (process-wide) which structured-output
    mode a server accepts; simulators reuse ports across tests, so each test starts blank."""
    from rewardsmith.plugins.backends.openai import forget_endpoint_modes

    forget_endpoint_modes()
