"""Issue 15: the CLI steps a new user takes in the first hour work as documented: every
built-in pack valid, a judge pack tried offline (``score --judge simulator``), a simulator
whose start lines are all a client needs, ``packs show --effective``, a strict ``[judge]``
schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_OK, build_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def host():
    return make_plugin_host()


def invoke(host, *args: str):
    return CliRunner().invoke(build_cli(host), list(args), obj={"host": host})


def test_every_builtin_pack_is_valid_in_the_default_install(host) -> None:
    result = invoke(host, "packs", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} >= {"json-extraction", "contract-review",
                                         "customer-support", "tool-calling"}
    assert [r for r in rows if "error" in r] == []


def test_score_with_the_simulator_starts_uses_and_stops_it(host, tmp_path: Path) -> None:
    before = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    out = tmp_path / "results.jsonl"
    result = invoke(host, "score", str(ROOT / "examples/rollouts/contract-review.jsonl"),
                    "--pack", "contract-review", "--judge", "simulator", "-o", str(out),
                    "--no-summary")
    assert result.exit_code == EXIT_OK, result.output
    assert "judges: bedrock Converse simulator at http://127.0.0.1:" in result.output
    assert "region us-east-1, dummy AWS credentials, for this run only" in result.output
    rows = [orjson.loads(line) for line in out.read_text().splitlines()]
    judged = [r for r in rows if r["components"].get("review", {}).get("value") is not None]
    assert judged, "the rubric judge must have answered through the simulator"
    assert all(r["components"]["review"].get("error_kind") is None for r in judged)
    # The dummy credentials were for the run only.
    assert {k: os.environ.get(k) for k in before} == before


def test_score_with_the_simulator_on_a_pack_without_judges_says_so(host, tmp_path) -> None:
    result = invoke(host, "score", str(ROOT / "examples/rollouts/json-extraction.jsonl"),
                    "--pack", "json-extraction", "--judge", "simulator", "-o",
                    str(tmp_path / "r.jsonl"), "--no-summary")
    assert result.exit_code in (0, 3), result.output
    assert "has no judge; --judge simulator changes nothing" in result.output


def _start_lines(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line.strip())
        if line.strip().startswith("(to score"):
            return lines
    raise AssertionError("simulator ended before printing its settings: " + "\n".join(lines))


def test_simulate_prints_everything_a_boto3_client_needs(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "rewardsmith.cli", "simulate", "bedrock",
                             "--port", "0", "--duration", "60"],
                            stderr=subprocess.PIPE, text=True)
    try:
        exports = dict(line.removeprefix("export ").split("=", 1)
                       for line in _start_lines(proc) if line.startswith("export "))
        assert set(exports) == {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_DEFAULT_REGION",
                                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
        # A client configured from those lines alone: no AWS config files, no other env.
        env = {"PATH": os.environ.get("PATH", ""), "AWS_CONFIG_FILE": str(tmp_path / "none"),
               "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
               "AWS_EC2_METADATA_DISABLED": "true", **exports}
        code = ("import boto3\n"
                "r = boto3.client('bedrock-runtime').converse(modelId='m', messages=["
                "{'role': 'user', 'content': [{'text': 'Say ok.'}]}])\n"
                "print(r['stopReason'])\n")
        client = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
        assert client.returncode == 0, client.stderr
        assert client.stdout.strip() == "end_turn"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


CRITERIA = '''
[[criteria]]
id = "cites"
pass_if = "Every comment cites a clause."

[[criteria]]
id = "actionable"
pass_if = "Every comment states an action."
'''

PACK = '''
[pack]
name = "effective"
version = "1.0.0"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
max_concurrency = 7

[[components]]
id = "review"
type = "rubric-judge"
criteria_file = "criteria.toml"
judge = { temperature = 0.5 }
'''


def test_packs_show_effective_resolves_criteria_file_and_judge_settings(host, tmp_path):
    (tmp_path / "criteria.toml").write_text(CRITERIA)
    (tmp_path / "p.toml").write_text(PACK)
    plain = json.loads(invoke(host, "packs", "show", str(tmp_path / "p.toml")).output)
    assert "effective" not in plain["components"][0]
    result = invoke(host, "packs", "show", str(tmp_path / "p.toml"), "--effective")
    assert result.exit_code == 0, result.output
    effective = json.loads(result.output)["components"][0]["effective"]
    assert [c["id"] for c in effective["criteria"]] == ["cites", "actionable"]
    judge = effective["judge"]
    assert (judge["backend"], judge["model"], judge["max_concurrency"], judge["temperature"]) \
        == ("bedrock", "openai.gpt-oss-120b-1:0", 7, 0.5)
    assert "timeout_s" in judge  # a backend default, filled in


def test_packs_show_plain_lists_the_criteria_of_criteria_file(host, tmp_path) -> None:
    """Issue 15 leftover: plain ``packs show`` printed ``"criteria": []`` for a judge whose
    criteria all come from its criteria_file, as if it had none."""
    (tmp_path / "criteria.toml").write_text(CRITERIA)
    (tmp_path / "p.toml").write_text(PACK)
    result = invoke(host, "packs", "show", str(tmp_path / "p.toml"))
    assert result.exit_code == 0, result.output
    component = json.loads(result.output)["components"][0]
    assert component["criteria_file"] == "criteria.toml"
    assert component["criteria_from_file"] == [
        {"id": "cites", "pass_if": "Every comment cites a clause.", "weight": 1.0},
        {"id": "actionable", "pass_if": "Every comment states an action.", "weight": 1.0}]
    assert component["criteria"] == []  # the inline ones, as written
    keys = list(component)
    assert keys.index("criteria_from_file") == keys.index("criteria_file") + 1

    # inline criteria stay under "criteria"; the file's are not repeated there
    (tmp_path / "q.toml").write_text(PACK.replace(
        'criteria_file = "criteria.toml"',
        'criteria_file = "criteria.toml"\ncriteria = [{ id = "brief", pass_if = "Short." }]'))
    component = json.loads(invoke(host, "packs", "show", str(tmp_path / "q.toml")).output)[
        "components"][0]
    assert [c["id"] for c in component["criteria_from_file"]] == ["cites", "actionable"]
    assert [c["id"] for c in component["criteria"]] == ["brief"]

    # a component without a criteria file is shown exactly as written
    (tmp_path / "r.toml").write_text(PACK.replace(
        'criteria_file = "criteria.toml"', 'criteria = [{ id = "brief", pass_if = "Short." }]'))
    component = json.loads(invoke(host, "packs", "show", str(tmp_path / "r.toml")).output)[
        "components"][0]
    assert "criteria_from_file" not in component and "criteria_file" not in component


def test_judge_table_schema_is_strict_and_says_how_to_go_offline(host) -> None:
    schema = json.loads(invoke(host, "packs", "schema").output)
    judge = schema["properties"]["judge"]
    assert "--judge simulator" in judge["description"]
    refs = [v["$ref"].rsplit("/", 1)[-1] for v in judge["anyOf"][0]["oneOf"]]
    assert refs and all(schema["$defs"][r]["additionalProperties"] is False for r in refs)
