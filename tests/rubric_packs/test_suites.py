"""The suites shipped with the built-in domain packs: well-formed per the suite format,
pointing at components and criteria that exist, covering the hackability probes, and every
case's expectations holding when scored (judge verdicts through the real bedrock backend
and the loopback Converse simulator)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.suites import (
    PACKS_DIR,
    VerdictBook,
    case_samples,
    child_pack,
    expectation_failures,
    results_by_case,
    suite_cases,
)

from rewardsmith import Scorer, load_pack
from rewardsmith.simulators.wiring import bedrock_settings

PACKS = ["customer-support", "tool-calling"]
CATEGORIES = {"verbosity", "repetition", "unicode", "fake_verdict", "judge_instruction",
              "empty_content", "prompt_copy", "wrong_language"}
# Categories that do not apply: a tool call has no language of its own.
NOT_APPLICABLE = {"customer-support": set(), "tool-calling": {"wrong_language"}}


@pytest.mark.parametrize("name", PACKS)
def test_pack_declares_its_suite(name: str) -> None:
    pack = load_pack(name)
    suite = pack.document.tests["suite"]
    assert (PACKS_DIR / suite).resolve() == (PACKS_DIR / "tests" / f"{name}.jsonl").resolve()
    assert (PACKS_DIR / suite).is_file()


@pytest.mark.parametrize("name", PACKS)
def test_suite_is_well_formed(name: str) -> None:
    cases = suite_cases(name)
    pack = load_pack(name)
    judges = {c.config.id: {cr.id for cr in c.criteria} for c in pack.components
              if c.config.type == "rubric-judge"}
    component_ids = {c.config.id for c in pack.components}
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    kinds = Counter(c["kind"] for c in cases)
    assert set(kinds) == {"golden", "probe", "pair"}
    assert kinds["golden"] >= 10 and kinds["probe"] >= 8 and kinds["pair"] >= 5
    covered = {c["category"] for c in cases if c["kind"] == "probe"}
    assert covered <= CATEGORIES
    assert covered == CATEGORIES - NOT_APPLICABLE[name]
    for case in cases:
        expect = case.get("expect") or {}
        if case["kind"] == "probe":
            assert "reward_below" in expect, case["name"]
        if case["kind"] == "golden":
            assert expect, case["name"]
            if expect.get("status") == "gated":
                assert expect["gate"] in component_ids, case["name"]
        for cid in expect.get("components") or {}:
            assert cid in component_ids, (case["name"], cid)
        for label in expect.get("labels") or {}:
            component, criterion = label.split(".", 1)
            assert criterion in judges[component], (case["name"], label)
        verdicts = case.get("verdicts") or {}
        per_sample = verdicts.values() if case["kind"] == "pair" else [verdicts]
        if case["kind"] == "pair":
            assert set(verdicts) <= {"better", "worse"}, case["name"]
        for sample_verdicts in per_sample:
            for component, criteria in sample_verdicts.items():
                assert set(criteria) <= judges[component], (case["name"], component)
                assert set(criteria.values()) <= {"pass", "fail"}, case["name"]


def test_customer_support_golden_labels_match_their_verdicts() -> None:
    """The labels (what a correct judge says) and the simulated verdicts agree, so the
    simulator plays a correct judge and agreement statistics start from a true baseline."""
    for case in suite_cases("customer-support"):
        labels = case["expect"].get("labels") if case["kind"] == "golden" else None
        if labels:
            verdicts = case["verdicts"]["reply"]
            assert labels == {f"reply.{k}": v == "pass" for k, v in verdicts.items()}


@pytest.mark.parametrize("name", PACKS)
def test_every_case_holds_when_scored(name: str, tmp_path: Path,
                                      converse_simulator: Any) -> None:
    cases = suite_cases(name)
    scored = [item for case in cases for item in case_samples(case)]
    book = VerdictBook(scored)
    converse_simulator.set_policy(book)
    pack = load_pack(child_pack(tmp_path, name, bedrock_settings(converse_simulator.endpoint_url)))
    batch = Scorer(pack).score([item.sample for item in scored])
    by_case = results_by_case(scored, batch.results)
    problems = [p for case in cases for p in expectation_failures(case, by_case[case["name"]])]
    assert not problems, "\n".join(problems)
    assert book.unmatched == 0  # every judge request was answered from a case's verdicts
    judged = sum(1 for r in batch.results if "reply" in r.components
                 and not r.components["reply"].skipped)
    if name == "customer-support":
        assert judged > 0 and converse_simulator.request_count > 0
    else:
        assert converse_simulator.request_count == 0  # tool-calling has no judge


def test_expectation_checker_reports_what_does_not_hold(tmp_path: Path) -> None:
    """The checker itself: a case whose expectations are wrong is reported, not passed."""
    case = next(c for c in suite_cases("tool-calling") if c["name"] == "meeting-wrong-hour")
    wrong = {**case, "name": "mislabelled",
             "expect": {"status": "gated", "reward": [0.0, 0.5],
                        "components": {"fields": {"min": 0.9}}}}
    scored = case_samples(wrong)
    batch = Scorer(load_pack("tool-calling")).score([s.sample for s in scored])
    problems = expectation_failures(wrong, results_by_case(scored, batch.results)["mislabelled"])
    assert len(problems) == 3
    assert any("status ok" in p for p in problems)
    assert any("fields = 0.833 below 0.9" in p for p in problems)


@pytest.mark.parametrize("name", PACKS)
def test_packs_test_runner_passes_the_suite_with_the_simulator(name: str) -> None:
    """The shipped suite also passes `rewardsmith packs test --backend simulator`, the
    command pack users run, whose verdict policy is independent of suite_support's."""
    from click.testing import CliRunner

    from rewardsmith import make_plugin_host
    from rewardsmith.cli import build_cli

    host = make_plugin_host()
    result = CliRunner().invoke(build_cli(host), ["packs", "test", name, "--backend",
                                                  "simulator", "--json"], obj={"host": host})
    assert result.exit_code == 0, result.output[-2000:]
    report = orjson.loads(result.stdout)
    assert report["passed"] is True
    assert report["counts"] == {"cases": len(suite_cases(name)), "failed": 0}
