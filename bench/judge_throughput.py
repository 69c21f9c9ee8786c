"""Judge-backend throughput: can the bedrock backend keep 100 judge calls in flight?

The Converse simulator runs in its own process (as the real service is remote, it must not
compete for this process's GIL) with a fixed model latency. Three runs, same process:

1. baseline: a bare boto3 client on a 100-thread pool, no framework — what boto3 itself
   achieves on this machine;
2. backend: the same number of distinct judge requests through ``BackendPool`` → the
   ``bedrock`` backend (structured verdict via forced tool use, validation, telemetry,
   dedup wrapper) with ``max_concurrency`` = concurrency;
3. backend with throttling: the simulator throttles a fraction of requests at random;
   every call must still be answered (botocore's retries plus the framework's);
4. the ``openai`` backend (httpx, one event loop, no threads) against the OpenAI
   simulator, same latency and concurrency.

Ideal calls/s = concurrency / latency. Usage::

    .venv/bin/python bench/judge_throughput.py                 # 2,000 calls, 0.5 s, 100
    .venv/bin/python bench/judge_throughput.py --calls 500 --latency 0.2 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judge import BackendPool, JudgeRequest
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.plugins.backends import bedrock, openai
from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.loadtest import SimulatorProcess

MODEL = "openai.gpt-oss-120b-1:0"
SCHEMA = {
    "type": "object",
    "properties": {"passed": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["passed", "reason"],
    "additionalProperties": False,
}


def baseline(url: str, calls: int, concurrency: int) -> float:
    import boto3
    from botocore.config import Config

    client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                          config=Config(max_pool_connections=concurrency,
                                        retries={"total_max_attempts": 1}))
    body = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "warm-up"}]}]}
    client.converse(**body)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: client.converse(**{**body, "messages": [
            {"role": "user", "content": [{"text": f"candidate {i}"}]}]}), range(calls)))
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def simulator(kind: str, latency: float, throttle_rate: float = 0.0) -> SimulatorProcess:
    return SimulatorProcess(kind, FaultPolicy(latency_s=latency, throttle_rate=throttle_rate,
                                              seed=1))


async def through_backend(url: str, calls: int, concurrency: int,
                          **settings: Any) -> dict[str, Any]:
    host = make_plugin_host(load_entry_points=False,
                            plugins=[("bedrock", bedrock), ("openai", openai)])
    pool = BackendPool(host)
    target = ({"backend": "openai", "model": "sim-judge", "base_url": url + "/v1"}
              if settings.pop("openai", False) else
              {"backend": "bedrock", "model": MODEL, "endpoint_url": url, "region": "us-east-1"})
    backend = pool.get({**target, "max_concurrency": concurrency, "cache_path": "",
                        **settings})
    await backend.complete(JudgeRequest("grade", "warm-up", SCHEMA))  # client + pool warm
    telemetry = BatchTelemetry()
    token = bind_telemetry(telemetry)
    requests = [JudgeRequest("You grade.", f"candidate {i}", SCHEMA) for i in range(calls)]
    started = time.perf_counter()
    results = await asyncio.gather(*(backend.complete(r) for r in requests),
                                   return_exceptions=True)
    elapsed = time.perf_counter() - started
    unbind_telemetry(token)
    await pool.aclose()
    failures: dict[str, int] = {}
    attempts = 0
    for result in results:
        if isinstance(result, ComponentError):
            failures[result.kind] = failures.get(result.kind, 0) + 1
        elif isinstance(result, BaseException):
            failures[type(result).__name__] = failures.get(type(result).__name__, 0) + 1
        else:
            attempts += result.extra.get("attempts", 1)
    return {
        "elapsed_s": elapsed,
        "answered": calls - sum(failures.values()),
        "failures": failures,
        "framework_attempts": attempts,
        "p50_ms": telemetry.latency_percentile(0.5),
        "p95_ms": telemetry.latency_percentile(0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--throttle-rate", type=float, default=0.2)
    parser.add_argument("--boto-max-attempts", type=int, default=3,
                        help="botocore's own attempts for the throttled run (1 leaves every "
                        "retry to the framework, whose backoff sleeps outside the slot).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true")
    ideal = args.concurrency / args.latency

    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    with simulator("bedrock", args.latency) as sim:
        base_s = baseline(sim.endpoint_url, args.calls, args.concurrency)
        clean = asyncio.run(through_backend(sim.endpoint_url, args.calls, args.concurrency))
    with simulator("bedrock", args.latency, args.throttle_rate) as sim:
        throttled = asyncio.run(through_backend(sim.endpoint_url, args.calls, args.concurrency,
                                                boto_max_attempts=args.boto_max_attempts))
    with simulator("openai", args.latency) as sim:
        via_openai = asyncio.run(through_backend(sim.endpoint_url, args.calls,
                                                 args.concurrency, openai=True))
    openai_rate = args.calls / via_openai["elapsed_s"]

    base_rate = args.calls / base_s
    clean_rate = args.calls / clean["elapsed_s"]
    report = {
        "calls": args.calls, "latency_s": args.latency, "concurrency": args.concurrency,
        "ideal_calls_per_s": ideal,
        "baseline_boto3": {"elapsed_s": round(base_s, 3), "calls_per_s": round(base_rate, 1),
                           "fraction_of_ideal": round(base_rate / ideal, 3)},
        "backend": {**clean, "calls_per_s": round(clean_rate, 1),
                    "fraction_of_ideal": round(clean_rate / ideal, 3),
                    "fraction_of_baseline": round(clean_rate / base_rate, 3)},
        "openai_backend": {**via_openai, "calls_per_s": round(openai_rate, 1),
                           "fraction_of_ideal": round(openai_rate / ideal, 3)},
        "backend_throttled": {**throttled, "throttle_rate": args.throttle_rate,
                              "answered_per_s": round(throttled["answered"]
                                                      / throttled["elapsed_s"], 1)},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"ideal {ideal:.0f} calls/s ({args.concurrency} in flight / {args.latency} s), "
          f"{args.calls} calls")
    print(f"baseline boto3 threads : {base_rate:7.1f} calls/s = {base_rate / ideal:.3f} of "
          f"ideal ({base_s:.2f} s)")
    print(f"bedrock backend        : {clean_rate:7.1f} calls/s = {clean_rate / ideal:.3f} of "
          f"ideal, {clean_rate / base_rate:.3f} of baseline ({clean['elapsed_s']:.2f} s, "
          f"p50 {clean['p50_ms']:.0f} ms, p95 {clean['p95_ms']:.0f} ms, "
          f"failures {clean['failures'] or 'none'})")
    print(f"openai backend (httpx) : {openai_rate:7.1f} calls/s = {openai_rate / ideal:.3f} of "
          f"ideal ({via_openai['elapsed_s']:.2f} s, p50 {via_openai['p50_ms']:.0f} ms, "
          f"p95 {via_openai['p95_ms']:.0f} ms, failures {via_openai['failures'] or 'none'})")
    print(f"with {args.throttle_rate:.0%} throttling (boto_max_attempts="
          f"{args.boto_max_attempts}): {throttled['answered']}/{args.calls} "
          f"answered in {throttled['elapsed_s']:.2f} s "
          f"({report['backend_throttled']['answered_per_s']} answered/s, p50 "
          f"{throttled['p50_ms']:.0f} ms, p95 {throttled['p95_ms']:.0f} ms, failures "
          f"{throttled['failures'] or 'none'})")


if __name__ == "__main__":
    main()
