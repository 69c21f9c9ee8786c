"""Where a judged invocation's time goes: the send and reply instant of every Converse call
on the loop thread, and the handler's phases, for the first and two warm invocations of
``bench/judge_throughput.py``'s rewardsmith contender (or its hand-written Lambda).

Issue 13 instrumentation: in-flight calls per 0.5 s, the latency of the first 100 calls,
mean latency by the instant a call was sent, and when the engine's phases ran (ms from the
handler call, duration). Wraps ``ConverseHttp.converse`` and a few methods in this process
only; nothing in ``src`` changes.

Usage::

    .venv/bin/python bench/judge_inflight.py                 # C=100, L=0.5 s, 2,000 calls
    .venv/bin/python bench/judge_inflight.py --hand-written
    .venv/bin/python bench/judge_inflight.py --throttle-rate 0.2 --invocations 1
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Span = tuple[float, float]
CALLS: list[Span] = []
PHASES: dict[str, list[Span]] = {}


def _timed(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            PHASES.setdefault(label, []).append((started, time.perf_counter()))

    setattr(owner, name, wrapper)


def _instrument() -> None:
    from rewardsmith.aws_lambda import budget, runtime
    from rewardsmith.core import engine, finish_costs
    from rewardsmith.plugins.backends import _converse_http

    converse = _converse_http.ConverseHttp.converse

    async def recorded(self: Any, body: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return await converse(self, body)
        finally:
            CALLS.append((started, time.perf_counter()))

    _converse_http.ConverseHttp.converse = recorded  # type: ignore[method-assign]
    _timed(budget.AnswerCosts, "probe_rows", "probe_rows")
    _timed(budget.AnswerCosts, "probe_encoding", "probe_encoding")
    _timed(finish_costs.FinishCosts, "probe", "probe_finish")
    _timed(runtime.RewardHandler, "_rows", "rows")
    _timed(engine.Scorer, "_finish", "finish")


def _report(label: str, start: float, end: float, calls: list[Span]) -> None:
    calls = sorted(calls)
    wall = end - start
    latency = [b - a for a, b in calls]
    print(f"{label}: wall {wall:.3f} s, {len(calls)} calls, first send "
          f"+{(calls[0][0] - start) * 1000:.0f} ms, last reply "
          f"+{(max(b for _, b in calls) - start) * 1000:.0f} ms, latency p50 "
          f"{statistics.median(latency) * 1000:.0f} ms, max {max(latency) * 1000:.0f} ms")
    buckets = range(int(wall / 0.5) + 1)
    print("  in flight per 0.5 s:", [
        round(sum(max(0.0, min(b, start + k * 0.5 + 0.5) - max(a, start + k * 0.5))
                  for a, b in calls) / 0.5) for k in buckets])
    print("  mean latency (ms) by send instant, per 0.5 s:", [
        round(statistics.fmean(lat) * 1000) if (lat := [
            b - a for a, b in calls if start + k * 0.5 <= a < start + k * 0.5 + 0.5]) else 0
        for k in buckets])
    print("  first 100 calls' latency (ms, every 10th):",
          sorted(round((b - a) * 1000) for a, b in calls[:100])[::10])
    print("  phases (ms from the call, ms long):",
          {k: [(round((a - start) * 1000), round((b - a) * 1000)) for a, b in v]
           for k, v in PHASES.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--invocations", type=int, default=3)
    parser.add_argument("--hand-written", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true", REWARDSMITH_LOG_LEVEL="warning",
                      REWARDSMITH_METRICS="0")
    import judge_throughput as bench  # a sibling: bench/ is sys.path[0]

    from rewardsmith.simulators.faults import FaultPolicy
    from rewardsmith.simulators.loadtest import SimulatorProcess
    _instrument()
    policy = FaultPolicy(latency_s=args.latency, throttle_rate=args.throttle_rate, seed=1)
    with tempfile.TemporaryDirectory() as tmp, SimulatorProcess("bedrock", policy) as sim:
        if args.hand_written:
            contender = bench.HandWritten()
            contender.init(sim.endpoint_url, args.concurrency)
            converse = contender.client.converse

            def recorded(**kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return converse(**kwargs)
                finally:
                    CALLS.append((started, time.perf_counter()))

            contender.client.converse = recorded
        else:
            contender = bench.Rewardsmith(Path(tmp))
            contender.init(sim.endpoint_url, args.concurrency)
        for n in range(args.invocations):
            CALLS.clear()
            PHASES.clear()
            label = "first" if n == 0 else f"warm {n}"
            start = time.perf_counter()
            contender.invoke(bench.samples(args.calls, label.replace(" ", "")))
            _report(label, start, time.perf_counter(), list(CALLS))
        contender.close()


if __name__ == "__main__":
    main()
