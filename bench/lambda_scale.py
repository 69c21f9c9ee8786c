"""The reward Lambda at scale: 100,000 small samples, and a 50 MB event, under a 20 s
deadline; when the answer leaves (by the handler's own clock and after the runtime's JSON
encoding of it), whether every id is in it, and the peak RSS of the process.

    .venv/bin/python bench/lambda_scale.py [--samples 100000] [--event-mb 50]
                                           [--deadline-s 20] [--repeats 1]

Each scenario runs in a fresh subprocess invoked twice (cold: the pack loads inside the
first deadline; then warm), which does what the Lambda runtime does around the handler:
decodes the event from its JSON bytes, calls the handler with a context whose
``get_remaining_time_in_millis`` counts down from the deadline, and encodes the answer
with the standard library's ``json`` (as ``awslambdaric``'s
``lambda_runtime_marshaller.to_json`` does). Peak RSS is
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that subprocess, event bytes included.
The pack is three deterministic checks (length, JSON validity, repetition).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PACK = """
[pack]
name = "bench-lambda-scale"
version = "1"

[[components]]
id = "length"
type = "length"
unit = "words"
max = 400

[[components]]
id = "json"
type = "json-valid"
extract = ["think", "fences"]

[[components]]
id = "repetition"
type = "repetition"
max_ngram_repeat = 0.3
max_duplicate_lines = 0
"""


class Context:
    """The Lambda context's deadline, counted on the monotonic clock."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline = time.monotonic() + deadline_s
        self.aws_request_id = "bench"
        self.function_name = "bench-lambda-scale"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def small_event(n: int) -> list[dict[str, Any]]:
    return [{"id": f"s{i}", "messages": [
        {"role": "user", "content": f"Give the total of invoice {i} as JSON."},
        {"role": "assistant", "content": f'{{"invoice": {i}, "total": {i % 997}.50}}'}]}
        for i in range(n)]


def large_event(megabytes: int) -> list[dict[str, Any]]:
    # ~20 KB responses: a 50 MB event is ~2,500 samples of long prose.
    words = ["the", "invoice", "total", "is", "due", "within", "thirty", "days", "of",
             "receipt", "and", "late", "fees", "apply", "after", "that", "period"]
    body = " ".join(words[j % len(words)] + str(j % 13) for j in range(2_800))
    count = max(1, megabytes * 1_000_000 // (len(body) + 200))
    return [{"id": f"L{i}", "messages": [{"role": "user", "content": f"Summarise {i}."},
                                        {"role": "assistant", "content": f"{i} {body}"}]}
            for i in range(count)]


def child(scenario: str, size: int, deadline_s: float) -> list[dict[str, Any]]:
    """Two invocations of one handler: cold (the pack loads inside the first deadline),
    then warm; each decodes the event and encodes the answer as the runtime does."""
    from rewardsmith.aws_lambda import make_handler

    folder = Path(tempfile.mkdtemp(prefix="rewardsmith-lambda-scale-"))
    (folder / "pack.toml").write_text(PACK)
    raw = json.dumps(small_event(size) if scenario == "small" else large_event(size)).encode()
    handler = make_handler(str(folder / "pack.toml"), deadline_margin_s=2.0, metrics=None)
    rows = []
    for call in ("cold", "warm"):
        context = Context(deadline_s)  # the clock starts when the runtime has the event
        started = time.monotonic()
        event = json.loads(raw)  # the runtime decodes the event before calling the handler
        out = handler(event, context)
        handler_done = time.monotonic()
        body = json.dumps(out)  # the runtime encodes the answer (awslambdaric: json)
        answered = time.monotonic()
        ids = {row["id"] for row in out}
        scored = sum(1 for row in out if not any(m["name"] == "sample_failed"
                                                 for m in row["metrics_list"]))
        rows.append({
            "scenario": f"{scenario}/{call}",
            "samples": len(event),
            "answered_ids": len(ids),
            "every_id": ids == {s["id"] for s in event},
            "scored": scored,
            "deadline_s": deadline_s,
            "handler_s": round(handler_done - started, 3),
            "encode_s": round(answered - handler_done, 3),
            "answered_at_s": round(answered - started, 3),
            "margin_s": round(context.deadline - answered, 3),
            "answer_mb": round(len(body) / 1e6, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        })
        del event, out, body
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--event-mb", type=int, default=50)
    parser.add_argument("--deadline-s", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, size = args.child
        print(json.dumps(child(scenario, int(size), args.deadline_s)))
        return
    print(f"{'scenario':>10} {'samples':>8} {'every id':>8} {'scored':>7} {'handler s':>9} "
          f"{'encode s':>8} {'answered s':>10} {'margin s':>8} {'peak RSS MB':>11}")
    for _ in range(args.repeats):
        for scenario, size in (("small", args.samples), ("large", args.event_mb)):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", scenario, str(size),
                 "--deadline-s", str(args.deadline_s)],
                capture_output=True, text=True, check=True)
            lines = proc.stdout.strip().splitlines()
            logged = [json.loads(line) for line in lines if '"reward_invocation"' in line]
            for row, log_line in zip(json.loads(lines[-1]), logged, strict=False):
                print(f"{row['scenario']:>10} {row['samples']:>8} {row['every_id']!s:>8} "
                      f"{row['scored']:>7} {row['handler_s']:>9} {row['encode_s']:>8} "
                      f"{row['answered_at_s']:>10} {row['margin_s']:>8} "
                      f"{row['peak_rss_mb']:>11}")
                print(f"{'':>10} handler's own accounting: "
                      f"{json.dumps(log_line.get('answer_budget'))}; "
                      f"failures {json.dumps(log_line.get('failures'))}")

if __name__ == "__main__":
    main()
