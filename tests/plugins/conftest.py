"""Fixtures shared by the plugin tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.hostile_openai import serve


@pytest.fixture
def hostile() -> Iterator[str]:
    """The hostile OpenAI-compatible server (tests/support/hostile_openai.py), running for
    the test; its root URL."""
    root, server = serve()
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()
