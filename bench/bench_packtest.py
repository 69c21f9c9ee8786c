"""What a cassette replay saves over running a suite against the judge simulator.

Runs the contract-review suite (27 cases, every judge call over loopback HTTP to an
in-process Converse simulator with zero model latency) and its replay from a cassette
recorded in the same run, interleaved, REPS times each; reports medians and the ratio.
The simulator has no model latency, so the ratio is a floor on what replay saves against
a real judge (where each call costs seconds).

    .venv/bin/python bench/bench_packtest.py [REPS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.packtest.loading import load_pack_suite
from rewardsmith.packtest.runner import run_suite


def main(reps: int) -> None:
    os.environ.update(AWS_EC2_METADATA_DISABLED="true")
    host = make_plugin_host()
    cases, _ = load_pack_suite(load_pack("contract-review", host))
    with tempfile.TemporaryDirectory() as tmp:
        cassette = Path(tmp) / "cr.jsonl"
        run_suite(load_pack("contract-review", host), cases, backend="simulator",
                  record=cassette)
        times: dict[str, list[float]] = {"simulator": [], "replay": []}
        for _ in range(reps):
            for mode in ("simulator", "replay"):
                pack = load_pack("contract-review", host)
                started = time.perf_counter()
                report = (run_suite(pack, cases, backend="simulator") if mode == "simulator"
                          else run_suite(pack, cases, replay=cassette))
                times[mode].append(time.perf_counter() - started)
                assert report.passed, mode
    sim, rep = (statistics.median(times[m]) for m in ("simulator", "replay"))
    print(f"cases {len(cases)}, reps {reps}")
    print("| run | median s | ratio to replay |\n|---|---:|---:|")
    print(f"| simulator (loopback HTTP, boto3) | {sim:.3f} | {sim / rep:.2f} |")
    print(f"| replay from cassette (baseline) | {rep:.3f} | 1.00 |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
