"""``rewardsmith monitor`` end to end: JSON output, exit codes, the dashboard file."""

from __future__ import annotations

import json

from click.testing import CliRunner
from tests.support.monitor_runs import write_run

from rewardsmith.cli.main import build_cli
from rewardsmith.core.plugins import make_plugin_host


def _run(*args: str):
    cli = build_cli(make_plugin_host(load_entry_points=False))
    return CliRunner().invoke(cli, ["monitor", *args], catch_exceptions=False)


def test_json_alarms_and_exit_code_one(tmp_path):
    paths = write_run(tmp_path, steps=12, signature="swap_inconsistency", inject_at=7)
    html = tmp_path / "dash.html"
    result = _run("--json", "--html", str(html), *map(str, paths))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert set(doc) == {"steps", "alarms", "missing", "not_evaluated", "rules",
                        "skipped_lines", "skipped"}
    assert doc["missing"] == [] and doc["not_evaluated"] == [] and doc["skipped"] == []
    assert [s["step"] for s in doc["steps"]] == list(range(1, 13))
    assert doc["alarms"][0]["step"] in (7, 8, 9)
    assert doc["alarms"][0]["signal"] == "swap_inconsistency"
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"dashboard: {html}" in result.stderr


def test_clean_run_exits_zero_and_prints_a_table(tmp_path):
    result = _run(*map(str, write_run(tmp_path, steps=5)))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[:3] == ["step", "samples", "reward"]
    assert "no alarms" in result.stdout


def test_exit_zero_and_the_order_given(tmp_path):
    paths = write_run(tmp_path, steps=9, signature="group_spread_collapse", inject_at=5)
    result = _run("--exit-zero", *map(str, paths))
    assert result.exit_code == 0 and "ALARM step " in result.stdout
    # Reversed, the collapsed steps come first: the baseline is collapsed, no alarm.
    reversed_run = _run("--json", *map(str, reversed(paths)))
    assert json.loads(reversed_run.stdout)["alarms"] == []


def test_rules_file_and_bad_input_exit_two(tmp_path):
    paths = [str(p) for p in write_run(tmp_path / "run", steps=4)]
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "any_reward"\nsignal = "reward_seen"\n'
                     'metric = "reward_mean"\nabove = 0\n', encoding="utf-8")
    result = _run("--json", "--rules", str(rules), *paths)
    assert result.exit_code == 1
    assert [a["signal"] for a in json.loads(result.stdout)["alarms"]] == ["reward_seen"]
    rules.write_text("[[rule]]\nname = 1\n", encoding="utf-8")
    bad = _run("--rules", str(rules), *paths)
    assert bad.exit_code == 2 and "'name' must be a non-empty string" in bad.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    missing = _run(paths[0], str(empty))
    assert missing.exit_code == 2 and "step 2:" in missing.stderr
