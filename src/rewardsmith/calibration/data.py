"""Reading observed outcomes and scored rows, and joining them on the sample id.

The join is exact: ids are compared by their JSON encoding, so ``1``, ``1.0`` and
``"1"`` are three different ids (a silent coercion would pair the wrong samples).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.calibration.errors import CalibrationError
from rewardsmith.core.rollouts import loads_json

MIN_MATCHED = 10
_PREVIEW_IDS = 5


def id_key(sample_id: Any) -> bytes:
    """The exact-join key of an id: its canonical JSON encoding."""
    return orjson.dumps(sample_id, option=orjson.OPT_SORT_KEYS)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        for line_no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                yield line_no, loads_json(raw)
            except ValueError as exc:
                raise CalibrationError(f"{path}:{line_no}: not valid JSON ({exc})") from None


@dataclass(frozen=True)
class Outcome:
    id: Any
    value: float
    line: int


def read_outcomes(path: Path, field_name: str = "outcome") -> dict[bytes, Outcome]:
    """Outcome rows ``{"id": ..., "<field_name>": number}`` keyed by :func:`id_key`.

    Booleans count as 0/1 (a converted / not converted outcome). Anything else that is
    not a finite number is an error naming the line.
    """
    outcomes: dict[bytes, Outcome] = {}
    for line_no, row in _json_lines(path):
        where = f"{path}:{line_no}"
        if not isinstance(row, dict):
            raise CalibrationError(f"{where}: expected a JSON object, got {type(row).__name__}")
        if "id" not in row:
            raise CalibrationError(f"{where}: the row has no 'id' (keys: {sorted(row)})")
        if field_name not in row:
            raise CalibrationError(f"{where}: the row has no {field_name!r} field (keys: "
                                   f"{sorted(row)}); choose the field with --outcome-field")
        raw = row[field_name]
        if isinstance(raw, bool | int | float):
            value = float(raw)
        else:
            raise CalibrationError(f"{where}: {field_name!r} must be a number, got "
                                   f"{type(raw).__name__} {raw!r:.60}")
        if not math.isfinite(value):
            raise CalibrationError(f"{where}: {field_name!r} is not finite ({raw!r})")
        key = id_key(row["id"])
        if key in outcomes:
            raise CalibrationError(f"{where}: id {row['id']!r} already appeared on line "
                                   f"{outcomes[key].line}; outcome ids must be unique")
        outcomes[key] = Outcome(row["id"], value, line_no)
    if not outcomes:
        raise CalibrationError(f"{path}: no outcome rows")
    return outcomes


def read_scored(path: Path) -> list[dict[str, Any]]:
    """Rows written by ``rewardsmith score`` (``core.wire.jsonl_row``)."""
    rows: list[dict[str, Any]] = []
    for line_no, row in _json_lines(path):
        where = f"{path}:{line_no}"
        if not isinstance(row, dict) or "id" not in row or "aggregate_reward_score" not in row:
            raise CalibrationError(f"{where}: not a scored row (expected an object with 'id' "
                                   "and 'aggregate_reward_score', as `rewardsmith score` writes)")
        rows.append(row)
    if not rows:
        raise CalibrationError(f"{path}: no scored rows")
    return rows


@dataclass
class Joined:
    """Scored rows paired with their outcomes, plus what matched nothing on either side."""

    rows: list[dict[str, Any]]
    outcomes: list[float]
    unmatched_scored: list[Any] = field(default_factory=list)
    unmatched_outcomes: list[Any] = field(default_factory=list)

    def describe_unmatched(self) -> str | None:
        parts = []
        for label, ids in (("scored samples without an outcome", self.unmatched_scored),
                           ("outcomes without a scored sample", self.unmatched_outcomes)):
            if ids:
                preview = ", ".join(repr(i) for i in ids[:_PREVIEW_IDS])
                more = f", … {len(ids) - _PREVIEW_IDS} more" if len(ids) > _PREVIEW_IDS else ""
                parts.append(f"{len(ids)} {label} (ids {preview}{more})")
        return "; ".join(parts) or None


def join(rows: Iterable[dict[str, Any]], outcomes: dict[bytes, Outcome],
         min_matched: int = MIN_MATCHED) -> Joined:
    """Pair each scored row with the outcome of the same id (exact match)."""
    joined = Joined([], [])
    seen: set[bytes] = set()
    for row in rows:
        key = id_key(row["id"])
        if key in seen:
            raise CalibrationError(f"scored id {row['id']!r} appears more than once; the join "
                                   "with outcomes would be ambiguous")
        seen.add(key)
        outcome = outcomes.get(key)
        if outcome is None:
            joined.unmatched_scored.append(row["id"])
            continue
        joined.rows.append(row)
        joined.outcomes.append(outcome.value)
    joined.unmatched_outcomes = [o.id for k, o in outcomes.items() if k not in seen]
    if len(joined.rows) < min_matched:
        detail = joined.describe_unmatched()
        raise CalibrationError(
            f"only {len(joined.rows)} scored samples have an outcome; calibration needs at "
            f"least {min_matched}" + (f" ({detail})" if detail else "")
        )
    return joined


def score_rollouts(pack: Any, rollouts: Path) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    """Score a rollouts file (JSONL) with ``pack``: the rows ``rewardsmith score`` would
    write, and each sample's response by id (for the report)."""
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.errors import SampleError
    from rewardsmith.core.rollouts import read_rollouts
    from rewardsmith.core.sample import parse_sample
    from rewardsmith.core.wire import jsonl_row

    rows: list[dict[str, Any]] = []
    responses: dict[Any, str] = {}
    scorer = Scorer(pack)
    try:
        for batch in read_rollouts(rollouts, 256):
            for raw in batch:
                if isinstance(raw, dict):
                    try:
                        sample = parse_sample(raw, len(responses))
                        responses[sample.id] = sample.response
                    except (SampleError, TypeError):
                        pass  # the scorer reports it as a failed row
            rows.extend(jsonl_row(r) for r in scorer.score(batch).results)
    finally:
        scorer.close()
    return rows, responses
