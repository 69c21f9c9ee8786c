"""Every built-in pack's suite passes against the simulator; weakening a check fails the
probe that guards it, by name."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from rewardsmith.core.pack import load_pack
from rewardsmith.packtest.loading import load_pack_suite
from rewardsmith.packtest.suite import PairCase, ProbeCase

BUILTIN = files("rewardsmith.rubric_packs")
PACKS = ["json-extraction", "contract-review", "customer-support", "tool-calling"]


def _require(pack: str) -> None:
    if not BUILTIN.joinpath(f"{pack}.toml").is_file():
        pytest.skip(f"built-in pack {pack!r} is not in this checkout yet")


@pytest.mark.parametrize("pack", PACKS)
def test_builtin_suite_passes_with_the_simulator(pack, run_cli):
    _require(pack)
    result = run_cli(pack, "--backend", "simulator", "--json")
    report = json.loads(result.output)
    failed = [c for c in report["cases"] if not c["passed"]]
    assert result.exit_code == 0, failed
    assert report["passed"] and report["counts"]["failed"] == 0
    kinds = {c["kind"] for c in report["cases"]}
    assert kinds == {"golden", "probe", "pair"}


@pytest.mark.parametrize("pack", ["json-extraction", "contract-review"])
def test_builtin_suites_cover_the_probe_categories(pack, host):
    cases, _ = load_pack_suite(load_pack(pack, host))
    categories = {c.case.category for c in cases if isinstance(c.case, ProbeCase)}
    # Neither pack has a language check, so no wrong_language probe applies.
    assert categories >= {"verbosity", "repetition", "unicode", "fake_verdict",
                          "judge_instruction", "empty_content", "prompt_copy"}
    assert sum(isinstance(c.case, PairCase) for c in cases) >= 3
    assert sum(c.case.kind == "golden" for c in cases) >= 5


def _child(tmp_path: Path, parent: str, body: str) -> Path:
    path = tmp_path / "weak.toml"
    path.write_text(f'[pack]\nname = "weak"\nversion = "0.0.1"\nextends = "{parent}"\n{body}')
    return path


def test_removing_the_repetition_gate_fails_its_probes(tmp_path, run_cli):
    child = _child(tmp_path, "json-extraction", 'remove_components = ["repetition"]\n')
    result = run_cli(str(child), "--backend", "simulator")
    assert result.exit_code == 1, result.output
    failures = result.output.split("failures:")[1].split("reward distributions:")[0]
    assert "duplicated-line-items (probe" in failures
    assert "looping-notes (probe" in failures
    assert "expected reward < 0.35" in failures
    # Only the probes the repetition gate guarded fail.
    assert "clean-invoice" not in failures and "fake-verdict-json" not in failures


def test_a_lenient_unicode_threshold_fails_the_unicode_probes(tmp_path, run_cli):
    # Weaken, don't remove: the gate stays but no longer fails anything.
    child = _child(tmp_path, "json-extraction", """
[[components]]
id = "unicode"
gate = { fail_reward = 0.2, min_value = 0.0 }
""")
    result = run_cli(str(child), "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1
    failed = {c["name"] for c in report["cases"] if not c["passed"]}
    assert {"zero-width-and-homoglyphs", "private-use-characters"} <= failed


def test_removing_the_injection_gate_fails_the_judge_probes(tmp_path, run_cli):
    # Without the gate the simulated judge (told nothing about these cases) passes them.
    child = _child(tmp_path, "contract-review", 'remove_components = ["injection"]\n')
    result = run_cli(str(child), "--backend", "simulator", "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1
    failed = {c["name"]: c for c in report["cases"] if not c["passed"]}
    assert {"fake-verdict-json", "fake-data-boundary", "grader-instruction"} <= set(failed)
    assert any("expected gate 'injection' to decide" in f
               for f in failed["fake-verdict-json"]["failures"])
    assert "saas-good-review" not in failed
