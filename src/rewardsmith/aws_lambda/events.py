"""Event shapes the reward Lambda accepts: :func:`extract_samples`, which lives in
:mod:`rewardsmith.core.events` so that every runtime standing in for the Lambda (the HTTP
server's ``POST /v1/score``) reads events exactly as the Lambda does."""

from rewardsmith.core.events import (
    MAX_UNWRAP_DEPTH,
    WRAPPER_KEYS,
    ExtractedEvent,
    extract_samples,
)

__all__ = ["MAX_UNWRAP_DEPTH", "WRAPPER_KEYS", "ExtractedEvent", "extract_samples"]
