"""Where one judge call's CPU goes: the Lambda handler with one rubric judge, profiled in
every thread (event loop and worker threads), against a Converse simulator in its own
process.

Prints CPU ms per call (this process, all threads) and the functions with the most own
CPU time (``time.thread_time``, so waiting is not counted), summed over threads. Usage::

    .venv/bin/python bench/judge_profile.py [--calls 1000] [--concurrency 100] [--top 25]

To profile older code, put its ``src`` first on ``PYTHONPATH`` (e.g. a ``git archive`` of
the commit), with this file run from the worktree.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from judge_throughput import Rewardsmith, samples

from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.loadtest import SimulatorProcess

_profiles: list[cProfile.Profile] = []


def _start_thread_profile(*_: Any) -> None:
    # Called on a new thread's first event: hand the thread to its own profiler.
    profile = cProfile.Profile(time.thread_time)  # CPU of this thread, not wall time
    _profiles.append(profile)
    profile.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true")
    with tempfile.TemporaryDirectory() as tmp, \
            SimulatorProcess("bedrock", FaultPolicy(latency_s=args.latency, seed=1)) as sim:
        contender = Rewardsmith(Path(tmp))
        contender.init(sim.endpoint_url, args.concurrency)
        contender.invoke(samples(args.concurrency, "warm-up"))  # threads and pools up
        cpu = time.process_time()
        unprofiled = contender.invoke(samples(args.calls, "plain"))
        cpu_ms = (time.process_time() - cpu) * 1000 / args.calls
        # Profile: the threads that exist already get it through sys.setprofile on the
        # main thread only, so start fresh ones (a new handler) after setprofile.
        contender.close()
        threading.setprofile(_start_thread_profile)
        main_profile = cProfile.Profile(time.thread_time)
        main_profile.enable()
        contender = Rewardsmith(Path(tmp))
        contender.init(sim.endpoint_url, args.concurrency)
        contender.invoke(samples(args.concurrency, "warm-up-2"))
        answered = contender.invoke(samples(args.calls, "profiled"))
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        contender.close()
    stats = pstats.Stats(main_profile)
    for profile in _profiles:
        profile.disable()
        with contextlib.suppress(TypeError):  # a thread that never ran Python code
            stats.add(profile)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(args.top)
    # Where the whole path's CPU goes, by stage (cumulative, so stages nest).
    stats.sort_stats("cumulative").print_stats(
        r"(_make_api_call|_converse_sync|_base.py.*complete|_resilience.py.*run|"
        r"engine.py.*(_call|_score|ascore)|judge_cache.py.*complete|rubric_judge.py.*score|"
        r"_verdict|verdict_schema|backend_pool|runtime.py.*_invoke|wire.py|"
        r"sign|add_auth|_send_request|_do_get_response|parsers.py.*parse\b|"
        r"validate.py.*validate\b|serialize.py.*serialize_to_request|http_session.py.*send|"
        r"base_events.py.*_run_once|run_in_executor|thread.py.*run)")
    print(f"CPU per call (unprofiled run): {cpu_ms:.3f} ms; answered {unprofiled}/{args.calls}"
          f" and {answered}/{args.calls}")
    print(out.getvalue())


if __name__ == "__main__":
    main()
