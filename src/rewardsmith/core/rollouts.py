"""Reading rollouts from JSONL: one sample per line, damage confined to its line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.errors import SampleError
from rewardsmith.core.sample import parse_sample

EXCERPT_CHARS = 2_000


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def decode_line(raw: bytes, line_no: int) -> Any:
    """A decoded sample, or a :class:`SampleError` naming the line.

    A sample without an ``id`` gets its line number, so results stay traceable across
    batches.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            # orjson refuses lone surrogate escapes ("\ud800"), which are valid JSON
            value = json.loads(raw)
        except ValueError:
            preview = raw[:60].decode("utf-8", errors="replace")
            return SampleError(f"line {line_no}: not valid JSON ({exc}); starts with "
                               f"{preview!r}", kind="invalid_json", sample_id=line_no)
    if isinstance(value, dict) and "id" not in value:
        value["id"] = line_no
    elif not isinstance(value, dict):
        return SampleError(f"line {line_no}: expected a JSON object, got "
                           f"{type(value).__name__}", kind="malformed_sample", sample_id=line_no)
    return value


def read_rollouts(path: Path, batch_size: int) -> Iterator[list[Any]]:
    """Batches of decoded samples (or per-line errors); blank lines are skipped."""
    batch: list[Any] = []
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            batch.append(decode_line(raw, line_no))
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def response_excerpt(raw: Any) -> str | None:
    """The start of a sample's response, for reports; None when it cannot be parsed."""
    if not isinstance(raw, dict):
        return None
    try:
        return parse_sample(raw, 0).response[:EXCERPT_CHARS]
    except SampleError:
        return None


def encode_row(row: dict[str, Any]) -> str:
    """One JSONL output line; falls back to escaped ASCII for text orjson cannot encode."""
    try:
        return orjson.dumps(row).decode()
    except TypeError:  # orjson.JSONEncodeError: lone surrogates in an echoed id
        return json.dumps(row, ensure_ascii=True, default=str)
