"""Why a judged invocation's first wave of calls answers late: for each invocation of
``bench/judge_throughput.py``'s rewardsmith contender (C=100, L=0.5 s, 2,000 calls), the
span of the engine's launch, the connect and exchange (send to reply) of the first 100
Converse calls, the event loop's lag (a 2 ms timer on the scorer's loop) and the cyclic
GC's collections.

Issue 13 instrumentation, in this process only (wraps ``ConverseHttp._connect``,
``_exchange``, ``converse`` and ``Scorer._gate_and_launch``); nothing in ``src`` changes.
A late first wave with long connects and short exchanges is the handler's loop; long
exchanges are the simulator (it shares the box's CPU).

Usage::

    .venv/bin/python bench/judge_first_wave.py                  # first and one warm
    .venv/bin/python bench/judge_first_wave.py --invocations 1  # the first only
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Span = tuple[float, float]
SPANS: dict[str, list[Span]] = {"connect": [], "exchange": [], "converse": [], "launch": []}
LAG: list[tuple[float, float]] = []
COLLECTIONS: list[tuple[float, float, int]] = []
_MONITORS: dict[int, asyncio.Task[None]] = {}  # one lag monitor per scorer loop


def _spanned(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            SPANS[label].append((started, time.perf_counter()))

    setattr(owner, name, wrapper)


async def _lag_monitor() -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.002)
        LAG.append((started, time.perf_counter() - started - 0.002))


def _instrument() -> None:
    from rewardsmith.core import engine
    from rewardsmith.plugins.backends import _converse_http

    _spanned(_converse_http.ConverseHttp, "_connect", "connect")
    _spanned(_converse_http.ConverseHttp, "_exchange", "exchange")
    _spanned(_converse_http.ConverseHttp, "converse", "converse")
    _spanned(engine.Scorer, "_gate_and_launch", "launch")
    launch = engine.Scorer._gate_and_launch

    async def monitored(self: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        if id(loop) not in _MONITORS:
            _MONITORS[id(loop)] = loop.create_task(_lag_monitor())
        return await launch(self, *args, **kwargs)

    engine.Scorer._gate_and_launch = monitored  # type: ignore[method-assign]
    started: list[float] = []

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            COLLECTIONS.append((started[0], time.perf_counter(), int(info["generation"])))

    gc.callbacks.append(collected)


def _every_10th(values: list[float]) -> list[float]:
    return sorted(values)[::10]


def _report(label: str, start: float, end: float) -> None:
    def ms(t: float) -> int:
        return round((t - start) * 1000)

    first = sorted(SPANS["converse"])[:100]
    connects = sorted(SPANS["connect"])
    exchanges = sorted(SPANS["exchange"])[:100]
    print(f"{label}: wall {end - start:.3f} s; launch (ms from the call, ms long): "
          f"{[(ms(a), round((b - a) * 1000)) for a, b in SPANS['launch']]}")
    print("  first 100 calls' latency (ms, every 10th):",
          _every_10th([round((b - a) * 1000) for a, b in first]))
    print(f"  connects: {len(connects)}, ms long (every 10th):",
          _every_10th([round((b - a) * 1000, 1) for a, b in connects]),
          "done at (ms):", [ms(b) for _, b in connects][::10])
    print("  first 100 exchanges, ms long (every 10th):",
          _every_10th([round((b - a) * 1000) for a, b in exchanges]))
    print("  loop lag > 3 ms in the first 1.2 s (at ms, ms):",
          [(ms(t), round(lag * 1000, 1)) for t, lag in LAG
           if t - start < 1.2 and lag > 0.003])
    print(f"  GC: {len(COLLECTIONS)} collections, "
          f"{sum(b - a for a, b, _ in COLLECTIONS) * 1000:.0f} ms; over 1 ms (at ms, ms, "
          "generation):", [(ms(a), round((b - a) * 1000, 1), g) for a, b, g in COLLECTIONS
                           if b - a > 0.001])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true", REWARDSMITH_LOG_LEVEL="warning",
                      REWARDSMITH_METRICS="0")
    import judge_throughput as bench  # a sibling: bench/ is sys.path[0]

    from rewardsmith.simulators.faults import FaultPolicy
    from rewardsmith.simulators.loadtest import SimulatorProcess
    _instrument()
    with tempfile.TemporaryDirectory() as tmp, SimulatorProcess(
            "bedrock", FaultPolicy(latency_s=0.5, seed=1)) as sim:
        contender = bench.Rewardsmith(Path(tmp))
        contender.init(sim.endpoint_url, 100)
        for n in range(args.invocations):
            for spans in SPANS.values():
                spans.clear()
            LAG.clear()
            COLLECTIONS.clear()
            start = time.perf_counter()
            contender.invoke(bench.samples(2000, f"wave{n}"))
            _report("first" if n == 0 else f"warm {n}", start, time.perf_counter())
        contender.close()


if __name__ == "__main__":
    main()
