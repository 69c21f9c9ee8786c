"""What the reward Lambda tells operators about each invocation, without network calls.

Two lines go to stdout per invocation (CloudWatch Logs captures stdout in Lambda):

* one structlog JSON line (``event="reward_invocation"``) with the request id, pack,
  sample counts, failures by kind, judge calls, cache hits, tokens, cost, latency
  percentiles and the reward mean/std;
* one CloudWatch Embedded Metric Format (EMF) document, which CloudWatch turns into
  metrics with no ``PutMetricData`` call.

Neither carries sample text unless ``REWARDSMITH_DEBUG=1``; secrets are always redacted:
values of secret-looking environment variables and well-known key shapes are replaced
before anything is written.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from rewardsmith.core import settings
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.logs import SecretRedactor, configure_logging, make_logger

DEBUG_ENV = "REWARDSMITH_DEBUG"
NAMESPACE_ENV = "REWARDSMITH_METRICS_NAMESPACE"
DIMENSIONS_ENV = "REWARDSMITH_METRICS_DIMENSIONS"
METRICS_ENABLED_ENV = "REWARDSMITH_METRICS"
LOG_LEVEL_ENV = "REWARDSMITH_LOG_LEVEL"

DEFAULT_NAMESPACE = settings.default(NAMESPACE_ENV)
DEFAULT_DIMENSIONS = settings.default(DIMENSIONS_ENV)

# EMF limits (CloudWatch EMF specification; same values as aws-embedded-metrics).
EMF_MAX_METRICS = 100
EMF_MAX_DIMENSIONS_PER_SET = 30
EMF_MAX_DIMENSION_NAME = 250
EMF_MAX_DIMENSION_VALUE = 1024
EMF_MAX_METRIC_NAME = 1024
EMF_MAX_NAMESPACE = 256
_NAMESPACE_RE = re.compile(r"^[a-zA-Z0-9._#:/-]+$")
EMF_UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})
# Dimension names the handler can fill in; anything else must be given as Key=Value.
KNOWN_DIMENSIONS = ("FunctionName", "FunctionVersion", "Pack", "PackVersion", "PackHash")


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``REWARDSMITH_DEBUG=1`` lets sample text (error messages, ids) into the logs."""
    return settings.get_flag(DEBUG_ENV, environ)


# -- logging: the one set-up of core/logs, pointed at stdout ---------------------------------
def configure_lambda_logging(environ: Mapping[str, str] | None = None) -> None:
    """Route library logs (engine, backends) as redacted JSON lines to stdout, through the
    one processor list of :mod:`rewardsmith.core.logs`.

    Called once per cold start when running inside Lambda; the level comes from
    ``REWARDSMITH_LOG_LEVEL`` (default ``warning``: the invocation line already carries
    the batch summary the engine would log at ``info``; an unknown level also means
    ``warning``, since the Lambda must start whatever its environment says).
    """
    env = settings.environment(environ)
    level = (settings.get(LOG_LEVEL_ENV, env) or settings.default(LOG_LEVEL_ENV)).strip()
    if level.upper() not in logging.getLevelNamesMapping():
        level = "warning"
    configure_logging(level=level, json=True, stream=sys.stdout, redactor=SecretRedactor(env))


# -- what one invocation did ----------------------------------------------------------------
@dataclass
class InvocationRecord:
    """Everything the log line and the metrics say about one invocation."""

    request_id: str | None = None
    function_name: str | None = None
    function_version: str | None = None
    pack_name: str | None = None
    pack_version: str | None = None
    pack_hash: str | None = None
    input_shape: str = ""
    samples: int = 0
    cold_start: bool = False
    init_ms: float | None = None
    remaining_ms: float | None = None
    budget_ms: float | None = None
    elapsed_ms: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)  # BatchResult.summary() shape
    event_error: str | None = None
    pack_error: str | None = None
    engine_error: str | None = None
    settings_problems: list[str] = field(default_factory=list)  # bad REWARDSMITH_* values
    debug: dict[str, Any] = field(default_factory=dict)  # only filled with REWARDSMITH_DEBUG
    #: How the answer fit the deadline (ms): ``reserve_ms`` kept back from the engine,
    #: ``rows_ms`` building rows, ``encode_estimate_ms`` the runtime's JSON encoding (the
    #: learnt per-row figure, see ``AnswerCosts.learn_encoding``), ``answered_by_ms`` =
    #: elapsed + encoding, from the start of the handler; ``rows_past_budget`` rows
    #: answered with the failure row (issue 10).
    answer_budget: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.event_error or self.pack_error or self.engine_error)

    @property
    def judge_outages(self) -> dict[str, dict[str, Any]]:
        """Judge components that could not run in this batch (``JudgeOutage.to_json()`` by
        component id), the pack's allowed ones included."""
        outages = self.summary.get("judge_unavailable") or {}
        return outages if isinstance(outages, dict) else {}

    @property
    def judge_down(self) -> bool:
        """A judge could not run and the pack does not allow rewards without it."""
        return any(not (o.get("allowed") if isinstance(o, dict) else False)
                   for o in self.judge_outages.values())

    def log_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "request_id": self.request_id,
            "function_name": self.function_name,
            "pack": self.pack_name,
            "pack_version": self.pack_version,
            "pack_hash": self.pack_hash,
            "input_shape": self.input_shape,
            "samples": self.samples,
            "cold_start": self.cold_start,
            "init_ms": _round(self.init_ms),
            "remaining_ms": _round(self.remaining_ms),
            "budget_ms": _round(self.budget_ms),
            "elapsed_ms": _round(self.elapsed_ms),
        }
        summary = dict(self.summary)
        summary.pop("samples", None)
        fields.update(summary)
        if self.answer_budget:
            fields["answer_budget"] = self.answer_budget
        for key in ("event_error", "pack_error", "engine_error", "settings_problems"):
            if getattr(self, key):
                fields[key] = getattr(self, key)
        if self.debug:
            fields["debug"] = self.debug
        return fields


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def log_invocation(record: InvocationRecord, *, stream: TextIO | None = None,
                   redactor: SecretRedactor | None = None) -> None:
    """Write the invocation's JSON line: ``error`` level when it could not score, or when a
    judge could not run (its cause is in ``judge_unavailable``) and the pack does not allow
    that, or when abandoned worker threads made the scorer refuse synchronous work;
    ``warning`` when it allows it."""
    logger = make_logger(stream, redactor)
    if record.failed or record.judge_down or record.summary.get("workers_unhealthy"):
        logger.error("reward_invocation", **record.log_fields())
    elif record.judge_outages:
        logger.warning("reward_invocation", **record.log_fields())
    else:
        logger.info("reward_invocation", **record.log_fields())


# -- CloudWatch Embedded Metric Format ------------------------------------------------------
class MetricsConfigError(RewardsmithError, ValueError):
    """REWARDSMITH_METRICS_NAMESPACE / _DIMENSIONS cannot be used as given."""


@dataclass(frozen=True)
class MetricsConfig:
    """Namespace and dimension sets of the EMF documents.

    ``REWARDSMITH_METRICS_DIMENSIONS`` lists dimension sets separated by ``;``, each a
    comma-separated list of names: a known one (FunctionName, FunctionVersion, Pack,
    PackVersion, PackHash) filled in per invocation, or ``Key=Value`` for a fixed value
    (e.g. ``Team=legal``). ``none`` publishes the metrics without dimensions.
    Default: ``FunctionName,Pack``.
    """

    namespace: str = DEFAULT_NAMESPACE
    dimension_sets: tuple[tuple[str, ...], ...] = (("FunctionName", "Pack"),)
    static_dimensions: tuple[tuple[str, str], ...] = ()
    enabled: bool = True

    @classmethod
    def parse(cls, namespace: str | None, dimensions: str | None,
              enabled: bool = True) -> MetricsConfig:
        ns = (namespace or DEFAULT_NAMESPACE).strip()
        if len(ns) > EMF_MAX_NAMESPACE or not _NAMESPACE_RE.match(ns):
            raise MetricsConfigError(
                f"{NAMESPACE_ENV}={ns!r}: a namespace is 1-{EMF_MAX_NAMESPACE} characters of "
                "letters, digits and . _ # : / -"
            )
        spec = DEFAULT_DIMENSIONS if dimensions is None else dimensions.strip()
        if spec.lower() in {"", "none"}:
            return cls(ns, ((),), (), enabled)
        sets: list[tuple[str, ...]] = []
        static: dict[str, str] = {}
        for raw_set in spec.split(";"):
            names: list[str] = []
            for part in (p.strip() for p in raw_set.split(",")):
                if not part:
                    continue
                name, sep, value = part.partition("=")
                name = name.strip()
                if sep:
                    _check_dimension(name, value.strip())
                    static[name] = value.strip()
                elif name not in KNOWN_DIMENSIONS:
                    raise MetricsConfigError(
                        f"{DIMENSIONS_ENV}: unknown dimension {name!r}; use one of "
                        f"{', '.join(KNOWN_DIMENSIONS)} or Key=Value for a fixed value"
                    )
                if name not in names:
                    names.append(name)
            if len(names) > EMF_MAX_DIMENSIONS_PER_SET:
                raise MetricsConfigError(f"{DIMENSIONS_ENV}: a dimension set has more than "
                                         f"{EMF_MAX_DIMENSIONS_PER_SET} dimensions")
            sets.append(tuple(names))
        return cls(ns, tuple(sets), tuple(static.items()), enabled)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsConfig:
        raw = settings.get(METRICS_ENABLED_ENV, environ) or settings.default(METRICS_ENABLED_ENV)
        enabled = raw.strip().lower() not in {"0", "false", "no", "off"}
        return cls.parse(settings.get(NAMESPACE_ENV, environ),
                         settings.get(DIMENSIONS_ENV, environ), enabled)


def _check_dimension(name: str, value: str) -> None:
    if not name or not name.isascii() or name.startswith(":") or len(
        name
    ) > EMF_MAX_DIMENSION_NAME:
        raise MetricsConfigError(f"{DIMENSIONS_ENV}: invalid dimension name {name!r}")
    if not value.strip() or not value.isascii() or len(value) > EMF_MAX_DIMENSION_VALUE:
        raise MetricsConfigError(f"{DIMENSIONS_ENV}: invalid value for dimension {name!r}")


def _dimension_value(value: str | None) -> str:
    """EMF dimension values are non-empty ASCII of at most 1024 characters."""
    text = (value or "").encode("ascii", "replace").decode("ascii").strip()
    return (text or "unknown")[:EMF_MAX_DIMENSION_VALUE]


def invocation_metrics(record: InvocationRecord) -> list[tuple[str, float, str]]:
    """(name, value, unit) for one invocation; metrics without a value are left out."""
    s = record.summary
    candidates: list[tuple[str, Any, str]] = [
        ("Samples", record.samples, "Count"),
        ("FailedSamples", s.get("failed_samples", 0), "Count"),
        ("GatedSamples", s.get("gated_samples", 0), "Count"),
        ("JudgeCalls", s.get("judge_calls", 0), "Count"),
        ("JudgeFailures", s.get("judge_failures", 0), "Count"),
        ("CacheHits", s.get("cache_hits", 0), "Count"),
        ("DeduplicatedJudgeCalls", s.get("deduplicated", 0), "Count"),
        ("InputTokens", s.get("input_tokens", 0), "Count"),
        ("OutputTokens", s.get("output_tokens", 0), "Count"),
        ("EstimatedCostUSD", s.get("cost_usd", 0.0), "None"),
        ("JudgeLatencyP50", s.get("judge_latency_p50_ms"), "Milliseconds"),
        ("JudgeLatencyP95", s.get("judge_latency_p95_ms"), "Milliseconds"),
        ("RewardMean", s.get("reward_mean"), "None"),
        ("RewardStd", s.get("reward_std"), "None"),
        ("Duration", record.elapsed_ms, "Milliseconds"),
        ("DeadlineHit", 1 if s.get("deadline_hit") else 0, "Count"),
        ("ColdStart", 1 if record.cold_start else 0, "Count"),
        ("InitDuration", record.init_ms if record.cold_start else None, "Milliseconds"),
        ("PackUnavailable", 1 if record.pack_error else 0, "Count"),
        ("EventRejected", 1 if record.event_error else 0, "Count"),
        ("EngineError", 1 if record.engine_error else 0, "Count"),
        # Judge components that could not run at all: the rewards came from the checks.
        ("JudgeUnavailable", len(record.judge_outages), "Count"),
        # Threads abandoned after a synchronous call overran, still running (issue 10):
        # a steady rise means a check that never returns; Unhealthy means work is refused.
        ("AbandonedWorkers", s.get("abandoned_workers", 0), "Count"),
        ("WorkersUnhealthy", 1 if s.get("workers_unhealthy") else 0, "Count"),
        # Samples a judge's cost budget degraded, every path (plugins/judges/budget.py).
        ("BudgetDegraded", budget_degraded(s), "Count"),
    ]
    if record.budget_ms and record.budget_ms > 0:
        used = 100.0 * min(record.elapsed_ms / record.budget_ms, 10.0)
        candidates.append(("BudgetUsedPercent", used, "Percent"))
    # Counted once each (issue 14): Failures.<kind> what reached samples (the engine),
    # JudgeCallFailures.<kind> failed judge calls (the backends; JudgeFailures is their sum).
    failures = s.get("failures") or {}
    for kind in sorted(failures):
        candidates.append((f"Failures.{kind}"[:EMF_MAX_METRIC_NAME], failures[kind], "Count"))
    calls = s.get("judge_call_failures") or {}
    for kind in sorted(calls):
        candidates.append((f"JudgeCallFailures.{kind}"[:EMF_MAX_METRIC_NAME], calls[kind],
                           "Count"))
    metrics: list[tuple[str, float, str]] = []
    for name, value, unit in candidates:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            metrics.append((name, float(value), unit))
    return metrics[:EMF_MAX_METRICS]


def budget_degraded(summary: Mapping[str, Any]) -> int | None:
    """Samples degraded by a judge's cost budget in the batch, summed over the judge
    components (``judge_stats.<id>.budget_degraded``: a 0/1 statistic per sample, its
    count ``n`` and ``mean``), whatever the path: judged by the cheaper judge or on fewer
    criteria, or left unjudged (checks only, the group's mean). None (the metric is left
    out) when no judge of the pack has a budget."""
    stats = summary.get("judge_stats")
    total: int | None = None
    if isinstance(stats, Mapping):
        for per_component in stats.values():
            entry = per_component.get("budget_degraded") if isinstance(
                per_component, Mapping) else None
            if isinstance(entry, Mapping):
                n, mean = entry.get("n"), entry.get("mean")
                if isinstance(n, int | float) and isinstance(mean, int | float) and \
                        math.isfinite(n * mean):
                    total = (total or 0) + round(n * mean)
    return total


def emf_document(record: InvocationRecord, config: MetricsConfig,
                 timestamp_ms: int | None = None) -> dict[str, Any]:
    """One EMF document for the invocation (the spec's root node, ready to print)."""
    metrics = invocation_metrics(record)
    known = {
        "FunctionName": record.function_name,
        "FunctionVersion": record.function_version,
        "Pack": record.pack_name or "unloaded",
        "PackVersion": record.pack_version,
        "PackHash": record.pack_hash,
    }
    root: dict[str, Any] = {}
    for dim_set in config.dimension_sets:
        for name in dim_set:
            if name in known:
                root[name] = _dimension_value(known[name])
    root.update(config.static_dimensions)
    root["_aws"] = {
        "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": config.namespace,
            "Dimensions": [list(s) for s in config.dimension_sets],
            "Metrics": [{"Name": name, "Unit": unit} for name, _, unit in metrics],
        }],
    }
    for name, value, _ in metrics:
        root[name] = value
    if record.request_id:
        root["RequestId"] = record.request_id  # searchable in Logs Insights; not a dimension
    return root


def emit_emf(record: InvocationRecord, config: MetricsConfig, *,
             stream: TextIO | None = None) -> None:
    """Print the EMF document as one line on stdout (Lambda ships it to CloudWatch)."""
    if not config.enabled:
        return
    out = stream or sys.stdout
    out.write(json.dumps(emf_document(record, config), separators=(",", ":")) + "\n")
    out.flush()
