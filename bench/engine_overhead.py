"""Engine overhead: a deterministic pack of 6 checks over 10,000 samples through
``Scorer.score``, as a ratio against calling the same check instances' ``score`` in a
plain loop, measured in the same run (median of interleaved repetitions).

    .venv/bin/python bench/engine_overhead.py [--samples 10000] [--repeats 5]

No component is a gate, so the engine runs all six checks on every sample, exactly like
the loop. Two baselines: the loop over samples parsed beforehand (the check functions
alone, the strict reading), and the loop including ``parse_sample`` (the engine must
parse the wire format; the loop then does the same).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.logs import configure_logging
from rewardsmith.core.sample import parse_sample

ROOT = Path(__file__).resolve().parents[1]
ROLLOUTS = ROOT / "examples" / "rollouts" / "json-extraction.jsonl"
SCHEMA = ROOT / "src" / "rewardsmith" / "rubric_packs" / "schemas" / "invoice.schema.json"
PACK = """
[pack]
name = "bench-six-checks"
version = "1"

[[components]]
id = "json"
type = "json-valid"
extract = ["think", "fences"]

[[components]]
id = "schema"
type = "json-schema"
extract = ["think", "fences"]
schema_file = "schemas/invoice.schema.json"

[[components]]
id = "length"
type = "length"
unit = "words"
max = 400

[[components]]
id = "repetition"
type = "repetition"
max_ngram_repeat = 0.3
max_duplicate_lines = 0

[[components]]
id = "unicode"
type = "unicode-hygiene"

[[components]]
id = "injection"
type = "injection"
"""


def samples(n: int) -> list[dict[str, Any]]:
    base = [orjson.loads(line) for line in ROLLOUTS.read_bytes().splitlines() if line.strip()]
    return [{**base[i % len(base)], "id": f"s{i}"} for i in range(n)]


def timed(fn: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    configure_logging(level="warning")

    # Packs may only read files inside their own folder: lay one out with the schema.
    folder = Path(tempfile.mkdtemp(prefix="rewardsmith-bench-"))
    (folder / "schemas").mkdir()
    shutil.copy(SCHEMA, folder / "schemas" / SCHEMA.name)
    pack_path = folder / "pack.toml"
    pack_path.write_text(PACK)
    scorer = Scorer(load_pack(pack_path, make_plugin_host()))
    components = scorer.pack.components
    raw = samples(args.samples)
    parsed = [parse_sample(s, i) for i, s in enumerate(raw)]

    # The loop catches what a check raises (an invalid JSON answer makes json-schema
    # raise): any batch scorer must, so the baseline pays for a try block too.
    def plain_loop() -> None:
        for sample in parsed:
            for component in components:
                try:  # noqa: SIM105 - suppress() would slow the baseline, flattering the engine
                    component.score(sample)
                except Exception:
                    pass

    # The engine runs each check over the whole batch before the next (component-major),
    # which keeps one check's code and caches hot; this loop does the same, so the ratio
    # is not flattered by iteration order.
    def component_major_loop() -> None:
        for component in components:
            for sample in parsed:
                try:  # noqa: SIM105 - suppress() would slow the baseline, flattering the engine
                    component.score(sample)
                except Exception:
                    pass

    def loop_with_parse() -> None:
        for i, s in enumerate(raw):
            sample = parse_sample(s, i)
            for component in components:
                try:  # noqa: SIM105 - suppress() would slow the baseline, flattering the engine
                    component.score(sample)
                except Exception:
                    pass

    def engine() -> None:
        batch = scorer.score(raw)
        assert len(batch.results) == len(raw)

    engine()  # warm caches (regexes, schema validators) for every contender alike
    times: dict[str, list[float]] = {"loop": [], "loop (component-major)": [],
                                     "loop+parse": [], "engine": []}
    for _ in range(args.repeats):
        times["loop"].append(timed(plain_loop))
        times["loop (component-major)"].append(timed(component_major_loop))
        times["loop+parse"].append(timed(loop_with_parse))
        times["engine"].append(timed(engine))
    scorer.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    per = {k: v / args.samples * 1e6 for k, v in med.items()}
    print(f"{args.samples} samples x {len(components)} checks, median of {args.repeats}")
    fastest = min(med["loop"], med["loop (component-major)"])
    print("| run | total s | us/sample | ratio to the faster plain loop |")
    print("|---|---:|---:|---:|")
    for key in times:
        print(f"| {key} | {med[key]:.3f} | {per[key]:.1f} | {med[key] / fastest:.2f} |")
    print(f"engine / (loop+parse) = {med['engine'] / med['loop+parse']:.2f}")


if __name__ == "__main__":
    main()
