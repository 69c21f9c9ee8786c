"""Detection delay and false alarms of the monitor's default rules on synthetic runs.

    .venv/bin/python bench/monitor_detection.py [--seeds 10] [--steps 30]

For each seed: one clean run of ``--steps`` steps (alarms counted: every one is false),
and for each signature of ``tests/support/monitor_runs`` a run with it injected at step
10 (ramping in over three steps); the figure is the delay from the injection to the
first alarm of that signature (0 = flagged at the injection step), and whether any alarm
fired before the injection. Each step is 16 prompts x 8 rollouts scored by the real
engine. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.monitor_runs import SIGNATURES, write_run

from rewardsmith.monitor import monitor

INJECT_AT = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    delays: dict[str, list[int | None]] = {s: [] for s in SIGNATURES}
    early: dict[str, int] = dict.fromkeys(SIGNATURES, 0)
    false_alarms = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            clean = monitor(write_run(Path(tmp) / f"clean-{seed}", steps=args.steps,
                                      seed=seed))
            false_alarms += len(clean.alarms)
            for sig in SIGNATURES:
                alarms = monitor(write_run(Path(tmp) / f"{sig}-{seed}", steps=INJECT_AT + 8,
                                           seed=seed, signature=sig,
                                           inject_at=INJECT_AT)).alarms
                mine = [a["step"] for a in alarms if a["signal"] == sig]
                delays[sig].append(mine[0] - INJECT_AT if mine else None)
                early[sig] += any(a["step"] < INJECT_AT for a in alarms)
    print(f"clean runs: {args.seeds} x {args.steps} steps, {false_alarms} alarm(s)\n")
    print("| signature | flagged | delay (steps) min / median / max | alarms before injection |")
    print("|---|---|---|---|")
    for sig in SIGNATURES:
        got = [d for d in delays[sig] if d is not None]
        spread = (f"{min(got)} / {statistics.median(got):g} / {max(got)}" if got else "-")
        print(f"| {sig} | {len(got)} / {len(delays[sig])} | {spread} | {early[sig]} |")


if __name__ == "__main__":
    main()
