"""A throttling burst and a dead judge, end to end (issue 9, cases F3 and F1).

1. burst: the built-in ``rubric-judge`` on the ``bedrock`` backend (a real boto3 client,
   default retry settings) against the Converse simulator scripted to throttle every call
   for ``--burst`` seconds, then answer; ``--samples`` samples under a ``--deadline``.
   Reports how many samples were judged, how many throttled responses the simulator
   served, how many attempts the backend retried, and whether the circuit breaker opened.
2. dead: the same pack pointed at a closed localhost port (connection refused), default
   settings, no deadline: how long until the batch reports the judge as unavailable, and
   with what cause.

Usage::

    .venv/bin/python bench/throttle_burst.py               # 5 runs of each
    .venv/bin/python bench/throttle_burst.py --runs 3 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared test pack

from tests.support.judged_pack import write_judged_pack

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.simulators.converse_sim import ConverseSimulator

MODEL = "openai.gpt-oss-120b-1:0"


def _pack(folder: Path, endpoint_url: str) -> Path:
    return write_judged_pack(folder, {"backend": "bedrock", "model": MODEL,
                                      "region": "us-east-1", "endpoint_url": endpoint_url})


def _samples(count: int) -> list[dict[str, Any]]:
    return [{"id": f"s{i}", "messages": [
        {"role": "user", "content": f"Question {i}?"},
        {"role": "assistant", "content": f"Thank you for asking, here is answer {i}. [[PASS]]"},
    ]} for i in range(count)]


async def burst(samples: int, seconds: float, deadline_s: float) -> dict[str, Any]:
    with ConverseSimulator() as sim, tempfile.TemporaryDirectory() as folder:
        scorer = Scorer(load_pack(str(_pack(Path(folder), sim.endpoint_url)),
                                  make_plugin_host()))
        sim.outage("throttle", seconds)
        try:
            batch = await scorer.ascore(_samples(samples), timeout_s=deadline_s)
            backend = next(iter(scorer.pack.backends._backends.values())).inner
        finally:
            await scorer.aclose()
        faults = sim.faults_served()
    return {
        "judged": sum(r.components["review"].error is None for r in batch.results),
        "failed_samples": batch.summary()["failed_samples"],
        "throttled_responses": faults.get("throttle", 0),
        "retried_attempts": dict(batch.telemetry.judge_retries),
        "breaker_opened": backend.resilience.breaker.times_opened,
        "elapsed_s": round(batch.elapsed_s, 2),
    }


async def dead(samples: int) -> dict[str, Any]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        scorer = Scorer(load_pack(str(_pack(Path(folder), f"http://127.0.0.1:{port}")),
                                  make_plugin_host()))
        try:
            batch = await scorer.ascore(_samples(samples))
        finally:
            await scorer.aclose()
    outage = batch.telemetry.judge_unavailable.get("review")
    return {"elapsed_s": round(batch.elapsed_s, 2),
            "reported": None if outage is None else outage.kind,
            "cause": None if outage is None else outage.cause[:160]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--burst", type=float, default=3.0, help="seconds of throttling")
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--dead-samples", type=int, default=256)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Dummy credentials for the simulator; no profile, no instance metadata.
    os.environ.update(AWS_ACCESS_KEY_ID="AKIASIMULATOR000000",
                      AWS_SECRET_ACCESS_KEY="simulator-secret", AWS_EC2_METADATA_DISABLED="true")
    bursts = [asyncio.run(burst(args.samples, args.burst, args.deadline))
              for _ in range(args.runs)]
    deads = [asyncio.run(dead(args.dead_samples)) for _ in range(args.runs)]
    report = {"burst": bursts, "dead": deads,
              "burst_median_elapsed_s": statistics.median(b["elapsed_s"] for b in bursts),
              "dead_median_elapsed_s": statistics.median(d["elapsed_s"] for d in deads)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for run in bursts:
        print("burst", json.dumps(run))
    for run in deads:
        print("dead ", json.dumps(run))
    print(f"median: burst {report['burst_median_elapsed_s']} s, "
          f"dead judge reported after {report['dead_median_elapsed_s']} s")


if __name__ == "__main__":
    main()
