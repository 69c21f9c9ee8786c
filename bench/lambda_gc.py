"""Full GC collections during a reward-Lambda invocation (issue 13), on and off in one run.

    .venv/bin/python bench/lambda_gc.py [--rounds 2] [--checks-samples 100000]
                                        [--judged-calls 2000]

Each round runs, in fresh subprocesses alternating "off" (the handler's
``_no_full_collections`` replaced by ``contextlib.nullcontext()``: every collection as
CPython schedules it) and "on" (the shipped handler):

* ``checks``: ``bench/lambda_scale.py``'s pack of three checks through ``make_handler``,
  two invocations of ``--checks-samples`` samples with a 60 s context; wall time of each
  and the peak RSS (``ru_maxrss``) of the process.
* ``judged``: ``bench/judge_throughput.py``'s rewardsmith contender (one rubric judge,
  C=100, L=0.5 s) against the Converse simulator, a first and a warm invocation of
  ``--judged-calls`` samples; wall time and the time spent in collections
  (``gc.callbacks``), all and full (generation 2) only.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _gc_timer() -> dict[str, float]:
    spent = {"all_ms": 0.0, "full_ms": 0.0}
    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            ms = (time.perf_counter() - started[0]) * 1000
            spent["all_ms"] += ms
            if info["generation"] == 2:
                spent["full_ms"] += ms

    gc.callbacks.append(callback)
    return spent


def _checks(samples: int) -> dict[str, Any]:
    from rewardsmith.aws_lambda import make_handler

    pack = Path(tempfile.mkdtemp()) / "pack.toml"
    import lambda_scale  # a sibling: bench/ is sys.path[0]

    pack.write_text(lambda_scale.PACK, encoding="utf-8")
    handler = make_handler(str(pack))
    handler.warm()

    class Context:
        def __init__(self) -> None:
            self.end = time.monotonic() + 60

        def get_remaining_time_in_millis(self) -> int:
            return int((self.end - time.monotonic()) * 1000)

    batch = [{"id": f"s{i}", "messages": [
        {"role": "user", "content": "Give JSON"},
        {"role": "assistant", "content": json.dumps({"a": i, "b": "text text text"})}]}
        for i in range(samples)]
    walls = []
    for _ in range(2):
        started = time.perf_counter()
        handler(batch, Context())
        walls.append(round(time.perf_counter() - started, 3))
    return {"wall_s": walls,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def _judged(calls: int) -> dict[str, Any]:
    import judge_throughput as throughput  # a sibling: bench/ is sys.path[0]

    from rewardsmith.simulators.faults import FaultPolicy
    from rewardsmith.simulators.loadtest import SimulatorProcess
    spent = _gc_timer()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, \
            SimulatorProcess("bedrock", FaultPolicy(latency_s=0.5, seed=1)) as sim:
        contender = throughput.Rewardsmith(Path(tmp))
        contender.init(sim.endpoint_url, 100)
        for label in ("first", "warm"):
            spent.update(all_ms=0.0, full_ms=0.0)
            started = time.perf_counter()
            contender.invoke(throughput.samples(calls, label))
            out[label] = {"wall_s": round(time.perf_counter() - started, 3),
                          "gc_ms": round(spent["all_ms"], 1),
                          "full_gc_ms": round(spent["full_ms"], 1)}
        contender.close()
    return out


def _child(mode: str, kind: str, size: int) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true", REWARDSMITH_LOG_LEVEL="warning",
                      REWARDSMITH_METRICS="0")
    from rewardsmith.aws_lambda import runtime

    if mode == "off":
        runtime._no_full_collections = contextlib.nullcontext()  # type: ignore[assignment]
    result = _checks(size) if kind == "checks" else _judged(size)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--checks-samples", type=int, default=100_000)
    parser.add_argument("--judged-calls", type=int, default=2000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for kind, size in (("checks", args.checks_samples), ("judged", args.judged_calls)):
        for n in range(args.rounds):
            for mode in ("off", "on"):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, kind, str(size)],
                    capture_output=True, text=True, check=True)
                print(f"{kind} round {n + 1} {mode}: {done.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
