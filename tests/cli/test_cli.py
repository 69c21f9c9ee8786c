from __future__ import annotations

import math
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner
from tests.support import toy_plugin

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_CONFIG, EXIT_SAMPLES_FAILED, build_cli
from rewardsmith.core.hookspecs import hookimpl

PACK = """
[pack]
name = "cli-toy"
version = "0.3.0"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.0 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"
"""


@pytest.fixture
def host():
    return make_plugin_host(load_entry_points=False, plugins=[("toy", toy_plugin)])


def invoke(host, *args: str):
    return CliRunner().invoke(build_cli(host), list(args), obj={"host": host})


def line(i: object, text: str, prompt: str = "p") -> bytes:
    return orjson.dumps({"id": i, "messages": [{"role": "user", "content": prompt},
                                               {"role": "assistant", "content": text}]})


def test_score_malformed_lines_get_failed_rows_and_the_rest_is_scored(host, tmp_path: Path):
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_bytes(b"\n".join([
        line("a", "yes"),
        b"{not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        orjson.dumps({"messages": [{"role": "assistant", "content": "no id here"}]}),
        line("huge", "yes" * 2_000_000),
        line("b", ""),
    ]) + b"\n")
    out = tmp_path / "out.jsonl"
    result = invoke(host, "score", str(rollouts), "--pack", str(pack), "-o", str(out))
    assert result.exit_code == EXIT_SAMPLES_FAILED, result.output
    written = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    # rows come as samples finish (unreadable lines first); "index" restores input order
    rows = sorted(written, key=lambda r: r["index"])
    assert [r["index"] for r in rows] == list(range(7))  # one per non-blank line
    assert all(math.isfinite(r["aggregate_reward_score"]) for r in rows)
    assert rows[0]["id"] == "a" and rows[0]["aggregate_reward_score"] == 1.0
    assert rows[1]["status"] == "failed" and rows[1]["error"].startswith("line 2: not valid JSON")
    assert rows[2]["id"] == 4 and "line 4" in rows[2]["error"]
    assert rows[3]["error"].startswith("line 5: expected a JSON object, got list; a sample is {")
    assert rows[4]["id"] == 6 and rows[4]["status"] == "ok"  # no id: its line number
    assert rows[5]["error_kind"] == "oversized_response"
    assert rows[6]["status"] == "gated" and rows[6]["gate"] == "nonempty"
    assert all(r["pack"] == rows[0]["pack"] for r in rows)
    assert "4 of 7 samples could not be scored" in result.stderr
    assert "cli-toy 0.3.0" in result.stderr and "nonempty" in result.stderr
    in_order = tmp_path / "in-order.jsonl"
    ordered = invoke(host, "score", str(rollouts), "--pack", str(pack), "-o", str(in_order),
                     "--order", "input", "--batch-size", "3")
    assert ordered.exit_code == EXIT_SAMPLES_FAILED, ordered.output
    assert [orjson.loads(x) for x in in_order.read_bytes().splitlines()] == rows


def test_score_to_stdout_all_ok_exits_zero(host, tmp_path: Path):
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_bytes(line(1, "yes") + b"\n" + line(2, "no") + b"\n")
    result = invoke(host, "score", str(rollouts), "--pack", str(pack), "--no-summary")
    assert result.exit_code == 0
    rows = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert [r["aggregate_reward_score"] for r in rows] == [1.0, 0.0]
    assert rows[0]["components"]["yes"]["passed"] is True


def test_score_with_invalid_pack_exits_2_naming_the_problem(host, tmp_path: Path):
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK.replace('"contains"', '"contain"'))
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_bytes(line(1, "yes"))
    result = invoke(host, "score", str(rollouts), "--pack", str(pack))
    assert result.exit_code == EXIT_CONFIG
    assert "unknown component type 'contain'" in result.stderr


def test_packs_validate_and_schema(host, tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text(PACK)
    bad = tmp_path / "bad.toml"
    bad.write_text(PACK.replace('needle = "yes"', 'needle = "yes"\nweight = -1'))
    result = invoke(host, "packs", "validate", str(good), str(bad))
    assert result.exit_code == EXIT_CONFIG
    assert f"ok {good}: cli-toy 0.3.0 sha256:" in result.stdout
    assert f"INVALID {bad}" in result.stderr and "weight" in result.stderr
    schema = orjson.loads(invoke(host, "packs", "schema").stdout)
    assert "components" in schema["properties"]


def test_plugins_json_lists_builtin_plugins():
    host = make_plugin_host()
    result = invoke(host, "plugins", "--json")
    assert result.exit_code == 0
    infos = {p["name"]: p for p in orjson.loads(result.stdout)}
    assert infos["packs"]["distribution"] == "rewardsmith"
    assert "checks" in infos and "metrics" in infos


def test_score_report_is_written_and_escapes_candidate_text(host, tmp_path: Path):
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_bytes(line(1, "yes <script>alert(1)</script>") + b"\n" + line(2, "no")
                         + b"\n")
    report = tmp_path / "report.html"
    result = invoke(host, "score", str(rollouts), "--pack", str(pack), "-o",
                    str(tmp_path / "o.jsonl"), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    html = report.read_text()
    assert "<svg" in html and "cli-toy" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<div class="sub">prompt</div>' in html  # the shown samples' context


class _CommandPlugin:
    """A third-party plugin adding a top-level command and one to the ``packs`` group."""

    @staticmethod
    @hookimpl
    def register_commands(cli: click.Group) -> None:
        cli.add_command(click.Command("extra", callback=lambda: None))
        packs = cli.commands["packs"]
        assert isinstance(packs, click.Group)
        packs.add_command(click.Command("lint", callback=lambda: None))


def _command_paths(group: click.Group, prefix: str = "") -> set[str]:
    paths = set()
    for name, command in group.commands.items():
        paths.add(prefix + name)
        if isinstance(command, click.Group):
            paths |= _command_paths(command, f"{prefix}{name} ")
    return paths


FIRST_PARTY = {"plugins", "score", "calibrate", "simulate", "loadtest",
               "packs", "packs list", "packs show", "packs validate", "packs schema",
               "packs new", "packs test", "lambda", "lambda package", "lambda invoke",
               "metrics", "metrics list", "metrics check", "serve", "monitor",
               "judge-model", "judge-model fetch", "judge-model build", "judge-model serve"}


def test_plugins_records_commands_added_to_subgroups():
    host = make_plugin_host(load_entry_points=False, plugins=[("extras", _CommandPlugin())])
    build_cli(host)
    assert {path: reg.plugin for path, reg in host.commands.items()} == {
        "extra": "extras", "packs lint": "extras"}


class _EverythingPlugin(_CommandPlugin):
    """Provides one of each kind besides its commands."""

    @staticmethod
    @hookimpl
    def register_components(register):  # type: ignore[no-untyped-def]
        register(toy_plugin.NonEmpty)

    @staticmethod
    @hookimpl
    def register_metric_functions(register):  # type: ignore[no-untyped-def]
        register("reply_chars", lambda sample: len(sample.response))


def test_plugins_lists_what_each_plugin_provides():
    host = make_plugin_host(load_entry_points=False, plugins=[("everything", _EverythingPlugin())])
    result = invoke(host, "plugins", "--json")
    assert result.exit_code == 0, result.stderr
    assert orjson.loads(result.stdout) == [{
        "name": "everything", "distribution": "<local>", "version": None,
        "components": ["non-empty"], "judge_backends": [], "rubric_packs": [],
        "metric_functions": ["reply_chars"], "commands": ["extra", "packs lint"],
    }]
    text = invoke(host, "plugins").stdout
    assert "metric functions: reply_chars" in text and "commands: extra, packs lint" in text


def test_first_party_commands_need_no_plugin_and_plugin_commands_do_not_leak():
    bare = make_plugin_host(load_entry_points=False)
    extended = make_plugin_host(load_entry_points=False, plugins=[("extras", _CommandPlugin())])
    with_plugin = _command_paths(build_cli(extended))
    without = _command_paths(build_cli(bare))
    assert without >= FIRST_PARTY
    assert without == FIRST_PARTY
    assert with_plugin == FIRST_PARTY | {"extra", "packs lint"}


def test_lone_surrogates_in_a_line_are_valid_json_not_an_error(host, tmp_path: Path):
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_bytes(b'{"id": "sur\\ud800", "messages": [{"role": "user", "content": "p"}, '
                         b'{"role": "assistant", "content": "yes \\udfff"}]}\n')
    out = tmp_path / "o.jsonl"
    result = invoke(host, "score", str(rollouts), "--pack", str(pack), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    row = __import__("json").loads(out.read_text())
    assert row["id"] == "sur\ud800" and row["aggregate_reward_score"] == 1.0
