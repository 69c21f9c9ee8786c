"""CPU per Lambda row, and what learning the answer's encoding costs (issue 13).

For rows shaped like ``bench/judge_throughput.py``'s (one rubric judge: 20 metrics a row),
check rows (5 metrics) and check rows with 2 KB ids, at 2,000 and 100,000 rows:

* building the rows (``core.wire.lambda_row`` with a ``MetricCache``) against the two-pass
  build it replaced (``tests/support/wire_reference.py``), CPU microseconds per row, the
  fastest of 5 passes, and whether the two answers encode to the same bytes;
* the runtime's encoding (``aws_lambda.budget.runtime_encoder``): the old check (a 1,024-row
  spread, timed), the quick one (a 128-row spread, x ``QUICK_PROBE_FACTOR``), and the
  whole answer, per row.

Usage::

    .venv/bin/python bench/wire_rows.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.wire_reference import (
    ReferenceMetricCache,
    reference_lambda_row,
)

from rewardsmith.aws_lambda.budget import (
    QUICK_PROBE_FACTOR,
    QUICK_PROBE_ROWS,
    runtime_encoder,
)
from rewardsmith.core.results import ComponentOutcome, PackRef, SampleResult
from rewardsmith.core.wire import MetricCache, lambda_row

PACK = PackRef("bench-judge", "1", "sha256:0")
JUDGES = frozenset({"polite"})


def judged(i: int) -> SampleResult:
    """A result as the rubric-judge bench pack scores it (the measurements it reports)."""
    passed = i % 2 == 0
    measurements: dict[str, Any] = {
        "polite": float(passed), "criteria_passed": int(passed),
        "judge_latency_ms": 500 + (i * 7919 % 9973) / 1000, "judge_calls": 1,
        "input_tokens": 590 + i % 7, "output_tokens": 37, "cost_usd": 0.0001107 + i % 7 * 1e-7,
        "cached": 0, "judge_attempts": 1, "judge_repairs": 0,
        "judge_queued_ms": (i * 104729 % 99991) / 100, "judge_mode": "tool",
        "latency_ms": 500.4 + (i * 7919 % 9973) / 1000,
    }
    outcome = ComponentOutcome("polite", "rubric-judge", 1.0, float(passed),
                               raw_value=float(passed), passed=passed,
                               measurements=measurements)
    return SampleResult(id=f"first-{i}", index=i, reward=float(passed), status="ok",
                        pack=PACK, components={"polite": outcome}, response_chars=73)


def checked(i: int, id_chars: int = 0) -> SampleResult:
    outcomes = {cid: ComponentOutcome(cid, "check", 1.0, float(i % 3 == 0),
                                      measurements={"valid": 1.0})
                for cid in ("json", "length")}
    sample_id = "x" * id_chars + f"sample-{i:08d}"
    return SampleResult(id=sample_id, index=i, reward=(i % 7) / 7, status="ok", pack=PACK,
                        components=outcomes)


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def build(row: Callable[..., dict[str, Any]], cache: Callable[[], Any],
          results: list[SampleResult]) -> list[dict[str, Any]]:
    shared = cache()
    return [row(r, failure_reward=0.0, judge_ids=JUDGES, cache=shared) for r in results]


def spread(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return rows[::max(1, len(rows) // size)][:size]


def measure(label: str, make: Callable[[int], SampleResult], count: int) -> None:
    encode = runtime_encoder()
    results = [make(i) for i in range(count)]
    passes = 5 if count <= 2_000 else 2
    old = min(cpu(lambda: build(reference_lambda_row, ReferenceMetricCache, results))
              for _ in range(passes)) / count
    new = min(cpu(lambda: build(lambda_row, MetricCache, results))
              for _ in range(passes)) / count
    rows = build(lambda_row, MetricCache, results)
    same = encode(rows) == encode(build(reference_lambda_row, ReferenceMetricCache, results))
    quick_rows, full_rows = spread(rows, QUICK_PROBE_ROWS), spread(rows, 1024)
    quick = min(cpu(lambda: encode(quick_rows)) for _ in range(3))
    full = min(cpu(lambda: encode(full_rows)) for _ in range(3))
    whole = cpu(lambda: encode(rows)) / count
    quick_row = quick / len(quick_rows) * QUICK_PROBE_FACTOR
    print(f"{label}, {count:,} rows: build {old * 1e6:.1f} -> {new * 1e6:.1f} us/row "
          f"({old / new:.2f}x), same bytes {same}; encoding {whole * 1e6:.1f} us/row, "
          f"1,024-row timing {full * 1e3:.1f} ms ({full / len(full_rows) * 1e6:.1f} us/row), "
          f"128-row timing {quick * 1e3:.1f} ms (x{QUICK_PROBE_FACTOR:g} = "
          f"{quick_row * 1e6:.1f} us/row, {quick_row / whole:.2f}x the whole answer)")


def main() -> None:
    shapes: list[tuple[str, Callable[[int], SampleResult]]] = [
        ("judge rows (20 metrics)", judged), ("check rows (5 metrics)", checked),
        ("check rows, 2 KB ids", lambda i: checked(i, 2000))]
    for label, make in shapes:
        for count in (2_000, 100_000):
            measure(label, make, count)


if __name__ == "__main__":
    main()
