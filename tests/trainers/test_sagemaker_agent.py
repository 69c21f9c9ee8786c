"""The SageMaker multi-turn RL reporter: a real boto3 ``sagemakerjobruntime`` client against a
local server speaking the service's wire format; throttling retried with the same token."""

from __future__ import annotations

import boto3
import pytest
from tests.support import trajectories as tj
from tests.support.sagemaker_job_runtime import job_runtime_server
from tests.support.suites import child_pack
from tests.support.trajectories import LOOKUP, REFUND

from rewardsmith.simulators.wiring import bedrock_settings
from rewardsmith.trainers.sagemaker_agent import (
    AgentRewardReporter,
    RewardReportError,
    client_token,
    make_client,
)

JOB = "arn:aws:sagemaker:us-east-1:123456789012:job/agent-rft/support-agent-1"
DONE = "I've refunded order NW-100200; the refund R-9 has been issued to your card."


@pytest.fixture
def aws_env(tmp_path, converse_simulator) -> str:
    """Dummy AWS credentials (``aws_dummy_env``) and the support-agent pack with its judge
    pointed at the Converse simulator: the path of that child pack."""
    return str(child_pack(tmp_path, "support-agent",
                          bedrock_settings(converse_simulator.endpoint_url)))


def _trajectory(**extra):
    return tj.chat([("", [LOOKUP]), ("", [REFUND]), (DONE, [])],
                   final_state={"refunded_orders": ["NW-100200"]},
                   reference_answer={"refunded_orders": ["NW-100200"]}, **extra)


def _reporter(pack: str, url: str, sleeps: list[float], **kw) -> AgentRewardReporter:
    return AgentRewardReporter(pack, job_arn=JOB, endpoint_url=url,
                               region_name="us-east-1", sleep=sleeps.append, backoff_s=0.5,
                               **kw)


def test_reports_one_reward_per_turn_on_the_wire(aws_env) -> None:
    with job_runtime_server() as (url, state):
        reporter = _reporter(aws_env, url, [])
        try:
            report = reporter.report("traj-1", _trajectory())
        finally:
            reporter.close()
    (request,) = state.requests
    assert request.path == "/update-reward"
    assert request.headers["x-amzn-sagemaker-job-arn"] == JOB
    assert request.headers["content-type"].startswith("application/json")
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIASIMULATOR000000/")
    assert "/us-east-1/sagemaker/aws4_request" in auth and "Signature=" in auth
    assert request.body == {"TrajectoryId": "traj-1", "Rewards": list(report.rewards),
                            "ClientToken": report.client_token}
    assert len(report.rewards) == 3  # three assistant turns
    assert report.rewards[-1] == report.result.reward
    assert report.attempts == 1


def test_throttling_is_retried_with_the_same_client_token(aws_env) -> None:
    sleeps: list[float] = []
    with job_runtime_server() as (url, state):
        state.script = ["ThrottlingException", "ThrottlingException", "InternalServiceError"]
        reporter = _reporter(aws_env, url, sleeps)
        try:
            report = reporter.report("traj-2", _trajectory())
        finally:
            reporter.close()
    assert [r.status for r in state.requests] == [429, 429, 500, 200]
    assert {r.body["ClientToken"] for r in state.requests} == {report.client_token}
    assert report.attempts == 4 and sleeps == [0.5, 1.0, 2.0]
    assert list(state.applied) == [report.client_token]


def test_a_resent_report_carries_the_same_token(aws_env) -> None:
    with job_runtime_server() as (url, state):
        reporter = _reporter(aws_env, url, [])
        try:
            first = reporter.report("traj-3", _trajectory())
            again = reporter.report("traj-3", _trajectory())
        finally:
            reporter.close()
    assert first.client_token == again.client_token
    assert len(state.requests) == 2 and len(state.applied) == 1
    assert client_token(JOB, "traj-4", first.rewards) != first.client_token


def test_retries_run_out_and_non_retryable_errors_stop_at_once(aws_env) -> None:
    with job_runtime_server() as (url, state):
        state.script = ["ThrottlingException"] * 3
        reporter = _reporter(aws_env, url, [], max_attempts=3)
        try:
            with pytest.raises(RewardReportError, match="still failing after 3 attempts "
                                                        r"\(last: ThrottlingException\)"):
                reporter.report("traj-5", _trajectory())
            state.script = ["ValidationException"]
            with pytest.raises(RewardReportError, match="ValidationException"):
                reporter.report("traj-6", _trajectory())
        finally:
            reporter.close()
    assert [r.status for r in state.requests] == [429, 429, 429, 400]


def test_a_malformed_trajectory_still_reports_a_finite_vector(aws_env) -> None:
    bad = tj.malformed_call_id()
    with job_runtime_server() as (url, state):
        reporter = _reporter(aws_env, url, [])
        try:
            report = reporter.report("traj-7", bad)
        finally:
            reporter.close()
    assert report.result.status == "failed"
    assert report.rewards == (0.0, 0.0, 0.0)
    assert state.requests[0].body["Rewards"] == [0.0, 0.0, 0.0]


def test_the_installed_boto3_knows_the_service(aws_dummy_env) -> None:
    assert "sagemakerjobruntime" in boto3.session.Session().get_available_services()
    client = make_client(region_name="us-east-1")
    assert client.meta.service_model.operation_model("UpdateReward").http == {
        "method": "POST", "requestUri": "/update-reward", "responseCode": 200}
