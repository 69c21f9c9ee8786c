"""Prometheus metrics of the reward server, on a registry of its own per app (two servers
in one process never share counters), exposed at ``GET /metrics`` in the text format of
``prometheus_client.generate_latest`` (prometheus-client 0.26)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from rewardsmith.core.pack import Pack
    from rewardsmith.core.results import BatchResult

_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)


class ServerMetrics:
    """Every metric the server exports (names start ``rewardsmith_serve_``):

    ``requests_total{route,code}``, ``request_duration_seconds{route}`` (histogram),
    ``rejected_total{reason}`` (overloaded, too_large, body_timeout, client_disconnected,
    unauthorized, malformed, shutting_down),
    ``inflight_requests`` (gauge) and ``max_inflight_requests``, ``samples_total{status}`` (ok,
    gated, failed), ``batches_total``, ``batch_samples`` (histogram), ``deadline_hits_total``,
    ``engine_overruns_total``, ``component_failures_total{component,kind}``,
    ``judge_unavailable_total{component,kind}`` (batches in which a judge could not run at
    all), ``judge_calls_total``, ``judge_tokens_total{direction}``, ``judge_cost_usd_total``
    and ``pack_info{name,version,hash}``.
    """

    def __init__(self, pack: Pack, max_inflight: int) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("rewardsmith_serve_requests", "HTTP requests answered.",
                                ["route", "code"], registry=r)
        self.duration = Histogram("rewardsmith_serve_request_duration_seconds",
                                  "Time from request to answer.", ["route"], registry=r)
        self.rejected = Counter("rewardsmith_serve_rejected", "Requests refused before scoring.",
                                ["reason"], registry=r)
        self.inflight = Gauge("rewardsmith_serve_inflight_requests",
                              "Scoring requests admitted and not yet answered.", registry=r)
        Gauge("rewardsmith_serve_max_inflight_requests",
              "Admission limit; beyond it requests get 503.", registry=r).set(max_inflight)
        self.samples = Counter("rewardsmith_serve_samples", "Samples scored, by status.",
                               ["status"], registry=r)
        self.batches = Counter("rewardsmith_serve_batches", "Engine batches run.", registry=r)
        self.batch_samples = Histogram("rewardsmith_serve_batch_samples", "Samples per batch.",
                                       buckets=_BATCH_SIZES, registry=r)
        self.deadline_hits = Counter("rewardsmith_serve_deadline_hits",
                                     "Batches cut short by their deadline.", registry=r)
        self.overruns = Counter("rewardsmith_serve_engine_overruns",
                                "Batches the engine did not return in time (or raised); every "
                                "sample got the failure reward.", registry=r)
        self.component_failures = Counter("rewardsmith_serve_component_failures",
                                          "Component failures, by component and kind.",
                                          ["component", "kind"], registry=r)
        self.judge_unavailable = Counter("rewardsmith_serve_judge_unavailable",
                                         "Batches in which a judge component could not run at "
                                         "all.", ["component", "kind"], registry=r)
        self.judge_calls = Counter("rewardsmith_serve_judge_calls", "Judge calls made.",
                                   registry=r)
        self.judge_tokens = Counter("rewardsmith_serve_judge_tokens", "Judge tokens.",
                                    ["direction"], registry=r)
        self.judge_cost = Counter("rewardsmith_serve_judge_cost_usd", "Judge cost in USD.",
                                  registry=r)
        info = Gauge("rewardsmith_serve_pack_info", "The pack being served.",
                     ["name", "version", "hash"], registry=r)
        info.labels(pack.name, pack.version, pack.hash).set(1)

    def record_batch(self, batch: BatchResult) -> None:
        """Count one engine batch: samples by status, failures, judge use and outages."""
        self.batches.inc()
        self.batch_samples.observe(len(batch.results))
        for result in batch.results:
            self.samples.labels(result.status).inc()
        if batch.deadline_hit:
            self.deadline_hits.inc()
        telemetry = batch.telemetry
        for cid, kinds in telemetry.component_failures.items():
            for kind, count in kinds.items():
                self.component_failures.labels(cid, str(kind)).inc(count)
        for outage in telemetry.judge_unavailable.values():
            self.judge_unavailable.labels(outage.component, str(outage.kind)).inc()
        self.judge_calls.inc(telemetry.judge_calls)
        self.judge_tokens.labels("input").inc(telemetry.input_tokens)
        self.judge_tokens.labels("output").inc(telemetry.output_tokens)
        self.judge_cost.inc(max(telemetry.cost_usd, 0.0))

    def record_overrun(self, samples: int) -> None:
        self.overruns.inc()
        self.samples.labels("failed").inc(samples)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
