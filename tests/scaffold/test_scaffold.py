"""``rewardsmith packs new``: the scaffolded package validates, installs its pack through
its own hook, and its own test suite passes (and fails when the reward regresses)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rewardsmith import PluginHost, Scorer, load_pack, make_plugin_host
from rewardsmith.scaffold.package import ScaffoldError, package_names, scaffold_package


def sample(response: str, prompt: str = "Where is my refund?") -> dict[str, object]:
    return {"id": "s", "messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": response}]}


def run_generated_tests(package: Path) -> subprocess.CompletedProcess[str]:
    """The generated suite, as its author runs it: pytest inside the package, not installed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["REWARDSMITH_PLUGINS"] = "checks"  # the built-ins the starter pack uses
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"],
        cwd=package, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_new_writes_a_package_whose_pack_validates(invoke, host: PluginHost, tmp_path: Path):
    result = invoke("packs", "new", "acme-support", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    root = tmp_path / "acme-support"
    assert f"created {root}" in result.output
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        ".gitignore", "README.md", "pyproject.toml", "src/acme_support/__init__.py",
        "src/acme_support/packs/acme-support.toml",
        "src/acme_support/packs/tests/acme-support.jsonl", "tests/test_pack.py",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["acme-support"]  # no staging left over

    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "acme-support"
    assert project["project"]["entry-points"]["rewardsmith"] == {"acme_support": "acme_support"}
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert any(dep.startswith("rewardsmith") for dep in project["project"]["dependencies"])

    pack = load_pack(root / "src/acme_support/packs/acme-support.toml", host)
    assert (pack.name, pack.version) == ("acme-support", "0.1.0")
    assert {c.config.type for c in pack.components} <= set(host.components)
    assert [c.config.id for c in pack.components if c.config.gate] == ["not_empty"]


def test_generated_hook_registers_the_pack_and_it_scores(invoke, tmp_path: Path, import_from):
    assert invoke("packs", "new", "hook-check", "--dir", str(tmp_path)).exit_code == 0
    module = import_from(tmp_path / "hook-check" / "src", "hook_check")
    host = make_plugin_host(plugins=[("hook_check", module)])
    assert host.rubric_packs["hook-check"].plugin == "hook_check"

    scorer = Scorer(load_pack("hook-check", host))
    try:
        good, empty, placeholder = scorer.score([
            sample("Your refund was issued today and should reach your card within five "
                   "business days."),
            sample(""),
            sample("Hi [Customer Name], your refund was issued today and should reach your "
                   "card within five business days."),
        ]).results
    finally:
        scorer.close()
    assert (good.status, good.reward) == ("ok", 1.0)
    assert (empty.status, empty.gate, empty.reward) == ("gated", "not_empty", 0.0)
    # no_placeholders (weight 2) fails; the rest (weights 1 + 1 + 0.5 + 1 + 0.5) pass.
    assert placeholder.reward == pytest.approx(4 / 6)


def test_with_check_adds_a_component_the_pack_uses(invoke, tmp_path: Path, import_from):
    result = invoke("packs", "new", "acme-check", "--dir", str(tmp_path), "--with-check")
    assert result.exit_code == 0, result.output
    root = tmp_path / "acme-check"
    assert (root / "src/acme_check/checks.py").is_file()
    assert (root / "tests/test_checks.py").is_file()

    module = import_from(root / "src", "acme_check")
    host = make_plugin_host(plugins=[("acme_check", module)])
    assert host.components["acme-check-ends-cleanly"].plugin == "acme_check"
    pack = load_pack("acme-check", host)
    assert "ends_cleanly" in [c.config.id for c in pack.components]

    scorer = Scorer(pack)
    try:
        [cut] = scorer.score([sample("Your refund was issued today and it should reach your "
                                     "card within five business days, but if")]).results
    finally:
        scorer.close()
    assert cut.components["ends_cleanly"].value == 0.0
    assert cut.components["ends_cleanly"].measurements == {"trailing_char_code": ord("f")}


def test_generated_test_suite_passes_without_installing(tmp_path: Path):
    root = scaffold_package("suite-check", tmp_path, with_check=True)
    run = run_generated_tests(root)
    assert run.returncode == 0, run.stdout + run.stderr
    # 1 registration test + 9 suite cases + 6 tests of the custom check
    assert "16 passed" in run.stdout, run.stdout


def test_generated_plain_suite_passes_in_process(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REWARDSMITH_PLUGINS", "checks")
    root = scaffold_package("plain-suite", pytester.path)
    result = pytester.runpytest(str(root), "-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=9)  # registration + 8 suite cases


def test_generated_golden_cases_catch_a_reward_regression(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REWARDSMITH_PLUGINS", "checks")
    root = scaffold_package("regress-check", pytester.path)
    toml = root / "src/regress_check/packs/regress-check.toml"
    # Someone "simplifies" the placeholder pattern and it stops catching [Customer Name].
    text = toml.read_text()
    assert r"'\[(?:your|insert|customer|company)\b[^\]]*\]', " in text
    toml.write_text(text.replace(r"'\[(?:your|insert|customer|company)\b[^\]]*\]', ", ""))
    result = pytester.runpytest(str(root), "-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["FAILED *test_suite_case?unfilled_placeholder?*"])


def test_description_is_escaped_into_valid_toml(host: PluginHost, tmp_path: Path):
    tricky = 'Says "hi" \\ with a backslash, ünïcode and a # hash'
    root = scaffold_package("quoted-desc", tmp_path, description=tricky)
    pack = load_pack(root / "src/quoted_desc/packs/quoted-desc.toml", host)
    assert pack.description == tricky
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["description"] == tricky
    assert tricky in (root / "README.md").read_text()


def test_multi_line_description_is_refused(tmp_path: Path):
    with pytest.raises(ScaffoldError, match="single line"):
        scaffold_package("two-lines", tmp_path, description="one\ntwo")
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_is_never_touched(invoke, tmp_path: Path):
    existing = tmp_path / "acme-support"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    result = invoke("packs", "new", "acme-support", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert (existing / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["acme-support"]


def test_missing_dir_is_created_and_the_fresh_suite_passes(invoke, tmp_path: Path):
    parent = tmp_path / "new" / "deeper"
    result = invoke("packs", "new", "acme-support", "--dir", str(parent))
    assert result.exit_code == 0, result.output
    pack_file = parent / "acme-support/src/acme_support/packs/acme-support.toml"
    assert pack_file.is_file()
    # `packs test` runs the scaffold's own [tests] suite out of the box (issue 15).
    run = invoke("packs", "test", str(pack_file))
    assert run.exit_code == 0, run.output
    assert "8 passed, 0 failed" in run.output


def test_dir_that_is_a_file_is_an_error(invoke, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("packs", "new", "acme-support", "--dir", str(blocker))
    assert result.exit_code == 2
    assert "is a file" in result.output  # click says so before the scaffold runs
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Acme", "lowercase"),
        ("acme_support", "hyphens"),
        ("acme--support", "single hyphens"),
        ("-acme", "starting with a letter"),
        ("1acme", "starting with a letter"),
        ("acme.support", "hyphens"),
        ("acme/../x", "hyphens"),
        ("a" * 65, "longer than 64"),
        ("json", "standard library"),
        ("rewardsmith", "rewardsmith or pytest"),
        ("tests", "rewardsmith or pytest"),
        ("class", "keyword"),
        ("match", "keyword"),
    ],
)
def test_unsafe_names_are_refused(invoke, tmp_path: Path, name: str, reason: str):
    result = invoke("packs", "new", "--dir", str(tmp_path), "--", name)
    assert result.exit_code == 2
    assert reason in result.output
    assert list(tmp_path.iterdir()) == []


def test_names_derive_the_module():
    assert package_names("acme-support-2").module == "acme_support_2"
    assert package_names("acme").check_type == "acme-ends-cleanly"


def test_new_is_in_every_cli_without_a_plugin(invoke, tmp_path: Path):
    bare = make_plugin_host(load_entry_points=False)  # no plugin at all: cli/ builds `new`
    assert invoke("packs", "--help").exit_code == 0
    assert "new" in invoke("packs", "--help").output
    assert "new" in invoke("packs", "--help", with_host=bare).output
    result = invoke("packs", "new", "x-y", "--dir", str(tmp_path), with_host=bare)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x-y" / "pyproject.toml").is_file()


def test_generated_code_is_lint_clean(tmp_path: Path):
    """Authors start from code that passes the linters rewardsmith itself uses."""
    pytest.importorskip("ruff")
    root = scaffold_package("lint-check", tmp_path, with_check=True)
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select",
         "E,F,W,I,B,UP,RUF,SIM,PL", "."],
        cwd=root, capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(("name", "clash", "suggested"), [
    ("json-extraction", "pack name 'json-extraction' is already registered", "my-json-extraction"),
    ("support-agent", "pack name 'support-agent' is already registered", "my-support-agent"),
    ("checks", "module 'checks' is already a registered plugin name", "my-checks"),
])
def test_registered_names_are_refused_with_a_free_one(invoke, tmp_path: Path, name: str,
                                                       clash: str, suggested: str):
    # Installed, the package would register the name a second time (a built-in pack, or
    # the entry-point name of a loaded plugin).
    result = invoke("packs", "new", name, "--dir", str(tmp_path), with_host=make_plugin_host())
    assert result.exit_code == 2, result.output
    assert clash in result.output and f"e.g. {suggested!r}" in result.output
    assert list(tmp_path.iterdir()) == []
    assert invoke("packs", "new", suggested, "--dir", str(tmp_path),
                  with_host=make_plugin_host()).exit_code == 0
