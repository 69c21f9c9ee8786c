"""Point judges at a local simulator: a loaded pack's (``packs test``, ``loadtest``) or a
``[judge]`` table for one (:func:`bedrock_settings`, :func:`openai_settings`, used by the
pytest fixtures)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from rewardsmith.core.pack import Pack

#: The region judges are given for a Converse simulator (botocore needs one to sign).
SIMULATOR_REGION = "us-east-1"

# Credentials the simulator accepts; boto3 signs with them, nothing checks them.
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "AKIASIMULATOR000000",
              "AWS_SECRET_ACCESS_KEY": "simulator-secret",
              "AWS_EC2_METADATA_DISABLED": "true"}


@contextlib.contextmanager
def temporary_env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them.

    On purpose, not through core.settings: boto3 and the OpenAI-compatible backend look for
    credentials in the process environment, so a fake key must go where they look
    (docs/settings.md, "Where the process environment is still touched").
    """
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


def pack_judge_settings(pack: Pack) -> list[dict[str, Any]]:
    """The ``[judge]`` settings of each of ``pack``'s judge components that has any, in pack
    order: what a simulator must stand in for (``backend``, ``model``, ``api_key_env``...)."""
    return [c.context.judge_defaults for c in pack.components
            if getattr(c, "uses_judge", False) and c.context.judge_defaults]


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
        settings.update(endpoint_url=endpoint, region=SIMULATOR_REGION, profile=None)
        env = dict(DUMMY_AWS)
    else:
        settings["base_url"] = endpoint
        env = {api_key_env: "sk-simulator"}
    pack.backends.overrides.update(settings)
    with temporary_env(env):
        yield


#: Retry settings that keep tests fast while still exercising backoff.
FAST_RETRIES: dict[str, Any] = {
    "retry_base_delay_s": 0.005,
    "retry_max_delay_s": 0.02,
    "circuit_cooldown_s": 0.05,
    "timeout_s": 10.0,
}


def bedrock_settings(endpoint_url: str, **overrides: Any) -> dict[str, Any]:
    """A ``bedrock`` judge table for a simulator; botocore's own retries are off (their
    backoff sleeps up to seconds) so the framework's fast, configurable retries act."""
    return {
        "backend": "bedrock",
        "model": "openai.gpt-oss-120b-1:0",
        "endpoint_url": endpoint_url,
        "region": "us-east-1",
        "boto_max_attempts": 1,
        **FAST_RETRIES,
        **overrides,
    }


def openai_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    """An ``openai`` judge table for a simulator at ``base_url``, with fast retries."""
    return {"backend": "openai", "model": "sim-judge", "base_url": base_url,
            **FAST_RETRIES, **overrides}
