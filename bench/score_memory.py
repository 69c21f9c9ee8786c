"""Peak memory of ``rewardsmith score``: flat in the batch size, and what 100k samples cost.

Writes N rollouts (the built-in ``json-extraction`` pack's test rows repeated with fresh
ids) and a small checks-only pack (a length check and a JSON check: no judge, so the run
measures the CLI and the engine, not a simulator, and 100k samples take minutes), then
runs ``python -m rewardsmith.cli score`` in a fresh process per case and reads that
process's peak RSS (``ru_maxrss`` from ``os.wait4``). Usage::

    nice -n 10 .venv/bin/python bench/score_memory.py [--samples 100000]
        [--batch-sizes 256,4096] [--pythonpath OLD_SRC]

``--pythonpath`` runs the same cases on other code (e.g. a ``git archive`` of an older
commit's ``src``) for a before/after in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = Path(__file__).resolve().parents[1] / "src/rewardsmith/rubric_packs/tests/" \
    "json-extraction.jsonl"


def write_rollouts(path: Path, n: int) -> None:
    rows = [json.loads(line) for line in ROWS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    samples = [r.get("sample", r) for r in rows]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            sample = dict(samples[i % len(samples)])
            sample["id"] = f"s{i}"
            out.write(json.dumps(sample) + "\n")


PACK = """
[pack]
name = "memory-bench"
version = "1"

[[components]]
id = "length"
type = "length"
unit = "chars"
max = 4000

[[components]]
id = "json_ok"
type = "json-valid"
"""


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):  # 3: some samples failed (the corpus has bad rows)
        assert proc.stderr is not None
        raise SystemExit(f"score failed ({proc.returncode}): {proc.stderr.read()[-2000:]!r}")
    return usage.ru_maxrss / 1024, elapsed  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--batch-sizes", default="256,4096")
    parser.add_argument("--pythonpath", default="", help="src of other code to compare")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    codes = [("this tree", "")] + ([("other", args.pythonpath)] if args.pythonpath else [])
    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "memory-bench.toml"
        pack.write_text(PACK, encoding="utf-8")
        print("| code | samples | batch size | peak RSS MB | seconds |\n"
              "|---|---:|---:|---:|---:|")
        for count in sorted({args.samples // 10, args.samples}):
            rollouts = Path(tmp) / f"rollouts-{count}.jsonl"
            write_rollouts(rollouts, count)
            for label, pythonpath in codes:
                env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else dict(os.environ)
                for size in sizes:
                    argv = [sys.executable, "-m", "rewardsmith.cli", "score", str(rollouts),
                            "--pack", str(pack), "--batch-size", str(size),
                            "--output", str(Path(tmp) / "out.jsonl"), "--no-progress"]
                    mb, seconds = peak_rss_mb(argv, env)
                    print(f"| {label} | {count} | {size} | {mb:.0f} | {seconds:.1f} |",
                          flush=True)


if __name__ == "__main__":
    main()
