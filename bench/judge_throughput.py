"""Judge throughput, side by side in one run: rewardsmith's Lambda handler against the
hand-written Lambda AWS's guidance leads teams to write, and bare boto3 threads.

All three judge the same samples against one Converse simulator running in its own
process (the service is remote in production: it must not compete for this process's
GIL), with a fixed model latency L:

``rewardsmith``
    ``make_handler(pack)`` on a pack with one ``rubric-judge`` (one criterion, forced tool
    use, the verdict schema-checked), ``[judge] max_concurrency = C``; the handler is
    built and warmed before the clock starts (the Lambda init phase), then invoked with
    the batch as its event.
``hand-written``
    a module-level boto3 client (``max_pool_connections = C``, botocore retries off) and,
    per invocation, ``ThreadPoolExecutor(C)`` mapping one function over the samples:
    build the prompt, ``converse`` with the verdict as a forced tool, read the tool
    input, retry throttling after 1, 2 and 4 s, then give up (reward 0).
``bare boto3``
    the same client and a thread pool calling ``converse`` and nothing else (botocore's
    standard retries, 3 attempts): the floor of CPU per call with boto3.

Rows (each a median over ``--reps`` rounds, the contenders alternated within a round):

* ``C=100 first`` / ``C=100 warm``: 2,000 calls, L = 0.5 s, the first invocation after
  init and a second one; efficiency = ideal seconds (N·L/C) / measured seconds;
* ``C=400 L=0.5``: 4,000 calls (CPU-bound on a small box); ``C=400 L=2``: 1,600 calls;
* ``quota 150/s``: the simulator throttles beyond 150 requests/s (C=100, L=0.5, 1,500
  calls, ideal 200/s): answered calls/s / 150; rewardsmith is told the quota
  (``[judge] requests_per_minute = 9000``), as its docs/sizing.md asks;
* ``20% throttling``: 20% of requests throttled at random (C=100, L=0.5, 2,000 calls):
  efficiency / the same contender's fault-free efficiency;
* ``CPU ms/call``: this process's CPU time (all threads) over the warm C=100 invocation
  divided by the calls; the simulator's CPU is not counted.

Usage::

    nice -n 10 .venv/bin/python bench/judge_throughput.py --reps 3
    .venv/bin/python bench/judge_throughput.py --scale 0.25 --reps 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.loadtest import SimulatorProcess

MODEL = "openai.gpt-oss-120b-1:0"
CRITERION = "The answer is polite and answers the question."
SCHEMA = {
    "type": "object",
    "properties": {"rationale": {"type": "string"},
                   "verdict": {"type": "string", "enum": ["pass", "fail"]}},
    "required": ["rationale", "verdict"],
    "additionalProperties": False,
}


def samples(n: int, tag: str) -> list[dict[str, Any]]:
    """``n`` distinct samples (no two alike: de-duplication must not flatter anyone)."""
    return [{"id": f"{tag}-{i}",
             "messages": [{"role": "user", "content": f"Question {i} ({tag}): how do I reset "
                                                      "my password?"},
                          {"role": "assistant", "content": f"Thank you for asking ({tag} "
                                                           f"{i}). Open Settings, choose "
                                                           "Security, then Reset."}]}
            for i in range(n)]


# -- the contenders ---------------------------------------------------------------------
class Contender:
    name = ""

    def init(self, url: str, concurrency: int, quota_rpm: float | None = None) -> None:
        """The Lambda init phase: not timed. ``quota_rpm``: the account's quota, for a
        contender that can be told it."""

    def invoke(self, batch: list[dict[str, Any]]) -> int:
        """Judge ``batch``; the number of samples whose judge answered."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class Rewardsmith(Contender):
    name = "rewardsmith"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.handler: Any = None

    def init(self, url: str, concurrency: int, quota_rpm: float | None = None) -> None:
        from rewardsmith.aws_lambda import make_handler
        from rewardsmith.core.plugins import make_plugin_host

        pack = self.workdir / f"bench-{concurrency}.toml"
        pack.write_text(f"""
[pack]
name = "bench-judge"
version = "1"

[judge]
backend = "bedrock"
model = "{MODEL}"
region = "us-east-1"
endpoint_url = "{url}"
max_concurrency = {concurrency}
cache_path = ""
timeout_s = 60
{f"requests_per_minute = {quota_rpm}" if quota_rpm else ""}

[[components]]
id = "polite"
type = "rubric-judge"
include_prompt = true
criteria = [{{ id = "polite", pass_if = "{CRITERION}" }}]
""", encoding="utf-8")
        self.handler = make_handler(str(pack), host=make_plugin_host)
        self.handler.warm()

    def invoke(self, batch: list[dict[str, Any]]) -> int:
        rows = self.handler(batch, None)
        # A judged sample carries the criterion's value; a failed one does not.
        return sum(any(m["name"] == "polite" for m in row.get("metrics_list", []))
                   for row in rows)

    def close(self) -> None:
        if self.handler is not None:
            self.handler.scorer.close()
            self.handler = None


def _client(url: str, concurrency: int, attempts: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                        config=Config(max_pool_connections=concurrency,
                                      retries={"mode": "standard",
                                               "total_max_attempts": attempts}))


class HandWritten(Contender):
    """What AWS's samples lead to: a module-level client, a thread pool per invocation,
    a prompt with the rubric, the verdict as a forced tool, 1/2/4 s backoff."""

    name = "hand-written"

    def init(self, url: str, concurrency: int, quota_rpm: float | None = None) -> None:
        self.client = _client(url, concurrency, 1)
        self.concurrency = concurrency

    def judge(self, sample: dict[str, Any]) -> float | None:
        from botocore.exceptions import ClientError

        question = sample["messages"][0]["content"]
        answer = sample["messages"][-1]["content"]
        prompt = (f"Grade the answer against the criterion.\nCriterion: {CRITERION}\n"
                  f"<question>{question}</question>\n<answer>{answer}</answer>")
        for delay in (1, 2, 4, None):
            try:
                response = self.client.converse(
                    modelId=MODEL,
                    system=[{"text": "You are a strict grader."}],
                    messages=[{"role": "user", "content": [{"text": prompt}]}],
                    inferenceConfig={"maxTokens": 1024, "temperature": 0.0},
                    toolConfig={"tools": [{"toolSpec": {
                        "name": "verdict", "description": "Record the verdict.",
                        "inputSchema": {"json": SCHEMA}}}],
                        "toolChoice": {"tool": {"name": "verdict"}}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ThrottlingException" and delay:
                    time.sleep(delay)
                    continue
                return None
            for block in response["output"]["message"]["content"]:
                if "toolUse" in block:
                    return 1.0 if block["toolUse"]["input"].get("verdict") == "pass" else 0.0
            return None
        return None

    def invoke(self, batch: list[dict[str, Any]]) -> int:
        with ThreadPoolExecutor(self.concurrency) as pool:
            rewards = list(pool.map(self.judge, batch))
        return sum(r is not None for r in rewards)

    def close(self) -> None:
        self.client.close()


class BareBoto3(Contender):
    name = "bare boto3"

    def init(self, url: str, concurrency: int, quota_rpm: float | None = None) -> None:
        self.client = _client(url, concurrency, 3)
        self.pool = ThreadPoolExecutor(concurrency)

    def call(self, sample: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.converse(modelId=MODEL, messages=[
                {"role": "user", "content": [{"text": sample["messages"][-1]["content"]}]}])
        except ClientError:
            return False
        return True

    def invoke(self, batch: list[dict[str, Any]]) -> int:
        return sum(self.pool.map(self.call, batch))

    def close(self) -> None:
        self.pool.shutdown()
        self.client.close()


# -- rows -------------------------------------------------------------------------------
def timed(contender: Contender, batch: list[dict[str, Any]]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, answered)."""
    cpu, wall = time.process_time(), time.perf_counter()
    answered = contender.invoke(batch)
    return time.perf_counter() - wall, time.process_time() - cpu, answered


def run_round(make: list[Callable[[], Contender]], scale: float,
              rows: dict[str, dict[str, list[float]]]) -> None:
    def n(calls: int) -> int:
        return max(10, int(calls * scale))

    def record(row: str, who: str, value: float) -> None:
        rows.setdefault(row, {}).setdefault(who, []).append(value)

    # C=100, L=0.5: first and warm invocation (and CPU per call, warm)
    clean_eff: dict[str, float] = {}
    with SimulatorProcess("bedrock", FaultPolicy(latency_s=0.5, seed=1)) as sim:
        for factory in make:
            contender = factory()
            contender.init(sim.endpoint_url, 100)
            calls = n(2000)
            ideal = calls * 0.5 / 100
            wall, _, answered = timed(contender, samples(calls, "first"))
            record("C=100 first", contender.name, ideal / wall)
            wall, cpu, answered = timed(contender, samples(calls, "warm"))
            record("C=100 warm", contender.name, ideal / wall)
            record("CPU ms/call", contender.name, cpu * 1000 / calls)
            clean_eff[contender.name] = ideal / wall
            contender.close()
    for latency, calls in ((0.5, 4000), (2.0, 1600)):
        with SimulatorProcess("bedrock", FaultPolicy(latency_s=latency, seed=1)) as sim:
            for factory in make:
                contender = factory()
                contender.init(sim.endpoint_url, 400)
                calls_n = n(calls)
                wall, _, _ = timed(contender, samples(calls_n, f"c400-{latency}"))
                record(f"C=400 L={latency:g}", contender.name, calls_n * latency / 400 / wall)
                contender.close()
    with SimulatorProcess("bedrock", FaultPolicy(latency_s=0.5, quota_rps=150.0,
                                                 seed=1)) as sim:
        for factory in make:
            contender = factory()
            contender.init(sim.endpoint_url, 100, quota_rpm=150 * 60)
            time.sleep(1.1)  # the quota bucket refills between contenders
            calls = n(1500)
            wall, _, answered = timed(contender, samples(calls, "quota"))
            record("quota 150/s", contender.name, answered / wall / 150.0)
            contender.close()
    with SimulatorProcess("bedrock", FaultPolicy(latency_s=0.5, throttle_rate=0.2,
                                                 seed=1)) as sim:
        for factory in make:
            contender = factory()
            contender.init(sim.endpoint_url, 100)
            calls = n(2000)
            wall, _, answered = timed(contender, samples(calls, "throttled"))
            efficiency = answered * 0.5 / 100 / wall
            record("20% throttling", contender.name, efficiency / clean_eff[contender.name])
            record("20% throttling answered", contender.name, answered / calls)
            contender.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="Multiply every row's number of calls (a quick look: 0.25).")
    parser.add_argument("--only", default="", help="Comma-separated contenders to run.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_EC2_METADATA_DISABLED="true", REWARDSMITH_LOG_LEVEL="warning")
    with tempfile.TemporaryDirectory() as tmp:
        factories: list[Callable[[], Contender]] = [
            lambda: Rewardsmith(Path(tmp)), HandWritten, BareBoto3]
        if args.only:
            wanted = set(args.only.split(","))
            factories = [f for f in factories if f().name in wanted]
        rows: dict[str, dict[str, list[float]]] = {}
        for round_ in range(args.reps):
            # Alternate the order each round, so drift in the box's load hits all alike.
            order = factories if round_ % 2 == 0 else factories[::-1]
            run_round(order, args.scale, rows)
    table = {row: {who: statistics.median(values) for who, values in by.items()}
             for row, by in rows.items()}
    if args.json:
        print(json.dumps({"reps": args.reps, "scale": args.scale, "rows": table,
                          "raw": rows}, indent=2))
        return
    names = [n for n in ("rewardsmith", "hand-written", "bare boto3")
             if any(n in by for by in table.values())]
    print(f"| row ({args.reps} rounds, medians) | " + " | ".join(names)
          + " | rewardsmith / hand-written |")
    print("|---|" + "---:|" * (len(names) + 1))
    for row, by in table.items():
        ratio = (f"{by['rewardsmith'] / by['hand-written']:.2f}"
                 if "rewardsmith" in by and "hand-written" in by and by["hand-written"] else "")
        print(f"| {row} | " + " | ".join(f"{by.get(n, float('nan')):.3f}" for n in names)
              + f" | {ratio} |")


if __name__ == "__main__":
    main()
