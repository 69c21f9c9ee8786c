"""Rows as samples finish (issue 14): when does the first row, and the median row, reach
the caller — streamed (``Scorer.stream``, what ``rewardsmith score`` writes from) against
the whole batch (``Scorer.score``, what ``score`` wrote from before)?

A slow judge in the shape of the issue's CPU judge: the bundled OpenAI-compatible simulator
with a fixed model latency L, ``[judge] max_concurrency = C``, one batch of N samples
(``score``'s default batch is 256), a pack with a length check and a rubric judge. The
figures are seconds after the batch was handed over; the ratio compares the two in the same
run (the box is shared and noisy: read ratios, not absolute times).

Usage::

    nice -n 10 .venv/bin/python bench/stream_first_row.py
    .venv/bin/python bench/stream_first_row.py --samples 64 --latency 0.1 --concurrency 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared test pack

from tests.support.judged_pack import write_judged_pack

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.simulators import OpenAISimulator
from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.wiring import openai_settings


def _samples(n: int, round_: int) -> list[dict[str, object]]:
    # distinct texts per round: no deduplication, no cache
    return [{"id": f"r{round_}-s{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": f"Of course, round {round_}, request {i}."}]}
        for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-simulator-dummy")
    with OpenAISimulator(faults=FaultPolicy(latency_s=args.latency)) as sim, \
            tempfile.TemporaryDirectory() as folder:
        judge = openai_settings(sim.base_url, max_concurrency=args.concurrency,
                                response_format="json_schema")
        path = write_judged_pack(Path(folder), judge)
        scorer = Scorer(load_pack(path, make_plugin_host()))
        scorer.score(_samples(4, -1))  # warm: connections, the loop thread
        figures: dict[str, list[tuple[float, float, float]]] = {"stream": [], "batch": []}
        for rep in range(args.reps):
            for how in ("stream", "batch") if rep % 2 == 0 else ("batch", "stream"):
                batch = _samples(args.samples, rep * 2 + (how == "batch"))
                started = time.perf_counter()
                if how == "stream":
                    seen = [time.perf_counter() - started for _ in scorer.stream(batch)]
                else:
                    scorer.score(batch)
                    seen = [time.perf_counter() - started] * args.samples
                figures[how].append((seen[0], statistics.median(seen), seen[-1]))
        scorer.close()
    ideal = args.samples * args.latency / args.concurrency
    print(f"N={args.samples} L={args.latency}s C={args.concurrency} (all rows ideally by "
          f"{ideal:.1f}s), median of {args.reps} reps, seconds after hand-over:")
    print(f"{'':8} {'first row':>10} {'median row':>11} {'last row':>9}")
    med = {how: [statistics.median(f[i] for f in rows) for i in range(3)]
           for how, rows in figures.items()}
    for how, (first, mid, last) in med.items():
        print(f"{how:8} {first:10.2f} {mid:11.2f} {last:9.2f}")
    print(f"ratio batch/stream: first row {med['batch'][0] / med['stream'][0]:.0f}x, "
          f"median row {med['batch'][1] / med['stream'][1]:.1f}x, "
          f"last row {med['batch'][2] / med['stream'][2]:.2f}x")


if __name__ == "__main__":
    main()
