"""The same rollout set scored on a local Ray instance (``score_rollouts_ray``, what
``rewardsmith score --ray`` runs) and in one process (``score``'s loop: batches of 256
through one ``Scorer``), with identical rewards checked and the wall-time ratio reported.

    .venv/bin/python bench/ray_scale.py [--samples 100000] [--actors N] [--cpus N]

The set is deterministic: the ``json-extraction`` pack's own suite samples (golden cases
and probes: clean, gated, ungrounded, wrong fields, ...) cycled to ``--samples`` rows,
four rollouts per prompt (a note appended to the user turn makes each group's prompt
unique). ``--pack lite`` (the default) scores them with json-extraction's JSON gate, field
accuracy and length (about 3 ms a sample on the loaded 2-core box, so 100,000 samples fit
in minutes); ``--pack json-extraction`` adds its grounding, repetition, Unicode and
injection gates (about 9 ms a sample). ``ray.init`` runs before the clock starts (its
start-up is reported apart); the Ray figure includes the driver reading and grouping the
file and writing the rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import orjson

from rewardsmith import Scorer, load_pack
from rewardsmith.core.rollouts import read_rollouts
from rewardsmith.core.wire import encode_line, jsonl_row
from rewardsmith.scale.ray import score_rollouts_ray

SUITE = (Path(__file__).resolve().parents[1] / "src/rewardsmith/rubric_packs/tests/"
         "json-extraction.jsonl")
LITE = """
[pack]
name = "json-extraction-lite"
version = "1"

[[components]]
id = "json"
type = "json-valid"
extract = ["think", "fences"]
require_type = "object"
gate = { fail_reward = 0.0 }

[[components]]
id = "fields"
type = "reference-match"
extract = ["think", "fences"]
mode = "json_fields"
number_tolerance = 0.001
string_threshold = 0.9
penalize_extra = true
weight = 4
on_error = "zero"

[[components]]
id = "length"
type = "length"
unit = "chars"
max = 2000
falloff = 2000
"""


def write_rollouts(path: Path, n: int) -> None:
    cases = [json.loads(line)["sample"] for line in SUITE.read_text().splitlines()
             if line.strip() and "sample" in json.loads(line)]
    with path.open("wb") as fh:
        for i in range(n):
            sample = json.loads(json.dumps(cases[i % len(cases)]))
            sample["id"] = f"s{i}"
            for message in sample["messages"]:
                if message["role"] == "user":
                    message["content"] += f"\n(batch note {i // 4})"
            fh.write(orjson.dumps(sample) + b"\n")


def one_process(pack: str, rollouts: Path, out: Path, batch_size: int = 256) -> float:
    started = time.monotonic()
    scorer = Scorer(load_pack(pack))
    with out.open("w") as fh:
        for batch in read_rollouts(rollouts, batch_size):
            for result in scorer.score(batch).results:
                fh.write(encode_line(jsonl_row(result)) + "\n")
    scorer.close()
    return time.monotonic() - started


def rewards(path: Path) -> list[tuple[object, float]]:
    return [(row["id"], row["aggregate_reward_score"])
            for row in map(orjson.loads, path.read_bytes().splitlines())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--actors", type=int, default=None)
    parser.add_argument("--cpus", type=int, default=None, help="ray.init(num_cpus=...)")
    parser.add_argument("--pack", default="lite", help="lite, or a pack name or path")
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        rollouts = Path(tmp) / "rollouts.jsonl"
        write_rollouts(rollouts, args.samples)
        pack = args.pack
        if pack == "lite":
            pack = str(Path(tmp) / "json-extraction-lite.toml")
            Path(pack).write_text(LITE)
        single_s = one_process(pack, rollouts, Path(tmp) / "one.jsonl")
        t0 = time.monotonic()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        init_s = time.monotonic() - t0
        with (Path(tmp) / "ray.jsonl").open("w") as fh:
            summary = score_rollouts_ray(rollouts, pack, fh, actors=args.actors)
        ray.shutdown()
        one, on_ray = rewards(Path(tmp) / "one.jsonl"), rewards(Path(tmp) / "ray.jsonl")
        identical = one == on_ray
        mean = sum(r for _, r in one) / len(one)
        print(json.dumps({
            "pack": args.pack, "samples": args.samples, "actors": summary.actors,
            "one_process_s": round(single_s, 2), "ray_s": round(summary.elapsed_s, 2),
            "ray_init_s": round(init_s, 2),
            "ray_over_one_process": round(summary.elapsed_s / single_s, 3),
            "rewards_identical": identical, "reward_mean": round(mean, 4),
            "gated": summary.gated, "failed": summary.failed}))
        if not identical:
            raise SystemExit("rewards differ between Ray and one process")


if __name__ == "__main__":
    main()
