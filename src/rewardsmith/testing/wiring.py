"""Point a loaded pack's judges at a local simulator, for ``packs test`` and ``loadtest``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from rewardsmith.core.pack import Pack

# Credentials the simulator accepts; boto3 signs with them, nothing checks them.
_DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "AKIASIMULATOR000000",
              "AWS_SECRET_ACCESS_KEY": "simulator-secret",
              "AWS_EC2_METADATA_DISABLED": "true"}


@contextlib.contextmanager
def temporary_env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def judges_pointed_at(pack: Pack, backend: str, endpoint: str, *,
                      api_key_env: str = "OPENAI_API_KEY",
                      overrides: dict[str, Any] | None = None) -> Iterator[None]:
    """Route every judge backend of ``pack`` to ``endpoint`` with dummy credentials.

    ``backend`` is ``"bedrock"`` (a Converse simulator) or ``"openai"``; ``overrides`` are
    further judge settings (concurrency, cache) applied to every backend.
    """
    settings = dict(overrides or {})
    if backend == "bedrock":
        settings.update(endpoint_url=endpoint, region="us-east-1", profile=None)
        env = dict(_DUMMY_AWS)
    else:
        settings["base_url"] = endpoint
        env = {api_key_env: "sk-simulator"}
    pack.backends.overrides.update(settings)
    with temporary_env(env):
        yield
