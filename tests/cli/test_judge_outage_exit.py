"""``rewardsmith score`` and ``lambda invoke`` against a judge whose replies have the wrong
JSON type, or whose every verdict is ambiguous (tester findings 1, 4 and 12): exit 4 with the
cause named, rows that say ``status: "judge_unavailable"`` rather than ``ok``, and failed
rows carrying the calls' mode and attempts. Real httpx against the hostile local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.hostile_judge import HostileServer, hostile_server
from tests.support.judged_pack import write_judged_pack

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_JUDGE_UNAVAILABLE, EXIT_OK, build_cli

FAST = {"max_retries": 0, "circuit_failure_threshold": 50}


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def run(*args: str) -> object:
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), list(args), obj={"host": host})


def rollouts(tmp_path: Path) -> Path:
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"id": k, "messages": [
        {"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n"
        for k, q, a in (("a", "2+2?", "It is 5."), ("b", "3+3?", "It is 7."))))
    return path


@pytest.mark.parametrize(("mode", "kind"), [("raw:null", "judge_unavailable"),
                                            ("raw:list", "judge_unavailable"),
                                            ("raw:string", "judge_unavailable"),
                                            ("think", "ambiguous_verdict")])
def test_score_exits_4_and_rows_say_the_judge_was_unavailable(
        tmp_path: Path, server: HostileServer, mode: str, kind: str) -> None:
    pack = write_judged_pack(tmp_path, {"backend": "openai", "model": "judge",
                                        "base_url": f"{server.url}/{mode}/v1", **FAST})
    out = tmp_path / "out.jsonl"
    result = run("score", str(rollouts(tmp_path)), "--pack", str(pack), "-o", str(out))
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output  # type: ignore[attr-defined]
    assert f"error: judge component 'review' could not run ({kind})" in \
        result.stderr  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["judge_unavailable"] * 2
    for row in rows:
        review = row["components"]["review"]
        assert review["error_kind"] == kind
        assert review["measurements"]["judge_mode"] == "json_schema"
        assert review["measurements"]["judge_attempts"] == (2 if mode == "think" else 1)
        assert review["measurements"]["judge_repairs"] == (1 if mode == "think" else 0)
    allowed = run("score", str(rollouts(tmp_path)), "--pack", str(pack), "-o", str(out),
                  "--allow-judge-failures")
    assert allowed.exit_code == EXIT_OK, allowed.output  # type: ignore[attr-defined]


def test_a_pack_that_allows_judge_failures_keeps_status_ok(tmp_path: Path,
                                                           server: HostileServer) -> None:
    pack = write_judged_pack(tmp_path, {"backend": "openai", "model": "judge",
                                        "base_url": f"{server.url}/raw:null/v1",
                                        "allow_failures": True, **FAST})
    out = tmp_path / "out.jsonl"
    result = run("score", str(rollouts(tmp_path)), "--pack", str(pack), "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output  # type: ignore[attr-defined]
    assert [json.loads(line)["status"] for line in out.read_text().splitlines()] == ["ok"] * 2


def test_lambda_invoke_counts_the_outage(tmp_path: Path, server: HostileServer) -> None:
    pack = write_judged_pack(tmp_path, {"backend": "openai", "model": "judge",
                                        "base_url": f"{server.url}/raw:null/v1", **FAST})
    result = run("lambda", "invoke", "--pack", str(pack), str(rollouts(tmp_path)))
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output  # type: ignore[attr-defined]
    assert ("error: judge component 'review' could not run (judge_unavailable): the openai "
            "server answered with JSON null, not a response object") in \
        result.stderr  # type: ignore[attr-defined]
