"""Reading pack test suites and scoring their cases, for the domain-pack tests.

The simulated judge answers each rubric-judge request from the verdicts of the case whose
response is in the request's ``candidate`` data block (criteria the case does not name
pass, as the suite format specifies), so a case's expectations are checked against the
real bedrock backend talking to the loopback Converse simulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.results import SampleResult
from rewardsmith.plugins.judges.prompting import neutralise
from rewardsmith.simulators.faults import VerdictRequest

PACKS_DIR = Path(__file__).parents[2] / "src" / "rewardsmith" / "rubric_packs"
ROLLOUTS_DIR = Path(__file__).parents[2] / "examples" / "rollouts"
_CANDIDATE_RE = re.compile(r"<<<DATA-([0-9a-f]+):candidate>>>\n(.*?)\n<<<END-DATA-\1:candidate>>>",
                           re.DOTALL)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def suite_cases(pack_name: str) -> list[dict[str, Any]]:
    return read_jsonl(PACKS_DIR / "tests" / f"{pack_name}.jsonl")


def response_text(sample: Mapping[str, Any]) -> str:
    content = sample["messages"][-1].get("content") or ""
    return content if isinstance(content, str) else "".join(
        b.get("text", "") for b in content if isinstance(b, Mapping))


@dataclass(frozen=True)
class Scored:
    """One sample of a case to score: where it came from and what the judge should say."""

    case: str
    role: str  # "sample", "better" or "worse"
    sample: dict[str, Any]
    verdicts: Mapping[str, Mapping[str, Any]]


def case_samples(case: Mapping[str, Any]) -> list[Scored]:
    verdicts = case.get("verdicts") or {}
    if case["kind"] == "pair":
        return [Scored(case["name"], role, case[role], verdicts.get(role) or {})
                for role in ("better", "worse")]
    return [Scored(case["name"], "sample", case["sample"], verdicts)]


class VerdictBook:
    """A Converse simulator verdict policy: per-criterion verdicts by candidate text."""

    def __init__(self, scored: Iterable[Scored]) -> None:
        self.by_text: dict[str, Mapping[str, Mapping[str, Any]]] = {}
        for item in scored:
            key = neutralise(response_text(item.sample).strip())
            known = self.by_text.get(key)
            if known is not None and item.verdicts and known and known != item.verdicts:
                raise ValueError(f"{item.case}: same response as another case, other verdicts")
            if known is None or (item.verdicts and not known):
                self.by_text[key] = item.verdicts
        self.unmatched = 0

    def __call__(self, request: VerdictRequest) -> dict[str, Any]:
        assert request.schema is not None, "the rubric judge always sends a verdict schema"
        found = _CANDIDATE_RE.search(request.last_user_text)
        verdicts = self.by_text.get(found.group(2).strip()) if found else None
        if verdicts is None:
            self.unmatched += 1
            verdicts = {}
        criteria = set(request.schema["properties"])
        component = next((v for v in verdicts.values() if criteria & set(v)), {})
        return {cid: {"rationale": "simulated", "verdict": str(component.get(cid, "pass"))}
                for cid in request.schema["properties"]}


def expectation_failures(case: Mapping[str, Any], results: Mapping[str, SampleResult]
                         ) -> list[str]:
    """What does not hold of a case's expectations, given its samples' results by role."""
    name, expect = case["name"], case.get("expect") or {}
    problems: list[str] = []
    if case["kind"] == "pair":
        better = results["better"].aggregate_reward_score
        worse = results["worse"].aggregate_reward_score
        if not better > worse + float(case.get("margin", 0.0)) - 1e-9 or better <= worse:
            problems.append(f"{name}: better {better:.3f} vs worse {worse:.3f} "
                            f"(margin {case.get('margin', 0.0)})")
        return problems
    result = results["sample"]
    reward = result.aggregate_reward_score
    if "reward" in expect:
        low, high = expect["reward"]
        if not low - 1e-9 <= reward <= high + 1e-9:
            problems.append(f"{name}: reward {reward:.3f} not in [{low}, {high}]")
    if "reward_below" in expect and not reward < expect["reward_below"]:
        problems.append(f"{name}: reward {reward:.3f} not below {expect['reward_below']}")
    if "status" in expect and result.status != expect["status"]:
        problems.append(f"{name}: status {result.status} (gate {result.gate}), "
                        f"expected {expect['status']}")
    if "gate" in expect and result.gate != expect["gate"]:
        problems.append(f"{name}: gate {result.gate}, expected {expect['gate']}")
    for cid, want in (expect.get("components") or {}).items():
        got = result.components.get(cid)
        if got is None or got.value is None:
            problems.append(f"{name}: component {cid} has no value")
            continue
        if "passed" in want and got.passed is not want["passed"]:
            problems.append(f"{name}: {cid}.passed is {got.passed}, expected {want['passed']}")
        if "min" in want and got.value < want["min"] - 1e-9:
            problems.append(f"{name}: {cid} = {got.value:.3f} below {want['min']}")
        if "max" in want and got.value > want["max"] + 1e-9:
            problems.append(f"{name}: {cid} = {got.value:.3f} above {want['max']}")
    for label, want in (expect.get("labels") or {}).items():
        component, criterion = label.split(".", 1)
        got = result.components.get(component)
        measured = None if got is None else got.measurements.get(criterion)
        if measured is None or (measured >= 0.5) is not want:
            problems.append(f"{name}: judge {label} = {measured}, labelled {want}")
    return problems


def child_pack(tmp_path: Path, parent: str, judge: Mapping[str, Any] | None = None,
               remove: Iterable[str] = ()) -> Path:
    """A pack extending ``parent`` as a user would: another [judge] table, fewer components."""
    lines = ["[pack]", f'name = "{parent}-test"', 'version = "1"', f'extends = "{parent}"']
    removed = list(remove)
    if removed:
        lines.append("remove_components = " + orjson.dumps(removed).decode())
    if judge:
        lines += ["", "[judge]"]
        lines += [f"{key} = {orjson.dumps(value).decode()}" for key, value in judge.items()]
    path = tmp_path / f"{parent}-test.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def results_by_case(scored: list[Scored], results: list[SampleResult]
                    ) -> dict[str, dict[str, SampleResult]]:
    out: dict[str, dict[str, SampleResult]] = {}
    for item, result in zip(scored, results, strict=True):
        out.setdefault(item.case, {})[item.role] = result
    return out
