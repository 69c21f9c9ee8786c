"""The plugin path, end to end: the example distributions pip-installed into a fresh
venv are discovered, listed, and used to score, and ``REWARDSMITH_PLUGINS`` and broken
plugins behave as documented.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STEPS_3 = ("To reset the router:\n- Unplug it for ten seconds.\n- Plug it back in and wait "
           "for the light.\n- Reconnect your laptop to the network.")
PROSE = ("Unplug the router for ten seconds, plug it back in, wait until the light turns "
         "green and then reconnect your laptop to the network again.")
EIGHT = "\n".join(f"{i}. Step number {i} of the procedure." for i in range(1, 9))
DEFLECT = "- Please contact support for this issue.\n- They will call you back soon."
LONG = STEPS_3 + "\n\n" + " ".join(["Background detail about routers and networks."] * 60)


def rollout(sid: str, response: str, **metadata: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": sid,
        "messages": [{"role": "user", "content": "My wifi stopped working."},
                     {"role": "assistant", "content": response}],
    }
    if metadata:
        row["metadata"] = metadata
    return row


def test_plugins_lists_the_example_distributions(example_env):
    result = example_env.cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    check, pack = plugins["example_check"], plugins["example_pack"]
    assert check["distribution"] == "rewardsmith-example-check"
    assert check["version"] == "0.1.0"
    assert check["components"] == ["bullet-count"]
    assert pack["distribution"] == "rewardsmith-example-pack"
    assert pack["rubric_packs"] == ["support-steps-lite"]
    assert plugins["metrics"]["components"] == ["product-metric"]


def test_metric_function_entry_point_is_discovered(example_env):
    result = example_env.cli("metrics", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["read_seconds"] == {
        "name": "read_seconds",
        "value": "rewardsmith_example_pack.metrics:estimated_read_seconds",
        "distribution": "rewardsmith-example-pack",
    }


def test_packs_list_and_validate_show_the_example_pack(example_env):
    listed = example_env.cli("packs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    row = rows["support-steps-lite"]
    assert row.get("error") is None, row.get("error")
    assert row["distribution"] == "rewardsmith-example-pack"
    assert row["version"] == "0.1.0"

    validated = example_env.cli("packs", "validate", "support-steps-lite")
    assert validated.returncode == 0, validated.stderr
    assert "ok support-steps-lite: support-steps-lite 0.1.0" in validated.stdout
    assert "(5 components)" in validated.stdout


def test_score_run_uses_the_custom_check_and_the_metric_function(example_env, tmp_path):
    rollouts = tmp_path / "rollouts.jsonl"
    rows = [
        rollout("good", STEPS_3, outcomes={"resolved": True}),
        rollout("prose", PROSE),
        rollout("eight", EIGHT, outcomes={"resolved": False}),
        rollout("deflect", DEFLECT),
        rollout("long", LONG),
        rollout("empty", "OK."),
    ]
    rollouts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    result = example_env.cli("score", str(rollouts), "--pack", "support-steps-lite",
                             "-o", str(out), "--no-progress", "--no-summary")
    assert result.returncode == 0, result.stderr
    written = [json.loads(line) for line in out.read_text().splitlines()]
    # rows come as samples finish; "index" is the input position (issue 14)
    scored = {r["id"]: r for r in sorted(written, key=lambda r: r["index"])}
    assert list(scored) == [r["id"] for r in rows]
    assert sorted(r["index"] for r in written) == list(range(len(rows)))

    def steps(sid: str) -> dict[str, object]:
        return scored[sid]["components"]["steps"]

    # The custom check's verdicts and its measurement.
    assert (steps("good")["passed"], steps("good")["measurements"]["bullets"]) == (True, 3)
    assert (steps("prose")["passed"], steps("prose")["measurements"]["bullets"]) == (False, 0)
    assert (steps("eight")["passed"], steps("eight")["measurements"]["bullets"]) == (False, 8)
    assert (steps("deflect")["passed"], steps("deflect")["value"]) == (True, 1.0)
    assert "3 list items, within 2..6" in steps("good")["rationale"]

    # All five components agree on "good": 3 steps, no deflection, quick, resolved.
    assert scored["good"]["aggregate_reward_score"] == pytest.approx(1.0)
    # Prose: steps 0 (weight 2), keywords 1, read time 1; outcome unknown -> abstains.
    assert scored["prose"]["aggregate_reward_score"] == pytest.approx(2 / 4)
    assert scored["prose"]["components"]["resolved"]["error_kind"] == "metric_missing"
    # Eight steps, not resolved: only keywords and read time score.
    assert scored["eight"]["aggregate_reward_score"] == pytest.approx(2 / 6)
    assert scored["deflect"]["components"]["no_deflection"]["passed"] is False

    # The entry-point metric: raw reading time kept even when the reward clips to 0.
    long = scored["long"]
    raw = long["components"]["read_time"]["measurements"]["read_seconds"]
    words = len(LONG.split())
    assert raw == pytest.approx(words * 60 / 238)
    assert raw > 90 and long["components"]["read_time"]["value"] == 0.0
    assert {"name": "read_time.read_seconds", "value": pytest.approx(raw), "type": "Metric"} \
        in long["metrics_list"]

    # The gate: too short to be an answer; nothing else runs.
    assert scored["empty"]["status"] == "gated"
    assert scored["empty"]["aggregate_reward_score"] == 0.0
    assert scored["empty"]["components"]["steps"].get("skipped") is True


def test_python_api_scores_with_the_installed_pack(example_env):
    script = (
        "import json\n"
        "from rewardsmith import Scorer, load_pack, make_plugin_host\n"
        "from rewardsmith.core.wire import jsonl_row\n"
        "pack = load_pack('support-steps-lite', make_plugin_host())\n"
        "scorer = Scorer(pack)\n"
        f"batch = scorer.score([{rollout('a', STEPS_3)!r}, {rollout('b', PROSE)!r}])\n"
        "scorer.close()\n"
        "print(json.dumps([jsonl_row(r) for r in batch.results]))\n"
    )
    result = example_env.run("-c", script)
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout.strip().splitlines()[-1])
    assert first["components"]["steps"]["passed"] is True
    assert second["components"]["steps"]["passed"] is False
    assert first["pack"]["name"] == "support-steps-lite"


@pytest.mark.parametrize("package", ["rewardsmith-example-check", "rewardsmith-example-pack"])
def test_example_packages_own_tests_pass_with_the_author_fixtures(example_env, package):
    """Each example's tests use rewardsmith's pytest plugin (``rewardsmith_*`` fixtures),
    which a third-party test run gets from the installed rewardsmith, with no conftest.
    """
    project = example_env.examples / package
    result = example_env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project,
                             env=example_env.env(PYTHONDONTWRITEBYTECODE="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_plugin_allowlist_excludes_the_example_check(example_env):
    listed = json.loads(example_env.cli("plugins", "--json").stdout)
    allow = ",".join(p["name"] for p in listed if p["name"] != "example_check")
    env = example_env.env(REWARDSMITH_PLUGINS=allow)

    plugins = {p["name"] for p in json.loads(example_env.cli("plugins", "--json",
                                                             env=env).stdout)}
    assert "example_check" not in plugins and "example_pack" in plugins

    result = example_env.cli("packs", "validate", "support-steps-lite", env=env)
    assert result.returncode == 2
    assert "id='steps'" in result.stderr
    assert "unknown component type 'bullet-count'" in result.stderr

    # Allowing by distribution name works too.
    env = example_env.env(REWARDSMITH_PLUGINS=allow + ",rewardsmith-example-check")
    assert example_env.cli("packs", "validate", "support-steps-lite", env=env).returncode == 0


def test_broken_plugin_is_reported_by_distribution(example_env, make_package, tmp_path: Path):
    project = make_package(
        tmp_path, "rewardsmith-broken-demo", "rewardsmith_broken_demo",
        'raise RuntimeError("simulated failure while importing the plugin")\n',
        {"rewardsmith": {"broken_demo": "rewardsmith_broken_demo"}},
    )
    example_env.install_local(project)
    try:
        result = example_env.cli("plugins", "--json")
        assert result.returncode == 2
        assert "plugin 'broken_demo' from distribution 'rewardsmith-broken-demo' failed to " \
               "load" in result.stderr
        assert "simulated failure while importing the plugin" in result.stderr

        # The escape hatch: leave it out of REWARDSMITH_PLUGINS, everything else works.
        listed = json.loads(example_env.cli(
            "plugins", "--json",
            env=example_env.env(REWARDSMITH_PLUGINS="checks,metrics,example_check,example_pack"),
        ).stdout)
        assert {p["name"] for p in listed} == {"checks", "metrics", "example_check",
                                               "example_pack"}
    finally:
        example_env.pip("uninstall", "--yes", "rewardsmith-broken-demo")
    assert example_env.cli("plugins", "--json").returncode == 0
