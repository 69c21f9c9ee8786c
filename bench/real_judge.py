"""The real-judge figures (issue 14): parse-failure rate per structured-output mode, repair
turns, latency and pairwise position inconsistency of the pinned Qwen2.5-Coder-0.5B Q4_K_M
behind llama-server; with ``--record``, the HTTP cassettes the CI replay tests use.

Also measures the prompted-JSON wording: the old "one JSON object named 'rubric_verdict'"
against the current default (prompt mode, same samples); ``bench/judge_wording.py`` compares
every wording on a dozen samples.

Usage (from the repository root; the server is built/fetched if missing, tens of minutes)::

    .venv/bin/python bench/real_judge.py --record          # writes tests/judgemodel/cassettes
    .venv/bin/python bench/real_judge.py --url http://127.0.0.1:8080/v1 --json
    .venv/bin/python bench/real_judge.py --record --only customer-support--json_schema

``--only NAME`` (repeatable; a cassette's name without ``.jsonl``) runs just those scenarios,
so a slow judge can re-record one cassette at a time; ``--only prompt-wording`` runs the
old-wording arm alone (prompt mode, no cassette).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardsmith.judgemodel import scenarios
from rewardsmith.judgemodel.cassette import RecordingProxy

CASSETTES = Path(__file__).resolve().parent.parent / "tests" / "judgemodel" / "cassettes"

@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    from rewardsmith.judgemodel.assets import assemble_model
    from rewardsmith.judgemodel.build import build_server
    from rewardsmith.judgemodel.server import JudgeServer, configured_server_url

    url = url or configured_server_url()
    if url:
        yield url.rstrip("/")
        return

    with JudgeServer(build_server(), assemble_model()) as running:
        yield running.base_url


@contextlib.contextmanager
def through(upstream: str, cassette: Path | None) -> Iterator[str]:
    if cassette is None:
        yield upstream
        return
    cassette.unlink(missing_ok=True)
    with RecordingProxy(upstream, cassette) as proxy:
        yield proxy.base_url


@contextlib.contextmanager
def old_wording() -> Iterator[None]:
    """The old "one JSON object named 'rubric_verdict'" wording (``_verdict.WORDINGS``)."""
    from rewardsmith.plugins.backends import _verdict

    saved = _verdict.JSON_WORDING
    _verdict.JSON_WORDING = "named"
    try:
        yield
    finally:
        _verdict.JSON_WORDING = saved


def summarise(entry: dict[str, Any]) -> dict[str, Any]:
    latencies = entry.pop("latencies_ms")
    inconsistency = entry.pop("position_inconsistency")
    judged = entry["judged"]
    return {**entry,
            "parse_failure_rate": round(entry["parse_failures"] / judged, 3) if judged else None,
            "latency_p50_s": round(statistics.median(latencies) / 1000, 1) if latencies else None,
            "latency_max_s": round(max(latencies) / 1000, 1) if latencies else None,
            "position_inconsistency": round(statistics.fmean(inconsistency), 3)
            if inconsistency else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="base_url of a running server (default: start one)")
    parser.add_argument("--record", action="store_true",
                        help=f"write the cassettes to {CASSETTES}")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--wording-packs", type=int, default=len(scenarios.JUDGE_PACKS),
                        help="judge packs to measure the old prompt wording on")
    parser.add_argument("--only", action="append", metavar="NAME", default=[],
                        help="run only this scenario (e.g. customer-support--json_schema, "
                             "pairwise--json_schema, packs-test--json_schema, or "
                             "prompt-wording: the old wording in prompt mode); repeatable")
    args = parser.parse_args()
    known = {f"{pack}--{mode}" for pack in scenarios.JUDGE_PACKS for mode in scenarios.MODES}
    known |= {"pairwise--json_schema", "packs-test--json_schema", "prompt-wording"}
    unknown = sorted(set(args.only) - known)
    if unknown:
        parser.error(f"--only: unknown scenario(s) {unknown}; known: {sorted(known)}")

    def wanted(name: str) -> bool:
        return not args.only or name in args.only

    started = time.perf_counter()
    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="real-judge-"))

    def cassette(name: str) -> Path | None:
        return CASSETTES / f"{name}.jsonl" if args.record else None

    with server(args.url) as url:
        runs = []
        problems: list[str] = []
        for pack in scenarios.JUDGE_PACKS:
            for mode in scenarios.MODES:
                if not wanted(f"{pack}--{mode}"):
                    continue
                with through(url, cassette(f"{pack}--{mode}")) as base:
                    run = scenarios.run_judge_pack(work, base, pack, mode)
                problems += scenarios.plumbing_problems(run)
                runs.append(run)
        out["modes"] = {mode: summarise(entry)
                        for mode, entry in scenarios.figures(runs).items()}
        out["runs"] = {run.name: summarise(scenarios.figures([run])[run.mode]) for run in runs}
        if wanted("pairwise--json_schema"):
            with through(url, cassette("pairwise--json_schema")) as base:
                pairwise = scenarios.run_pairwise(work, base)
            problems += scenarios.plumbing_problems(pairwise)
            out["pairwise"] = summarise(scenarios.figures([pairwise])["json_schema"])
        if wanted("packs-test--json_schema"):
            with through(url, cassette("packs-test--json_schema")) as base:
                suite = scenarios.run_packs_test(work, base)
            out["packs_test"] = {"passed": suite.passed, "judges": suite.judges["components"]}
        if wanted("prompt-wording"):  # no cassette: the old wording is not replayed
            with old_wording():
                old = [scenarios.run_judge_pack(work / "old", url, pack, "prompt")
                       for pack in scenarios.JUDGE_PACKS[:args.wording_packs]]
            out["prompt_wording"] = {
                "old_named_wrapper": summarise(scenarios.figures(old)["prompt"]),
                "current_default": out["modes"].get("prompt"),
            }
        out["plumbing_problems"] = problems
    out["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2) if args.json else json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
