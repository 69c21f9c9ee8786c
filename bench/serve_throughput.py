"""Throughput of ``rewardsmith serve`` against in-process ``Scorer`` throughput, same run.

    nice -n 10 .venv/bin/python bench/serve_throughput.py [--batch-size 64] [--batches 40]
        [--concurrency 4] [--rounds 3]

Pack: ``json-extraction`` (deterministic, no judge). Samples: the pack's suite samples
(``rubric_packs/tests/json-extraction.jsonl``) cycled to ``batches * batch_size`` with
fresh ids. Each round, alternately first:

* in-process: ``scorer.score(batch)`` for every batch, one after another, in this process;
* server: the real command (``python -m rewardsmith.cli serve json-extraction``) in a
  subprocess, fed by an httpx client here with ``concurrency`` requests in flight, each
  ``POST /v1/score`` with one batch (the Lambda event), then the same batches as OpenRLHF
  ``POST /get_reward`` payloads.

Figures: samples/s for each, the server/in-process ratio per round (the median is the
headline; goal >= 0.8 for batches of 64), and request latency p50/p99 over all requests
(nearest rank, :func:`rewardsmith.core.telemetry.quantile`). The box is shared and noisy:
only the ratio, measured in the same run, is meant to be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from rewardsmith import Scorer, load_pack
from rewardsmith.core.logs import configure_logging
from rewardsmith.core.telemetry import quantile

SUITE = (Path(__file__).resolve().parents[1]
         / "src/rewardsmith/rubric_packs/tests/json-extraction.jsonl")


def batches_of(batch_size: int, count: int) -> list[list[dict[str, Any]]]:
    cases = [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    samples = [c["sample"] for c in cases if isinstance(c.get("sample"), dict)]
    out: list[list[dict[str, Any]]] = []
    n = 0
    for _ in range(count):
        batch = []
        for _ in range(batch_size):
            batch.append({**samples[n % len(samples)], "id": f"s{n}"})
            n += 1
        out.append(batch)
    return out


def openrlhf_payload(batch: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The same samples as OpenRLHF sends them: prompt text, prompt + response, label."""
    prompts, queries, labels = [], [], []
    for sample in batch:
        prompt = "\n\n".join(m["content"] for m in sample["messages"][:-1])
        prompts.append(prompt)
        queries.append(prompt + sample["messages"][-1]["content"])
        labels.append(sample.get("reference_answer"))
    return {"query": queries, "prompts": prompts, "labels": labels}


def in_process(scorer: Scorer, batches: list[list[dict[str, Any]]]) -> float:
    started = time.perf_counter()
    for batch in batches:
        scorer.score(batch)
    return sum(map(len, batches)) / (time.perf_counter() - started)


async def over_http(url: str, route: str, payloads: list[Any], sizes: list[int],
                    concurrency: int, latencies: list[float]) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(payloads)):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                sent = time.perf_counter()
                answer = await client.post(route, json=payloads[i])
                answer.raise_for_status()
                latencies.append(time.perf_counter() - sent)

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
    return sum(sizes) / (time.perf_counter() - started)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "serve", "json-extraction", "--port",
         str(port), "--max-inflight", "256"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging(level="warning")

    batches = batches_of(args.batch_size, args.batches)
    sizes = [len(b) for b in batches]
    openrlhf = [openrlhf_payload(b) for b in batches]
    scorer = Scorer(load_pack("json-extraction"))
    scorer.score(batches[0])  # warm: regexes compiled, schemas loaded
    process, url = start_server()
    lat: dict[str, list[float]] = {"/v1/score": [], "/get_reward": []}
    rows: list[tuple[float, float, float]] = []
    try:
        asyncio.run(over_http(url, "/v1/score", batches[:4], sizes[:4], args.concurrency, []))
        for round_ in range(args.rounds):
            local = served = openrlhf_rate = 0.0
            steps = ["local", "served"] if round_ % 2 == 0 else ["served", "local"]
            for step in steps:
                if step == "local":
                    local = in_process(scorer, batches)
                else:
                    served = asyncio.run(over_http(url, "/v1/score", batches, sizes,
                                                   args.concurrency, lat["/v1/score"]))
                    openrlhf_rate = asyncio.run(over_http(url, "/get_reward", openrlhf, sizes,
                                                          args.concurrency,
                                                          lat["/get_reward"]))
            rows.append((local, served, openrlhf_rate))
            print(f"round {round_ + 1}: in-process {local:8.0f} samples/s | /v1/score "
                  f"{served:8.0f} ({served / local:.2f}x) | /get_reward {openrlhf_rate:8.0f} "
                  f"({openrlhf_rate / local:.2f}x)", flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        scorer.close()

    ratio = statistics.median(s / loc for loc, s, _ in rows)
    ratio_openrlhf = statistics.median(o / loc for loc, _, o in rows)
    print(f"\nbatches of {args.batch_size}, {args.batches} batches, concurrency "
          f"{args.concurrency}, {args.rounds} rounds")
    print(f"median ratio server / in-process: /v1/score {ratio:.2f}, "
          f"/get_reward {ratio_openrlhf:.2f}")
    for route, values in lat.items():
        ms = [v * 1000 for v in values]
        print(f"{route} latency per request of {args.batch_size}: p50 {quantile(ms, 0.5):.1f} ms,"
              f" p99 {quantile(ms, 0.99):.1f} ms ({len(ms)} requests)")


if __name__ == "__main__":
    main()
