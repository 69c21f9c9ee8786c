"""The one encoder of results, and the one id rule.

Three rows leave rewardsmith, all built here from a :class:`SampleResult`:

* :func:`lambda_row` — what the reward Lambda returns per sample (Nova Forge / Bedrock
  RFT): ``{"id", "aggregate_reward_score", "metrics_list"}``, with only finite numbers
  and per-sample judge/failure metrics added;
* :func:`jsonl_row` — what ``rewardsmith score`` writes per line: the Lambda's three keys
  (metrics as the components reported them) plus status, errors, per-component outcomes
  and the pack reference;
* :func:`failure_row` — the Lambda answer for a sample that could not be scored at all
  (no pack, the engine overran), built without a ``SampleResult``.

The domain model calls the reward ``reward``; the key ``aggregate_reward_score`` exists
only on the wire, named once here (:data:`REWARD_KEY`, which readers of rows use too).
A result with a per-turn reward vector (trajectories, agentic packs) adds it to both rows
under :data:`TURN_REWARDS_KEY`; a row without one is byte-identical to before.
The Lambda contract is described in ``docs/lambda.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import orjson

from rewardsmith.core.logs import redact
from rewardsmith.core.results import ComponentOutcome, PackRef, SampleResult

#: The wire key of the reward (the domain model's ``SampleResult.reward``).
REWARD_KEY = "aggregate_reward_score"
#: The extra wire key of the per-turn reward vector (one finite float per assistant turn).
TURN_REWARDS_KEY = "turn_rewards"


def _turn_rewards(result: SampleResult, fallback: float) -> list[float] | None:
    if result.turn_rewards is None:
        return None
    return [_finite(v, fallback) for v in result.turn_rewards]


# -- the id rule ----------------------------------------------------------------------------
def wire_id(value: Any) -> Any:
    """The id exactly as given when it survives JSON encoding, else its ``str()``.

    Non-finite floats become their ``str()`` (``"nan"``); an object whose ``__str__``
    raises becomes ``"<unprintable TypeName>"``. Never raises.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def item_id(item: Any, index: int) -> Any:
    """The id of a raw input item before parsing: its ``id`` key when it is an object,
    else its position in the batch (the engine and the Lambda echo the same)."""
    return item.get("id", index) if isinstance(item, dict) else index


# -- pieces -------------------------------------------------------------------------------
def _metric(name: str, value: float, kind: str = "Metric") -> dict[str, Any]:
    return {"name": name, "value": value, "type": kind}


class MetricCache:
    """One shared ``{"name", "value", "type"}`` dict per distinct entry, for the rows of one
    answer: rows of small samples repeat the same entries (``json.valid = 1.0``,
    ``components_failed = 0.0``), and 100,000 rows of ten fresh dicts each were most of
    the Lambda's peak memory (issue 10). Rows built with a cache share entries, so they
    are for encoding, not for mutating. Holds at most ``limit`` entries; past it, new
    entries are built fresh.
    """

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int = 100_000) -> None:
        self._entries: dict[tuple[str, float, str], dict[str, Any]] = {}
        self._limit = limit

    def get(self, name: str, value: float, kind: str = "Metric") -> dict[str, Any]:
        key = (name, value, kind)
        entry = self._entries.get(key)
        if entry is None:
            entry = {"name": name, "value": value, "type": kind}
            if len(self._entries) < self._limit:
                self._entries[key] = entry
        return entry


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else ``None``:
    how a row's numbers are read, whether encoded here or read back (``report.digest``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _finite(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return number if math.isfinite(number) else default


def metrics_list(result: SampleResult) -> list[dict[str, Any]]:
    """Per-component rewards as ``Reward`` and finite numeric measurements as ``Metric``
    (``"<component>.<key>"``), a ``<component>.failed`` marker per failed component and
    ``sample_failed`` for a failed sample; each entry ``{"name", "value", "type"}``."""
    metrics: list[dict[str, Any]] = []
    for cid, outcome in result.components.items():
        if outcome.value is not None:
            metrics.append(_metric(cid, float(outcome.value), "Reward"))
        for key, val in outcome.measurements.items():
            number = float(val) if isinstance(val, bool | int | float) else None
            if number is not None and math.isfinite(number):
                metrics.append(_metric(f"{cid}.{key}", number))
        if outcome.error_kind is not None:
            metrics.append(_metric(f"{cid}.failed", 1.0))
    if result.status == "failed":
        metrics.append(_metric("sample_failed", 1.0))
    return metrics


def outcome_json(outcome: ComponentOutcome) -> dict[str, Any]:
    """One component's outcome as in a JSONL row's ``components`` table."""
    out: dict[str, Any] = {
        "type": outcome.type,
        "value": outcome.value,
        "weight": outcome.weight,
        "passed": outcome.passed,
    }
    if outcome.rationale:
        out["rationale"] = outcome.rationale
    if outcome.measurements:
        out["measurements"] = outcome.measurements
    if outcome.details:
        out["details"] = outcome.details
    if outcome.error is not None:
        # Error text may carry a server's words (an echoed API key): redacted at this sink.
        out.update(error=redact(outcome.error), error_kind=outcome.error_kind,
                   policy=outcome.policy)
    if outcome.skipped:
        out["skipped"] = True
    if outcome.turn_values is not None:
        out["turn_values"] = outcome.turn_values
    return out


def pack_ref_json(ref: PackRef) -> dict[str, str]:
    """``{"name", "version", "hash"}`` of the pack that scored a row."""
    return {"name": ref.name, "version": ref.version, "hash": ref.hash}


# -- the three rows -------------------------------------------------------------------------
def jsonl_row(result: SampleResult, *, index: int | None = None) -> dict[str, Any]:
    """The ``rewardsmith score`` JSONL row: id, the input position when ``index`` is given
    (rows are written as samples finish, so the order can be restored), reward, metrics,
    status, errors, gate, prompt group and response length (``group``,
    ``response_chars``, when known), per-component outcomes and the pack reference."""
    out: dict[str, Any] = {"id": wire_id(result.id)}
    if index is not None:
        out["index"] = index
    out[REWARD_KEY] = float(result.reward)
    out["metrics_list"] = metrics_list(result)
    out["status"] = result.status
    vector = _turn_rewards(result, float(result.reward))
    if vector is not None:
        out[TURN_REWARDS_KEY] = vector
    if result.error is not None:
        out["error"] = redact(result.error)
        out["error_kind"] = result.error_kind
    if result.gate is not None:
        out["gate"] = result.gate
    # The prompt group and the response length: what group spread and length-reward
    # correlation are computed from (``rewardsmith monitor``, the report).
    if result.group_key:
        out["group"] = result.group_key
    if result.response_chars is not None:
        out["response_chars"] = result.response_chars
    out["components"] = {cid: outcome_json(o) for cid, o in result.components.items()}
    out["pack"] = pack_ref_json(result.pack)
    return out


def lambda_row(result: SampleResult, *, failure_reward: float,
               judge_ids: Iterable[str] = (), cache: MetricCache | None = None
               ) -> dict[str, Any]:
    """The reward-Lambda row: ``{"id", "aggregate_reward_score", "metrics_list"}``, safe
    to serialise (finite numbers only), plus ``components_failed``, ``deadline_abandoned``
    and, when ``judge_ids`` names the pack's judge components, ``judge_latency_ms``,
    ``judge_input_tokens``/``output_tokens``/``cost_usd`` and ``judge_failed``. A reward
    that is somehow not finite becomes ``failure_reward``. With ``cache``, equal metric
    entries are one shared dict (see :class:`MetricCache`)."""
    judges = judge_ids if isinstance(judge_ids, frozenset) else frozenset(judge_ids)
    make = _metric if cache is None else cache.get
    metrics: list[dict[str, Any]] = []
    for entry in metrics_list(result):
        value = entry.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
            value
        ) and entry.get("type") in ("Metric", "Reward"):
            metrics.append(make(str(entry.get("name")), float(value), entry["type"]))
    outcomes = result.components.values()
    failed = [o for o in outcomes if o.error_kind is not None]
    names = {m["name"] for m in metrics}
    extra = {
        "components_failed": float(len(failed)),
        "deadline_abandoned": float(any(o.error_kind == "deadline" for o in failed)),
    }
    if judges:
        judged = [o for o in outcomes if o.id in judges and o.error_kind is None]
        # The judge's own model latency when it reports one, else the engine's wall time.
        latencies = [v for o in judged if (v := finite_number(o.measurements.get(
            "judge_latency_ms", o.measurements.get("latency_ms")))) is not None]
        if latencies:
            extra["judge_latency_ms"] = max(latencies)
        for key in ("input_tokens", "output_tokens", "cost_usd"):
            values = [v for o in judged
                      if (v := finite_number(o.measurements.get(key))) is not None]
            if values:
                extra[f"judge_{key}"] = float(sum(values))
        extra["judge_failed"] = float(sum(o.id in judges for o in failed))
    metrics.extend(make(k, v) for k, v in extra.items() if k not in names)
    row: dict[str, Any] = {
        "id": wire_id(result.id),
        REWARD_KEY: _finite(result.reward, failure_reward),
        "metrics_list": metrics,
    }
    vector = _turn_rewards(result, failure_reward)
    if vector is not None:
        row[TURN_REWARDS_KEY] = vector
    return row


def failure_row(sample_id: Any, reward: float, kind: str,
                cache: MetricCache | None = None) -> dict[str, Any]:
    """The Lambda row for a sample that could not be scored at all (no pack, engine
    overrun): the reward given, ``sample_failed`` and a metric named after ``kind``."""
    make = _metric if cache is None else cache.get
    return {
        "id": wire_id(sample_id),
        REWARD_KEY: reward,
        "metrics_list": [make("sample_failed", 1.0), make(str(kind), 1.0)],
    }


def encode_json(value: Any, *, indent: bool = False) -> str:
    """``value`` as JSON text: orjson, falling back to the standard library (escaped ASCII)
    for what orjson cannot encode — lone surrogates in an echoed id or message, integers
    beyond 64 bits (an id is echoed exactly, the one id rule). The fallback covers that one
    document (row, answer), never a whole stream."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=True, default=str, indent=2 if indent else None)


def encode_line(row: dict[str, Any]) -> str:
    """One JSONL line (no newline), as :func:`encode_json` writes it."""
    return encode_json(row)
