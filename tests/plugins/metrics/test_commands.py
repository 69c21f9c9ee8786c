"""``rewardsmith metrics list|check``, through the real CLI group and plugin hook."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rewardsmith.cli import build_cli


def run(host, *args: str):
    result = CliRunner().invoke(build_cli(host), list(args), obj={"host": host})
    return result


def test_list_shows_registered_functions_with_their_distribution(
    host, metric_module, install_metric_entry_points
):
    install_metric_entry_points("acme-metrics",
                                {"reply_len": f"{metric_module.name}:reply_length"})
    result = run(host, "metrics", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["reply_len"] == {"name": "reply_len",
                                 "value": f"{metric_module.name}:reply_length",
                                 "distribution": "acme-metrics"}
    text = run(host, "metrics", "list").output
    assert "reply_len" in text and "(acme-metrics)" in text


def test_check_resolves_refs_as_a_pack_would(host, metric_module, monkeypatch):
    good = f"{metric_module.name}:async_length"
    result = run(host, "metrics", "check", good, f"{metric_module.name}:two_args", "nope:f")
    assert result.exit_code == 2
    assert f"ok {good}: {metric_module.name}.async_length (async)" in result.output
    assert "exactly one positional argument" in result.output
    assert "cannot import module 'nope'" in result.output

    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "company_metrics")
    result = run(host, "metrics", "check", good)
    assert result.exit_code == 2
    assert "not allowed by REWARDSMITH_METRIC_MODULES" in result.output


def test_the_command_is_first_party_not_the_scoring_plugins(host):
    group = build_cli(host)
    assert "metrics" in group.commands  # built by rewardsmith.cli
    assert host.infos["metrics"].commands == []  # the plugin only scores
