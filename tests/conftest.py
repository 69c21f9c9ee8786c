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
