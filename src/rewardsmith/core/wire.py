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

    Entries are filed by kind, then name, then value (``0.0`` and ``-0.0`` are one entry,
    the first one met), and a measurement's ``"<component>.<key>"`` name is built once per
    answer (:meth:`_slot`, for :func:`lambda_row`): issue 13 measured the row build at
    50-75 us per 20-metric row, most of it in the per-entry tuple keys, f-strings and
    calls this layout avoids.
    """

    __slots__ = ("_added", "_by_name", "_limit", "_names", "_size")

    def __init__(self, limit: int = 100_000) -> None:
        # kind -> name -> value -> entry
        self._by_name: dict[str, dict[str, dict[float, dict[str, Any]]]] = {
            "Metric": {}, "Reward": {}}
        # component id -> measurement key -> (name, value -> entry)
        self._names: dict[str, dict[str, tuple[str, dict[float, dict[str, Any]]]]] = {}
        self._size = 0
        self._limit = limit
        # entries filed while building the current row: a row that raises takes them back
        self._added: list[tuple[dict[float, dict[str, Any]], float]] = []

    def get(self, name: str, value: float, kind: str = "Metric") -> dict[str, Any]:
        """The shared entry ``{"name": name, "value": value, "type": kind}``."""
        by_name = self._by_name.get(kind)
        if by_name is None:
            by_name = self._by_name[kind] = {}
        values = by_name.get(name)
        if values is None:
            values = by_name[name] = {}
        entry = values.get(value)
        if entry is None:
            entry = {"name": name, "value": value, "type": kind}
            if self._size < self._limit:
                values[value] = entry
                self._size += 1
                self._added.append((values, value))
        return entry

    def _slot(self, cid: str, key: str) -> tuple[str, dict[float, dict[str, Any]]]:
        """Component ``cid``'s measurement ``key``: its entry name and its entries by value
        (the ones :meth:`get` files under that name), filed for the next rows."""
        name = f"{cid}.{key}"
        by_name = self._by_name["Metric"]
        values = by_name.get(name)
        if values is None:
            values = by_name[name] = {}
        keys = self._names.get(cid)
        if keys is None:
            keys = self._names[cid] = {}
        slot = keys[key] = (name, values)
        return slot

    def _fresh(self, slot: tuple[str, dict[float, dict[str, Any]]],
               value: float) -> dict[str, Any]:
        """A new ``Metric`` entry for ``slot`` (see :meth:`_slot`), shared while room lasts."""
        entry = {"name": slot[0], "value": value, "type": "Metric"}
        if self._size < self._limit:
            slot[1][value] = entry
            self._size += 1
            self._added.append((slot[1], value))
        return entry

    def _take_back(self) -> None:
        """Forget the entries filed since the current row began: a row that raised is
        answered by a failure row, and its entries must not decide which of ``0.0`` and
        ``-0.0`` later rows share (the two-pass build filed nothing for such a row)."""
        for values, value in self._added:
            values.pop(value, None)
        self._size -= len(self._added)
        self._added.clear()


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
    append = metrics.append
    isfinite = math.isfinite
    for cid, outcome in result.components.items():
        if outcome.value is not None:
            append({"name": cid, "value": float(outcome.value), "type": "Reward"})
        for key, val in outcome.measurements.items():
            if isinstance(val, bool | int | float):
                number = float(val)
                if isfinite(number):
                    append({"name": f"{cid}.{key}", "value": number, "type": "Metric"})
        if outcome.error_kind is not None:
            append({"name": f"{cid}.failed", "value": 1.0, "type": "Metric"})
    if result.status == "failed":
        append({"name": "sample_failed", "value": 1.0, "type": "Metric"})
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


#: The judge measurements a Lambda row sums over the sample's judges, in this order.
_JUDGE_SUMS = ("input_tokens", "output_tokens", "cost_usd")
#: What a measurement must be to become a metric (``bool`` is an ``int``).
_NUMBERS = (int, float)


def lambda_row(result: SampleResult, *, failure_reward: float,
               judge_ids: Iterable[str] = (), cache: MetricCache | None = None
               ) -> dict[str, Any]:
    """The reward-Lambda row: ``{"id", "aggregate_reward_score", "metrics_list"}``, safe
    to serialise (finite numbers only), plus ``components_failed``, ``deadline_abandoned``
    and, when ``judge_ids`` names the pack's judge components, ``judge_latency_ms``,
    ``judge_input_tokens``/``output_tokens``/``cost_usd`` and ``judge_failed``. A reward
    that is somehow not finite becomes ``failure_reward``. With ``cache``, equal metric
    entries are one shared dict (see :class:`MetricCache`).

    One pass over the components builds the entries and the per-sample figures: the rows
    are those of :func:`metrics_list` filtered to finite numbers, then the extras, byte for
    byte (``tests/core/test_wire_rows.py`` compares them with that earlier two-pass
    build); issue 13 measured the two passes at 50-75 us per 20-metric row inside the
    handler, a fifth of a C=100 invocation's tail. Raises what ``float()`` raises for a
    component value or an integer measurement it cannot convert (the handler answers that
    sample's failure row).
    """
    judges = judge_ids if isinstance(judge_ids, frozenset) else frozenset(judge_ids)
    if cache is None:
        cache = MetricCache(limit=0)  # every entry a fresh dict
    make = cache.get
    slots = cache._names
    new_slot = cache._slot
    fresh = cache._fresh
    isfinite = math.isfinite
    metrics: list[dict[str, Any]] = []
    append = metrics.append
    rewarded: set[str] = set()  # Reward names: the only entries an extra's name can equal
    failed = deadline = judge_failed = 0
    latency: float | None = None
    sums: dict[str, list[float]] = {}
    cache._added.clear()
    try:
        for cid, outcome in result.components.items():
            value = outcome.value
            if value is not None:
                number = float(value)
                if isfinite(number):
                    name = str(cid)
                    rewarded.add(name)
                    append(make(name, number, "Reward"))
            measurements = outcome.measurements
            keys = slots.get(cid)
            if keys is None:
                keys = slots[cid] = {}
            for key, val in measurements.items():
                if isinstance(val, _NUMBERS):
                    number = float(val)
                    if isfinite(number):
                        slot = keys.get(key)
                        if slot is None:
                            slot = new_slot(cid, key)
                        entry = slot[1].get(number)
                        append(fresh(slot, number) if entry is None else entry)
            kind = outcome.error_kind
            if kind is not None:
                append(make(f"{cid}.failed", 1.0, "Metric"))
                failed += 1
                if kind == "deadline":
                    deadline = 1
                if outcome.id in judges:
                    judge_failed += 1
            elif judges and outcome.id in judges:
                # The judge's own model latency when it reports one, else the engine's wall time.
                seen = finite_number(measurements.get(
                    "judge_latency_ms", measurements.get("latency_ms")))
                if seen is not None and (latency is None or seen > latency):
                    latency = seen
                for key in _JUDGE_SUMS:
                    if (figure := finite_number(measurements.get(key))) is not None:
                        sums.setdefault(key, []).append(figure)
    except BaseException:
        cache._take_back()
        raise
    if result.status == "failed":
        append(make("sample_failed", 1.0, "Metric"))
    if "components_failed" not in rewarded:
        append(make("components_failed", float(failed), "Metric"))
    if "deadline_abandoned" not in rewarded:
        append(make("deadline_abandoned", float(deadline), "Metric"))
    if judges:
        if latency is not None and "judge_latency_ms" not in rewarded:
            append(make("judge_latency_ms", latency, "Metric"))
        for key in _JUDGE_SUMS:
            if key in sums and (name := f"judge_{key}") not in rewarded:
                # sum() as before: the same float, on every Python (3.12 sums floats with
                # compensation, a loop of + would not)
                append(make(name, float(sum(sums[key])), "Metric"))
        if "judge_failed" not in rewarded:
            append(make("judge_failed", float(judge_failed), "Metric"))
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
