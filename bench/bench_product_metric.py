"""Product-metric sources: what running a synchronous metric function in a worker thread
buys (a blocking function) and costs (a cheap one), as ratios to a metadata lookup.

    .venv/bin/python bench/bench_product_metric.py [--samples 512]

The "blocking" function sleeps 2 ms, standing in for a synchronous database or cache
call that releases the GIL. Numbers are per-batch wall times of ``Scorer.score``; only
the ratios measured within one run are meant to be compared.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.logs import configure_logging
from rewardsmith.plugins import metrics as metrics_plugin

BLOCKING_SECONDS = 0.002


def cheap_metric(sample: object) -> float:
    return 0.5


def blocking_metric(sample: object) -> float:
    time.sleep(BLOCKING_SECONDS)
    return 0.5


SOURCES = {
    "lookup (baseline)": '{ kind = "lookup", path = "v" }',
    "cheap fn, inline": '{ kind = "function", ref = "bench_product_metric:cheap_metric", '
                        "run_in_thread = false }",
    "cheap fn, thread": '{ kind = "function", ref = "bench_product_metric:cheap_metric" }',
    "blocking fn, inline": '{ kind = "function", ref = "bench_product_metric:blocking_metric", '
                           "run_in_thread = false }",
    "blocking fn, thread": '{ kind = "function", ref = "bench_product_metric:blocking_metric" }',
}


def measure(source: str, samples: list[dict[str, object]], repeats: int, folder: Path) -> float:
    path = folder / "pack.toml"
    path.write_text(
        '[pack]\nname = "bench"\nversion = "1"\n[[components]]\nid = "m"\n'
        f'type = "product-metric"\nsource = {source}\ntransform = {{ kind = "identity" }}\n',
        encoding="utf-8",
    )
    host = make_plugin_host(load_entry_points=False, plugins=[("metrics", metrics_plugin)])
    scorer = Scorer(load_pack(path, host))
    try:
        scorer.score(samples[:8])  # warm-up: loop, thread pool
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            batch = scorer.score(samples)
            times.append(time.perf_counter() - started)
            assert all(r.status == "ok" for r in batch.results)
    finally:
        scorer.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    configure_logging(level="warning")
    samples = [
        {"id": i, "messages": [{"role": "assistant", "content": f"answer {i}"}], "v": 0.5}
        for i in range(args.samples)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: measure(src, samples, args.repeats, Path(tmp))
                   for name, src in SOURCES.items()}
    base = results["lookup (baseline)"]
    print(f"{args.samples} samples, median of {args.repeats} batches")
    print(f"{'source':<22} {'batch ms':>9} {'x lookup':>9}")
    for name, seconds in results.items():
        print(f"{name:<22} {seconds * 1000:>9.1f} {seconds / base:>9.2f}")
    speedup = results["blocking fn, inline"] / results["blocking fn, thread"]
    print(f"blocking fn: thread is {speedup:.1f}x faster than inline")


if __name__ == "__main__":
    main()
