"""Parse cost per sample, this tree's ``core.sample`` against a baseline copy of it.

Usage (the baseline is the parser before issue 12)::

    git show fbffbc6:src/rewardsmith/core/sample.py > /tmp/sample_before.py
    python bench/parse_trajectories.py /tmp/sample_before.py

Rounds interleave baseline and current so that load on a shared machine hits both; the
figure is the fastest round of each, in CPU time of the thread (microseconds per
sample), which a busy machine disturbs less than wall time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
from pathlib import Path

from rewardsmith.core import sample as current

ROOT = Path(__file__).resolve().parents[1]


def _load(path: str):
    spec = importlib.util.spec_from_file_location("sample_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sample_baseline"] = module
    spec.loader.exec_module(module)
    return module


def _round(module, rows, repeat: int) -> float:
    started = time.thread_time()
    for _ in range(repeat):
        for i, row in enumerate(rows):
            with contextlib.suppress(Exception):  # the malformed example fails in both
                module.parse_sample(row, i)
    return (time.thread_time() - started) / (repeat * len(rows)) * 1e6


def main() -> None:
    baseline = _load(sys.argv[1])
    sets = {"single-turn (customer-support examples)": "customer-support.jsonl",
            "trajectories (support-agent examples)": "support-agent.jsonl"}
    for name, file in sets.items():
        rows = [json.loads(line) for line in
                (ROOT / "examples" / "rollouts" / file).read_text().splitlines()]
        before, after = [], []
        for _ in range(15):
            before.append(_round(baseline, rows, 20))
            after.append(_round(current, rows, 20))
        b, a = min(before), min(after)
        print(f"{name}: baseline {b:.1f} us/sample, now {a:.1f} us/sample, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
