"""Reading rollouts from JSONL: one sample per line, damage confined to its line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.errors import ErrorKind, SampleError
from rewardsmith.core.sample import EXPECTED_SHAPE, LineSample, parse_sample

EXCERPT_CHARS = 2_000


def count_lines(path: Path) -> int:
    """How many non-blank lines the file at ``path`` has (one rollout a line).

    Raises ``OSError`` if the file cannot be read."""
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


# orjson reads an integer outside [-2**63, 2**64) as a float and loses its digits (an id
# 18446744073709551617 came back as 1.8446744073709552e+19); such integers have 19 or more
# digits, so a document with a run that long is read by the standard library, which keeps
# integers exact. Strings with long digit runs only cost that slower read.
_LONG_DIGITS = re.compile(rb"\d{19,}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19,}")


def _exact_loads(raw: bytes | str) -> Any:
    """The standard library's reader, as the AWS Lambda Python runtime reads an event
    (``json.loads``): ``NaN``/``Infinity`` and overflowing numbers become non-finite floats,
    which the components that read them refuse by name (e.g. ``bad_reference``)."""
    return json.loads(raw)


def loads_json(raw: bytes | str) -> Any:
    """One JSON document: orjson, falling back to the standard library for what orjson
    refuses but JSON allows (lone surrogate escapes such as ``"\\ud800"``) and for
    documents holding integers beyond 64 bits, which are kept exact (the one id rule:
    ids are echoed as given, ``core.wire``).

    ``NaN``/``Infinity`` literals and numbers overflowing a double are read as the Lambda
    runtime reads them (non-finite floats), so ``score``, ``lambda invoke``, ``serve`` and
    the Lambda score the same document alike. Raises ``ValueError`` naming orjson's reason
    (nesting deeper than 1024 levels included, which the fallback cannot read either: its
    ``RecursionError`` is not let out)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            return _exact_loads(raw)
        except (ValueError, RecursionError):
            raise ValueError(str(exc)) from None
    long_digits = (_LONG_DIGITS.search(raw) if isinstance(raw, bytes | bytearray | memoryview)
                   else _LONG_DIGITS_TEXT.search(raw))
    if long_digits is None:
        return value
    try:
        return _exact_loads(raw)
    except (ValueError, RecursionError):  # orjson read it: keep orjson's reading
        return value


def decode_line(raw: bytes, line_no: int) -> Any:
    """A decoded sample, or a :class:`SampleError` naming the line.

    A sample without an ``id`` gets its line number, so results stay traceable across
    batches; the sample is a :class:`LineSample`, so errors about it name its line too.
    """
    try:
        value = loads_json(raw)
    except ValueError as exc:
        preview = raw[:60].decode("utf-8", errors="replace")
        return SampleError(f"line {line_no}: not valid JSON ({exc}); starts with "
                           f"{preview!r}", kind=ErrorKind.INVALID_JSON, sample_id=line_no)
    if not isinstance(value, dict):
        return SampleError(f"line {line_no}: expected a JSON object, got "
                           f"{type(value).__name__}; {EXPECTED_SHAPE}",
                           kind=ErrorKind.MALFORMED_SAMPLE, sample_id=line_no)
    if "id" not in value:
        value["id"] = line_no
    return LineSample(value, line_no)


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
