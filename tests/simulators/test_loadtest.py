"""``rewardsmith loadtest`` and ``rewardsmith simulate`` with a minimal judge component."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.cli import EXIT_CONFIG, build_cli
from rewardsmith.core.component import Component, ComponentConfig
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.backends import bedrock, openai
from rewardsmith.simulators.loadtest import LoadtestReport, run_loadtest


class TinyJudge(Component[Any]):
    """One judge call per sample: passed → 1.0."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["tiny-judge"] = "tiny-judge"
        judge: dict[str, Any] | None = None

    uses_judge = True

    async def score(self, sample: Sample) -> Score:
        reply = await self.context.judge_backend().complete(
            JudgeRequest("Grade the response.", f"<response>{sample.response}</response>",
                         VERDICT_SCHEMA))
        return Score.from_bool(bool(reply.parsed["passed"]))


class TinyCheck(Component[Any]):
    run = "async"

    class Config(ComponentConfig):
        type: Literal["tiny-check"] = "tiny-check"

    async def score(self, sample: Sample) -> Score:
        return Score.from_bool(True)


@hookimpl
def register_components(register: Any) -> None:
    register(TinyJudge)
    register(TinyCheck)


def make_host() -> PluginHost:
    return make_plugin_host(load_entry_points=False, plugins=[
        ("bedrock", bedrock), ("openai", openai),
        ("tiny", SimpleNamespace(register_components=register_components)),
    ])


def write_pack(tmp_path: Path, backend: str) -> Path:
    judge = ('backend = "bedrock"\nmodel = "openai.gpt-oss-120b-1:0"\nregion = "eu-west-1"\n'
             'boto_max_attempts = 1'
             if backend == "bedrock" else
             'backend = "openai"\nmodel = "judge"\nbase_url = "http://127.0.0.1:9/v1"')
    path = tmp_path / f"{backend}.toml"
    path.write_text(f'[pack]\nname = "lt-{backend}"\nversion = "1"\n\n[judge]\n{judge}\n'
                    'retry_base_delay_s = 0.005\nretry_max_delay_s = 0.02\n\n'
                    '[[components]]\nid = "judged"\ntype = "tiny-judge"\n')
    return path


def write_rollouts(tmp_path: Path) -> Path:
    rows = [{"id": f"r{i}", "messages": [
        {"role": "user", "content": "Say something."},
        {"role": "assistant", "content": "fine [[PASS]]" if i % 2 else "bad [[FAIL]]"}]}
        for i in range(4)]
    path = tmp_path / "rollouts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("backend", ["bedrock", "openai"])
def test_loadtest_scores_every_sample_against_the_simulator(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    report = run_loadtest(str(write_pack(tmp_path, backend)), write_rollouts(tmp_path),
                          concurrency=8, latency_s=0.01, samples=40, host=make_host())
    assert report.backend == backend
    assert report.samples == 40 and report.failed_samples == 0
    assert report.judge_calls == 40  # dedup is off: cycled rollouts still cost their calls
    assert report.http_requests == 40
    assert 1 <= report.max_in_flight <= 8
    assert report.failures == {}
    assert report.to_json()["ideal_calls_per_s"] == 800


def test_loadtest_with_throttling_still_answers_everything(tmp_path: Path) -> None:
    report = run_loadtest(str(write_pack(tmp_path, "bedrock")), write_rollouts(tmp_path),
                          concurrency=10, latency_s=0.01, throttle_rate=0.3, samples=30,
                          host=make_host())
    assert report.failed_samples == 0 and report.failures == {}
    assert report.faults_served["throttle"] > 0
    assert report.http_requests == 30 + report.faults_served["throttle"]
    assert report.model_answers == 30


def test_loadtest_against_a_simulator_process(tmp_path: Path) -> None:
    report = run_loadtest(str(write_pack(tmp_path, "bedrock")), write_rollouts(tmp_path),
                          concurrency=4, latency_s=0.01, samples=12, host=make_host(),
                          separate_process=True)
    assert report.failed_samples == 0
    assert report.http_requests == 12  # counters fetched from the child process
    assert report.faults_served == {"ok": 12}


def test_loadtest_cli_prints_the_report(tmp_path: Path) -> None:
    host = make_host()
    result = CliRunner().invoke(
        build_cli(host),
        ["loadtest", str(write_pack(tmp_path, "bedrock")), "--rollouts",
         str(write_rollouts(tmp_path)), "--concurrency", "4", "--latency", "0.01", "--json"],
        obj={"host": host},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples"] == 4 and report["judge_calls"] == 4
    assert report["ideal_calls_per_s"] == 400


def test_the_ideal_rate_is_what_the_batch_size_and_concurrency_allow() -> None:
    """Finding 12 (LOW): 12 calls at C = 16 and L = 1 s are ideally 12 calls/s (one wave),
    not 16; 20 calls at C = 16 need two waves: 10 calls/s; 32 calls: C / L = 16."""
    def report(calls: int) -> LoadtestReport:
        return LoadtestReport(backend="bedrock", model="m", samples=calls, concurrency=16,
                              latency_s=1.0, elapsed_s=1.25, judge_calls=calls,
                              http_requests=calls, faults_served={"ok": calls},
                              max_in_flight=min(calls, 16), latency_p50_ms=1000.0,
                              latency_p95_ms=1100.0)

    assert report(12).ideal_calls_per_s == 12.0
    assert report(12).efficiency == pytest.approx((12 / 1.25) / 12)
    assert report(20).ideal_calls_per_s == 10.0
    assert report(32).ideal_calls_per_s == 16.0
    assert report(0).ideal_calls_per_s == 16.0


def test_loadtest_needs_a_judge_component(tmp_path: Path) -> None:
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\nversion = "1"\n\n[[components]]\nid = "c"\n'
                    'type = "tiny-check"\n')
    host = make_host()
    result = CliRunner().invoke(build_cli(host), ["loadtest", str(pack), "--rollouts",
                                                  str(write_rollouts(tmp_path))],
                                obj={"host": host})
    assert result.exit_code == EXIT_CONFIG
    assert "has no judge components" in result.output


def test_loadtest_reports_a_bad_pack(tmp_path: Path) -> None:
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\nversion = "1"\n\n[[components]]\nid = "c"\n'
                    'type = "no-such-type"\n')
    host = make_host()
    result = CliRunner().invoke(build_cli(host), ["loadtest", str(pack), "--rollouts",
                                                  str(write_rollouts(tmp_path))],
                                obj={"host": host})
    assert result.exit_code == EXIT_CONFIG  # a pack error, as for every command (was 1)
    assert "unknown component type 'no-such-type'" in result.output


def test_simulate_runs_for_a_duration() -> None:
    host = make_host()
    result = CliRunner().invoke(build_cli(host), ["simulate", "openai", "--port", "0",
                                                  "--duration", "0.2", "--latency", "0.01"],
                                obj={"host": host})
    assert result.exit_code == 0, result.output
    assert "openai simulator listening on http://127.0.0.1:" in result.output
    assert "served 0 requests" in result.output


def test_simulate_rejects_impossible_rates() -> None:
    host = make_host()
    result = CliRunner().invoke(build_cli(host), ["simulate", "bedrock", "--duration", "0.1",
                                                  "--throttle-rate", "0.8",
                                                  "--server-error-rate", "0.8"],
                                obj={"host": host})
    assert result.exit_code != 0
    assert "add up" in result.output


def test_loadtest_prints_the_declared_quota_and_the_sizing_it_allows(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, "bedrock")
    pack.write_text(pack.read_text().replace(
        "boto_max_attempts = 1", "boto_max_attempts = 1\nrequests_per_minute = 1200\n"
        "tokens_per_minute = 600000"))
    report = run_loadtest(str(pack), write_rollouts(tmp_path), concurrency=4, latency_s=0.5,
                          samples=8, host=make_host())
    assert report.failed_samples == 0
    assert (report.declared_rpm, report.declared_tpm) == (1200, 600000)
    latency = report.latency_p50_ms / 1000
    by_requests = 1200 * latency / 60
    by_tokens = 600000 * latency / (60 * report.tokens_per_call)
    in_flight = 0.8 * min(by_requests, by_tokens)
    assert report.sizing() == {"quota_calls_in_flight": round(in_flight, 1),
                               "max_lambda_concurrency_limit": int(in_flight // 4)}
    text = report.render()
    assert "1,200 RPM, 600,000 TPM declared" in text
    assert f"lambda_concurrency_limit <= {int(in_flight // 4)} at concurrency 4" in text


def test_the_simulator_throttles_beyond_its_quota() -> None:
    from rewardsmith.simulators.faults import FaultPlan, FaultPolicy

    now = [0.0]
    plan = FaultPlan(FaultPolicy(quota_rps=5.0), clock=lambda: now[0])
    first = [plan.draw()[0] for _ in range(8)]  # a burst: one second's worth passes
    assert first == ["ok"] * 5 + ["throttle"] * 3
    now[0] = 0.4  # two tokens refilled
    assert [plan.draw()[0] for _ in range(3)] == ["ok", "ok", "throttle"]
