"""The scenarios of the real-judge suite (issue 14), shared by the live tests, the replay
tests and ``bench/real_judge.py`` (which records the cassettes and the figures).

Each scenario scores through the real ``openai`` backend (httpx) against ``base_url``:
llama-server serving the pinned 0.5B model, a :class:`RecordingProxy` in front of it, or a
:class:`ReplayServer` of a recorded cassette. What is asserted is the plumbing, never the
small model's judgement: finite rewards, every judge error explained, call counts, both
orders of a comparison sent, failures loud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.core.pack import load_pack
from rewardsmith.core.results import BatchResult
from rewardsmith.core.wire import REWARD_KEY, jsonl_row
from rewardsmith.packtest.loading import load_pack_suite
from rewardsmith.packtest.runner import SuiteReport, run_suite
from rewardsmith.packtest.suite import GoldenCase, ProbeCase

JUDGE_PACKS = ("customer-support", "contract-review")
MODES = ("json_schema", "json_object", "prompt")
# One sample a pack and mode: a CPU judge takes minutes a call on a shared 2-core box.
SAMPLES_PER_PACK = 1
PARSE_KINDS = frozenset({"judge_parse", "ambiguous_verdict", "judge_invalid_verdict"})


def child_pack(folder: Path, parent: str, judge: dict[str, Any]) -> Path:
    """A pack extending the built-in ``parent`` with another [judge] table, as a user would."""
    lines = ["[pack]", f'name = "{parent}-real-judge"', 'version = "1"', f'extends = "{parent}"',
             "", "[judge]", _toml(judge)]
    path = folder / f"{parent}-real-judge.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def judge_table(base_url: str, mode: str) -> dict[str, Any]:
    """The [judge] settings of every scenario: deterministic decoding (so a replay sees the
    recorded request bodies), CPU-sized limits, no cache."""
    return {"backend": "openai", "model": "judge", "base_url": base_url,
            "response_format": mode, "temperature": 0.0, "max_tokens": 512,
            "timeout_s": 600.0, "max_retries": 1, "max_concurrency": 2, "cache_path": ""}


@dataclass
class ScenarioRun:
    """What one scenario produced: wire rows and the batch telemetry summary."""

    name: str
    mode: str
    rows: list[dict[str, Any]]
    telemetry: dict[str, Any]
    judged: int  # samples the judge component(s) ran on (not gated, not skipped)
    extra: dict[str, Any] = field(default_factory=dict)


def _is_judge_outcome(outcome: dict[str, Any]) -> bool:
    """Whether a component outcome is a judge's (it called the judge, or failed as one); a
    check or product metric failing in the same row (``metric_missing``) is not."""
    return "judge_calls" in (outcome.get("measurements") or {}) \
        or (outcome.get("error_kind") or "").startswith(("judge", "ambiguous"))


def _judged(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows for outcome in (row.get("components") or {}).values()
               if _is_judge_outcome(outcome))


def _score(pack_path: Path, samples: list[dict[str, Any]]) -> BatchResult:
    from rewardsmith.core.engine import Scorer

    scorer = Scorer(load_pack(pack_path))
    try:
        return scorer.score(samples, timeout_s=3600)
    finally:
        scorer.close()


def pack_samples(pack: str, count: int = SAMPLES_PER_PACK) -> list[dict[str, Any]]:
    """The first ``count`` single-sample cases of a built-in pack's own suite."""
    cases, _ = load_pack_suite(load_pack(pack))
    out = []
    for loaded in cases:
        case = loaded.case
        if isinstance(case, GoldenCase | ProbeCase):
            out.append({**case.sample, "id": case.name})
        if len(out) == count:
            break
    return out


def run_judge_pack(tmp_path: Path, base_url: str, pack: str, mode: str) -> ScenarioRun:
    """A few samples of a judge pack through its judge in ``mode``."""
    folder = tmp_path / f"{pack}-{mode}"
    folder.mkdir(parents=True, exist_ok=True)
    path = child_pack(folder, pack, judge_table(base_url, mode))
    batch = _score(path, pack_samples(pack))
    rows = [jsonl_row(r) for r in batch.results]
    return ScenarioRun(f"{pack}/{mode}", mode, rows, batch.telemetry.summary(), _judged(rows))


PAIRWISE_PACK = """\
[pack]
name = "pairwise-real"
version = "1"

[judge]
{judge}

[[components]]
id = "cmp"
type = "pairwise-judge"
mode = "reference"
weight = 1
"""

PAIRWISE_SAMPLES = [
    {"id": "close", "messages": [
        {"role": "user", "content": "How do I stop a tap from dripping?"},
        {"role": "assistant", "content": "Turn off the water, open the tap and replace the "
                                         "worn washer."}],
     "reference_answer": "Shut off the supply and replace the worn washer or cartridge."},
    {"id": "off", "messages": [
        {"role": "user", "content": "How do I stop a tap from dripping?"},
        {"role": "assistant", "content": "Paint the wall a lighter colour."}],
     "reference_answer": "Shut off the supply and replace the worn washer or cartridge."},
]


def _toml(table: dict[str, Any]) -> str:
    import json

    return "\n".join(f"{key} = {json.dumps(value)}" for key, value in table.items())


def run_pairwise(tmp_path: Path, base_url: str, mode: str = "json_schema") -> ScenarioRun:
    """Two samples against their reference, each comparison asked in both orders."""
    path = tmp_path / f"pairwise-{mode}.toml"
    path.write_text(PAIRWISE_PACK.format(judge=_toml(judge_table(base_url, mode))),
                    encoding="utf-8")
    batch = _score(path, PAIRWISE_SAMPLES[:1])
    rows = [jsonl_row(r) for r in batch.results]
    return ScenarioRun(f"pairwise/{mode}", mode, rows, batch.telemetry.summary(),
                       _judged(rows))


SUITE_PACK = """\
[pack]
name = "label-check-real"
version = "1"

[judge]
{judge}

[[components]]
id = "review"
type = "rubric-judge"
weight = 1
criteria = [{{ id = "actionable", pass_if = "The answer states one concrete action." }}]

[tests]
suite = "cases.jsonl"
"""


def run_packs_test(tmp_path: Path, base_url: str, mode: str = "json_schema") -> SuiteReport:
    """``packs test`` on a two-case pack whose judge is the real model."""
    import json

    folder = tmp_path / "suite"
    folder.mkdir(parents=True, exist_ok=True)
    cases = [
        {"kind": "probe", "name": "off-topic", "category": "off_topic",
         "expect": {"reward_below": 2.0}, "sample": PAIRWISE_SAMPLES[1]},
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases),
                                        encoding="utf-8")
    path = folder / "pack.toml"
    path.write_text(SUITE_PACK.format(judge=_toml(judge_table(base_url, mode))),
                    encoding="utf-8")
    return run_suite(load_pack(path), load_pack_suite(load_pack(path))[0])


def plumbing_problems(run: ScenarioRun) -> list[str]:
    """What is wrong with the plumbing of ``run`` whatever the small model answered (see
    module docstring): an empty list when nothing is."""
    problems: list[str] = []
    if not run.rows:
        return [f"{run.name}: no rows"]
    for row in run.rows:
        if not math.isfinite(row[REWARD_KEY]):
            problems.append(f"{run.name} {row['id']}: reward {row[REWARD_KEY]!r} not finite")
        for cid, outcome in (row.get("components") or {}).items():
            kind = outcome.get("error_kind")
            if not kind:
                continue
            if not outcome.get("error"):  # every failure is explained
                problems.append(f"{run.name} {row['id']} {cid}: {kind} without a message")
            elif kind in PARSE_KINDS and "verdict" not in outcome["error"] \
                    and "JSON" not in outcome["error"]:
                problems.append(f"{run.name} {row['id']} {cid}: unexplained {kind}: "
                                f"{outcome['error']}")
            if row["status"] != "failed" and not outcome.get("policy"):
                problems.append(f"{run.name} {row['id']} {cid}: {kind} without a policy")
    telemetry = run.telemetry
    # At least one judge call per judged sample (a pairwise sample asks two), unless an
    # identical request in the batch shared it.
    if not telemetry["judge_calls"] + telemetry["deduplicated"] >= run.judged > 0:
        problems.append(f"{run.name}: {telemetry['judge_calls']} judge calls for "
                        f"{run.judged} judged samples")
    if telemetry["judge_modes"] != {run.mode: telemetry["judge_calls"]}:
        problems.append(f"{run.name}: modes {telemetry['judge_modes']}, expected only "
                        f"{run.mode}")
    if telemetry["judge_attempts"] < telemetry["judge_calls"]:
        problems.append(f"{run.name}: fewer attempts than calls")
    if "circuit_open" in str(telemetry["failures"]):
        problems.append(f"{run.name}: the circuit opened: {telemetry['failures']}")
    return problems


def figures(runs: list[ScenarioRun]) -> dict[str, dict[str, Any]]:
    """Parse-failure rate, repairs, latency and position inconsistency per mode."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        entry = out.setdefault(run.mode, {"calls": 0, "judged": 0, "parse_failures": 0,
                                          "repairs": 0, "latencies_ms": [],
                                          "position_inconsistency": []})
        entry["calls"] += run.telemetry["judge_calls"]
        entry["repairs"] += run.telemetry["judge_repairs"]
        for row in run.rows:
            for outcome in (row.get("components") or {}).values():
                measurements = outcome.get("measurements") or {}
                if outcome.get("error_kind") in PARSE_KINDS:
                    entry["parse_failures"] += 1
                if _is_judge_outcome(outcome):
                    entry["judged"] += 1
                if isinstance(measurements.get("judge_latency_ms"), int | float) and \
                        measurements.get("judge_calls"):
                    entry["latencies_ms"].append(measurements["judge_latency_ms"])
                value = measurements.get("position_inconsistency")
                if isinstance(value, int | float):
                    entry["position_inconsistency"].append(float(value))
    return out
