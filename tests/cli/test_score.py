"""``rewardsmith score`` when a judge cannot run (issue 9, case F1): the cause is printed
once and the run stops with exit code 4, unless the user accepts rewards without the judge
(``--allow-judge-failures`` or the pack's ``[judge] allow_failures``). Real backends (boto3,
httpx) against a closed localhost port, and against an AWS set-up with no region or no
credentials."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from tests.support.judged_pack import write_judged_pack

from rewardsmith import make_plugin_host
from rewardsmith.cli import EXIT_JUDGE_UNAVAILABLE, EXIT_OK, build_cli

# Retry quickly: the failures here are certain, the test need not wait them out.
FAST = {"max_retries": 1, "retry_base_delay_s": 0.005, "retry_max_delay_s": 0.01,
        "circuit_failure_threshold": 2, "circuit_cooldown_s": 0.05, "timeout_s": 10.0,
        "connect_timeout_s": 2.0}


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_pack(tmp_path: Path, judge: dict[str, Any]) -> Path:
    return write_judged_pack(tmp_path, judge)


def write_rollouts(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "rollouts.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": f"Of course, happy to help with request {i}."},
    ]}) + b"\n" for i in range(count)))
    return path


def score(*args: str) -> Any:
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), ["score", *args], obj={"host": host})


def bedrock(endpoint: str | None = None, **settings: Any) -> dict[str, Any]:
    judge = {"backend": "bedrock", "model": "openai.gpt-oss-120b-1:0", "boto_max_attempts": 1,
             **FAST, **settings}
    if endpoint is not None:
        judge["endpoint_url"] = endpoint
    return judge


def openai(port: int, **settings: Any) -> dict[str, Any]:
    return {"backend": "openai", "model": "judge", "base_url": f"http://127.0.0.1:{port}/v1",
            **FAST, **settings}


@pytest.mark.parametrize("backend", ["bedrock", "openai"])
def test_a_judge_refusing_connections_stops_the_run_naming_the_cause(
    backend: str, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASIMULATOR000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simulator-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    judge = (bedrock(f"http://127.0.0.1:{closed_port}", region="us-east-1")
             if backend == "bedrock" else openai(closed_port))
    pack = write_pack(tmp_path, judge)
    rollouts = write_rollouts(tmp_path, 12)
    out = tmp_path / "out.jsonl"
    result = score(str(rollouts), "--pack", str(pack), "-o", str(out), "--batch-size", "6")

    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    cause = ("bedrock endpoint unreachable: Could not connect to the endpoint URL"
             if backend == "bedrock" else "openai endpoint unreachable: ConnectError")
    assert result.stderr.count("judge component 'review' could not run") == 1
    assert result.stderr.count(cause) == 1, result.stderr
    # The connection failure is named even when the breaker had the last word.
    assert "(judge_unavailable)" in result.stderr or "last failure: " in result.stderr
    assert "--allow-judge-failures" in result.stderr
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(rows) == 6  # stopped after the first batch
    assert all(r["components"]["review"]["error_kind"] in ("judge_unavailable", "circuit_open")
               for r in rows)


def test_allowing_judge_failures_scores_with_the_checks_and_shows_the_failure_rate(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    pack = write_pack(tmp_path, openai(closed_port))
    rollouts = write_rollouts(tmp_path, 8)
    out = tmp_path / "out.jsonl"
    report = tmp_path / "report.html"
    result = score(str(rollouts), "--pack", str(pack), "-o", str(out), "--batch-size", "4",
                   "--allow-judge-failures", "--report", str(report))

    assert result.exit_code == EXIT_OK, result.output  # as before: every sample got a reward
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    # the flag accepts the outage for the exit code; the rows still say what happened
    assert len(rows) == 8 and all(r["status"] == "judge_unavailable" for r in rows)
    assert all(r["aggregate_reward_score"] == 1.0 for r in rows)  # the length check alone
    assert result.stderr.count("warning: judge component 'review' could not run") == 1
    table = {line.split()[0]: line.split() for line in result.stderr.splitlines()
             if line.split() and line.split()[0] in ("review", "length")}
    # component, mean, pass, scored, errors, failed, skipped
    assert table["review"][4:6] == ["8", "100%"]
    assert table["length"][4:6] == ["0", "0%"]
    html = report.read_text(encoding="utf-8")
    assert "100%</b> failed" in html and "judge_unavailable" in html


def test_the_pack_can_allow_failures_for_its_judge(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    pack = write_pack(tmp_path, openai(closed_port, allow_failures=True))
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr.count("warning: judge component 'review' could not run") == 1


def test_no_region_stops_the_run_saying_how_to_set_one(
    no_aws: None, tmp_path: Path,
) -> None:
    pack = write_pack(tmp_path, bedrock())
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "could not run (judge_config)" in result.stderr
    assert "NoRegionError" in result.stderr or "region" in result.stderr.lower()
    assert "AWS_DEFAULT_REGION" in result.stderr


def test_no_credentials_stops_the_run_naming_them(
    no_aws: None, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    pack = write_pack(tmp_path, bedrock(f"http://127.0.0.1:{closed_port}"))
    result = score(str(write_rollouts(tmp_path, 3)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "could not run (judge_config): NoCredentialsError" in result.stderr
    assert result.stderr.count("Unable to locate credentials") <= 2  # the CLI's line, and
    # the backend's one configuration-error log line; never one per sample


# -- unseen instances of F1's kind (issue 9, round 2): every way a judge can fail to run ----
class _ExpiredTokenHandler(BaseHTTPRequestHandler):
    """Answers every Converse call as AWS does for expired session credentials."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"message": "The security token included in the request is expired"}'
        self.send_response(403)
        self.send_header("x-amzn-ErrorType", "ExpiredTokenException:")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def expired_token_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ExpiredTokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _simulated(request: pytest.FixtureRequest, backend: str, fault: str | None = None,
               reply: str | None = None, **settings: Any) -> dict[str, Any]:
    """A [judge] table for the simulator of ``backend``, serving ``fault`` to every call or
    ``reply`` as every answer."""
    sim = request.getfixturevalue("converse_simulator" if backend == "bedrock"
                                  else "openai_simulator")
    if fault is not None:
        sim.outage(fault, 3600.0)
    if reply is not None:
        sim.set_policy(lambda _request: reply)
    if backend == "bedrock":
        return bedrock(sim.endpoint_url, region="us-east-1", **settings)
    return {"backend": "openai", "model": "judge", "base_url": sim.base_url, **FAST,
            **settings}


@pytest.mark.parametrize("backend", ["bedrock", "openai"])
@pytest.mark.parametrize(("situation", "kind", "bedrock_cause", "openai_cause"), [
    ("dns", "judge_unavailable", "bedrock endpoint unreachable: Could not connect",
     "openai endpoint unreachable: ConnectError"),
    ("tls", "judge_unavailable", "SSL", "openai endpoint unreachable: ConnectError"),
    ("http-500", "judge_unavailable", "ServiceUnavailableException", "HTTP 503"),
    ("model-error-424", "judge_unavailable", "ModelErrorException", "HTTP 500"),
    ("access-denied", "judge_config", "AccessDeniedException", "HTTP 401"),
    ("wrong-model", "judge_config", "ValidationException", "HTTP 400"),
    ("unknown-model", "judge_config", "ResourceNotFoundException", "HTTP 404"),
    ("empty-replies", "judge_parse", "the reply is empty", "the reply is empty"),
    ("prose-replies", "judge_parse", "contains no JSON object", "contains no JSON object"),
    ("refusals", "judge_refused", "content_filtered", "content_filter"),
])
def test_every_way_a_judge_cannot_run_stops_the_run_naming_it(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, situation: str, kind: str,
    bedrock_cause: str, openai_cause: str,
) -> None:
    """DNS failure, TLS to a plain-HTTP port, HTTP 5xx on every call, access denied, a wrong
    model id, and a judge whose every answer is unusable: exit 4 with the cause, once."""
    if situation == "dns":
        judge = (bedrock("http://judge.nonexistent.invalid", region="us-east-1")
                 if backend == "bedrock" else
                 {"backend": "openai", "model": "judge",
                  "base_url": "http://judge.nonexistent.invalid/v1", **FAST})
        request.getfixturevalue("converse_simulator")  # dummy credentials for both
        request.getfixturevalue("openai_simulator")
        # The operator grants the host (core.trust); resolving it is what fails here.
        request.getfixturevalue("monkeypatch").setenv("REWARDSMITH_ALLOWED_HOSTS",
                                                      "judge.nonexistent.invalid")
    elif situation == "tls":
        judge = _simulated(request, backend)
        key = "endpoint_url" if backend == "bedrock" else "base_url"
        judge[key] = judge[key].replace("http://", "https://")
    else:
        fault = {"http-500": "server_error", "model-error-424": "model_error",
                 "access-denied": "access_denied", "wrong-model": "validation",
                 "unknown-model": "not_found", "refusals": "refuse"}.get(situation)
        reply = {"empty-replies": "", "prose-replies": "It is polite, so it passes."}.get(
            situation)
        mode = {"structured_output": "prompt"} if backend == "bedrock" else \
            {"response_format": "prompt"}
        judge = _simulated(request, backend, fault, reply, **mode)
    pack = write_pack(tmp_path, judge)
    result = score(str(write_rollouts(tmp_path, 4)), "--pack", str(pack), "--no-summary")

    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    cause = bedrock_cause if backend == "bedrock" else openai_cause
    (line,) = [x for x in result.stderr.splitlines()
               if x.startswith("error: judge component 'review' could not run")]
    if kind != "judge_unavailable":  # an unreachable judge may end with the breaker open
        assert f"could not run ({kind})" in line
    assert cause in result.stderr, result.stderr


def test_expired_credentials_stop_the_run_naming_them(
    expired_token_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASIMULATOR0000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simulator-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "expired-session-token")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    pack = write_pack(tmp_path, bedrock(expired_token_endpoint, region="us-east-1"))
    result = score(str(write_rollouts(tmp_path, 4)), "--pack", str(pack), "--no-summary")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    assert "could not run (judge_config): ExpiredTokenException: The security token " \
           "included in the request is expired" in result.stderr


@pytest.mark.parametrize("backend", ["bedrock", "openai"])
def test_a_throttle_storm_longer_than_the_deadline_stops_the_run(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str,
) -> None:
    """Every call throttled for longer than the batch deadline, default retry settings: the
    judge judged nothing, so the run stops naming the deadline and the throttling."""
    judge = _simulated(request, backend, "throttle")
    if backend == "bedrock":  # the backend's defaults, not the fast test retries
        judge = {k: judge[k] for k in ("backend", "model", "region", "endpoint_url")}
    else:
        judge = {k: judge[k] for k in ("backend", "model", "base_url")}
    pack = write_pack(tmp_path, judge)
    result = score(str(write_rollouts(tmp_path, 4)), "--pack", str(pack), "--no-summary",
                   "--timeout", "2")
    assert result.exit_code == EXIT_JUDGE_UNAVAILABLE, result.output
    # Bedrock's retries outlast 2 s (the deadline cuts them, and the cause lists the retries
    # the backend got to count, if any: botocore's own may use the whole budget); OpenAI's
    # give up first and the throttle is the cause itself. Loud either way.
    (line,) = [x for x in result.stderr.splitlines() if "could not run" in x]
    assert line.startswith("error: judge component 'review' could not run")
    assert "could not run (deadline): abandoned at the batch deadline" in line or \
           "could not run (judge_throttled): " in line, line
    assert "judge_throttled" in line or "ThrottlingException" in line or \
        line.endswith("abandoned at the batch deadline"), line
    allowed = score(str(write_rollouts(tmp_path, 4)), "--pack", str(pack), "--no-summary",
                    "--timeout", "2", "--allow-judge-failures")
    assert allowed.exit_code == EXIT_OK
    assert "warning: judge component 'review' could not run" in allowed.stderr


def test_ids_beyond_64_bits_are_written_exactly(tmp_path: Path) -> None:
    big = 18446744073709551617
    path = tmp_path / "big.jsonl"
    path.write_text("".join(
        json.dumps({"id": i, "metadata": {"n": -big},
                    "messages": [{"role": "assistant", "content": "{}"}]}) + "\n"
        for i in (big, -big)))
    out = tmp_path / "out.jsonl"
    result = score("--pack", "json-extraction", "--no-summary", "-o", str(out), str(path))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [big, -big]


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_a_usage_error(
    tmp_path: Path, value: str,
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": 1, "messages": [{"role": "assistant", "content": "{}"}]}\n')
    result = score("--pack", "json-extraction", "--timeout", value, str(path))
    assert result.exit_code == 2
    assert "Invalid value for '--timeout'" in result.output


@pytest.mark.parametrize("flag", ["--summary", "--no-summary"])
def test_duplicate_ids_are_scored_and_reported(tmp_path: Path, flag: str) -> None:
    path = tmp_path / "dup.jsonl"
    row = {"messages": [{"role": "assistant", "content": "{}"}]}
    path.write_text("".join(json.dumps({"id": i, **row}) + "\n" for i in ("dup", "dup", "x")))
    out = tmp_path / "out.jsonl"
    result = score("--pack", "json-extraction", flag, "--batch-size", "1", "-o", str(out),
                   str(path))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        "dup", "dup", "x"]  # across batches too
    assert ("warning: 1 row(s) repeat an earlier row's id (e.g. 'dup'); scored anyway"
            in result.stderr)
