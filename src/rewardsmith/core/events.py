"""Event shapes the reward Lambda (and its stand-in, ``rewardsmith serve``'s ``/v1/score``)
accepts, and the ids it echoes.

:func:`extract_samples` finds the sample list in whatever a trainer, a tool or an API
Gateway sends. The ``id`` each answer row carries is decided by the one id rule,
:func:`rewardsmith.core.wire.item_id` and :func:`rewardsmith.core.wire.wire_id`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.rollouts import loads_json

# Keys under which callers have been seen to wrap the sample list. ``body`` is the
# API-Gateway / function-URL shape (possibly a JSON string, possibly base64).
WRAPPER_KEYS = ("samples", "data", "inputs", "instances", "batch", "body")
MAX_UNWRAP_DEPTH = 4


# -- event shapes ---------------------------------------------------------------------------
@dataclass
class ExtractedEvent:
    """The samples found in an event, how they were found, and what was wrong if none."""

    items: list[Any]
    shape: str
    error: str | None = None


def _decode_text(value: str | bytes | bytearray | memoryview, base64_encoded: bool = False
                 ) -> tuple[Any, str | None]:
    try:
        raw = bytes(value) if not isinstance(value, str) else value
        if base64_encoded:
            raw = base64.b64decode(raw, validate=True)
        return loads_json(raw), None
    except (binascii.Error, ValueError, TypeError) as exc:
        what = "base64 JSON" if base64_encoded else "JSON"
        return None, f"not valid {what} ({type(exc).__name__}: {str(exc)[:120]})"


def _decode_item(item: Any) -> Any:
    """List items may be JSON text of a sample; mappings become plain dicts."""
    if isinstance(item, str | bytes | bytearray) and item[:1] in ("{", b"{"):
        decoded, error = _decode_text(item)
        if error is None:
            return decoded
    if isinstance(item, Mapping) and not isinstance(item, dict):
        return dict(item)
    return item


def _may_wrap(event: Mapping[Any, Any], key: str) -> bool:
    """Whether ``event[key]`` can hold samples, so that a sample with a dataset field
    named ``data`` or ``inputs`` (free text, a number) is not mistaken for a wrapper."""
    if key not in event:
        return False
    value = event[key]
    if isinstance(value, list | tuple | Mapping):
        return True
    if isinstance(value, str | bytes | bytearray):
        if key == "body" and event.get("isBase64Encoded") is True:
            return True
        head = value.lstrip()[:1]
        return head in ("[", "{", b"[", b"{")
    return False


def extract_samples(event: Any) -> ExtractedEvent:
    """Find the sample list in any event shape the trainers and tools send.

    Accepted: a JSON array of samples; one sample object (has ``messages`` or ``id``); an
    object wrapping the list under ``samples``, ``data``, ``inputs``, ``instances``,
    ``batch`` or ``body`` (nested up to four levels; ``body`` may be a JSON string, base64
    when ``isBase64Encoded``); any of these as a JSON string or bytes. Not accepted:
    event-source batches (``Records``: SQS, Kinesis, S3, SNS), since nothing reads a
    reward returned to them; ``null``, numbers, booleans, objects without samples.
    """
    path: list[str] = []
    for _ in range(MAX_UNWRAP_DEPTH + 1):
        where = ">".join(path) or "event"
        if isinstance(event, str | bytes | bytearray | memoryview):
            event, error = _decode_text(event)
            if error is not None:
                return ExtractedEvent([], where, f"{where} is a string that is {error}")
            path.append("json")
            continue
        if isinstance(event, list | tuple):
            return ExtractedEvent([_decode_item(i) for i in event], ">".join([*path, "list"]))
        if isinstance(event, Mapping):
            if "messages" in event:
                return ExtractedEvent([dict(event)], ">".join([*path, "object"]))
            key = next((k for k in WRAPPER_KEYS if _may_wrap(event, k)), None)
            if key is not None:
                inner = event[key]
                if key == "body" and event.get("isBase64Encoded") is True and isinstance(
                    inner, str | bytes
                ):
                    inner, error = _decode_text(inner, base64_encoded=True)
                    if error is not None:
                        return ExtractedEvent([], where, f"{where}.body is {error}")
                    path.append("body(base64)")
                else:
                    path.append(key)
                event = inner
                continue
            if "Records" in event:
                return ExtractedEvent([], where, (
                    f"{where} is an event-source batch ('Records': SQS/Kinesis/S3/SNS); the "
                    "reward Lambda must be invoked synchronously with a JSON array of samples"))
            if "id" in event:
                return ExtractedEvent([dict(event)], ">".join([*path, "object"]))
            return ExtractedEvent([], where, (
                # Key names can be sample text: count them, never log them.
                f"{where} is an object with {len(event)} keys and no samples; "
                f"expected a JSON array of samples, one sample with 'messages', or the list "
                f"under one of {', '.join(WRAPPER_KEYS)}"))
        if event is None:
            return ExtractedEvent([], where, f"{where} is null; expected a JSON array of samples")
        return ExtractedEvent([], where, (
            f"{where} is a {type(event).__name__}; expected a JSON array of samples"))
    return ExtractedEvent([], ">".join(path), (
        f"samples are wrapped more than {MAX_UNWRAP_DEPTH} levels deep ({'>'.join(path)})"))
