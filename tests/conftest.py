"""Shared by every test folder: pytest's own plugin tester, and `no_aws` (no AWS configuration).

``pytester`` is not loaded by default, and pytest refuses ``pytest_plugins`` in a conftest
below the rootdir, so it is registered from ``pytest_configure`` (pytest calls it when the
conftest is collected). Shared helpers live in :mod:`tests.support`.
"""

from __future__ import annotations

import os
from pathlib import Path

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


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration at all: no variables, no profile files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
