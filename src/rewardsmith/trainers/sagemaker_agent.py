"""SageMaker AI multi-turn RL (``JobCategory = AgentRFT``): score a sealed trajectory with a
pack and report its per-turn rewards through the ``sagemakerjobruntime`` service.

The agent side of such a job samples the policy through the job runtime, runs its tools,
calls ``CompleteRollout`` and then ``UpdateReward`` with one reward per turn. This module
does the last step::

    reporter = AgentRewardReporter("support-agent", job_arn=JOB_ARN)
    report = reporter.report(trajectory_id, trajectory)   # scores, then UpdateReward
    report.rewards, report.result.reward, report.attempts

Wire contract (botocore 1.44 service model ``sagemakerjobruntime/2026-02-01``, rest-json,
SigV4 with signing name ``sagemaker``): ``POST /update-reward``, header
``X-Amzn-SageMaker-Job-Arn``, JSON body ``{"TrajectoryId", "Rewards": [double, ...],
"ClientToken"}``; ``UpdateReward`` is marked idempotent and ``ClientToken`` is its
idempotency token. ``ThrottlingException`` (429) and ``InternalServiceError`` (500) are the
retryable errors.

Retries and idempotency: the ``ClientToken`` is derived from the job, the trajectory and
the rewards (a UUID from their hash), so every attempt — a retry after throttling here, or
the same report sent again after a crash — carries the same token and the service applies
it once. The client this module builds leaves retrying to it (``total_max_attempts = 1``),
so attempts and back-off are counted and bounded in one place.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import SampleResult
from rewardsmith.core.sample import count_assistant_turns
from rewardsmith.trainers._common import scorer_for

SERVICE = "sagemakerjobruntime"
#: Error codes worth another attempt (the service model's throttling and fault errors).
RETRYABLE = frozenset({"ThrottlingException", "InternalServiceError", "ServiceUnavailable",
                       "RequestTimeout"})


class RewardReportError(RewardsmithError):
    """``UpdateReward`` failed for good: a non-retryable error, or retries ran out. The
    message names the trajectory, the error code and the attempts made."""


@dataclass(frozen=True)
class RewardReport:
    """What one report did: the scored result, the rewards sent (one per assistant turn),
    the idempotency token and the number of ``UpdateReward`` attempts."""

    trajectory_id: str
    result: SampleResult
    rewards: tuple[float, ...]
    client_token: str
    attempts: int


def client_token(job_arn: str, trajectory_id: str, rewards: Sequence[float]) -> str:
    """The idempotency token of one report: a UUID derived from the job, the trajectory and
    the rewards, so a re-sent report is recognised by the service as the same request."""
    digest = hashlib.sha256("\x1f".join([job_arn, trajectory_id,
                                         *(repr(float(r)) for r in rewards)]).encode())
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


def make_client(*, region_name: str | None = None, endpoint_url: str | None = None,
                session: Any = None) -> Any:
    """A boto3 ``sagemakerjobruntime`` client that does not retry by itself.

    Raises:
        RewardsmithError: the installed boto3/botocore does not know the service (it needs
            boto3 >= 1.44).
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import UnknownServiceError

    session = session or boto3.session.Session()
    try:
        return session.client(SERVICE, region_name=region_name, endpoint_url=endpoint_url,
                              config=Config(retries={"total_max_attempts": 1}))
    except UnknownServiceError:
        raise RewardsmithError(f"this botocore does not know the {SERVICE!r} service; "
                               "install boto3>=1.44") from None


class AgentRewardReporter:
    """Scores trajectories with a pack and reports their per-turn rewards to a SageMaker
    multi-turn RL job.

    Args:
        pack: a pack name or path, a :class:`Pack` or a :class:`Scorer`.
        job_arn: the job's ARN (sent as ``X-Amzn-SageMaker-Job-Arn``).
        client: a ``sagemakerjobruntime`` client; default :func:`make_client` with
            ``region_name``/``endpoint_url``.
        max_attempts: ``UpdateReward`` attempts for a retryable error (>= 1).
        backoff_s: the first wait between attempts, doubled each time (capped at 20 s).
        sleep: how to wait (tests pass a recorder; the default is ``time.sleep``).
    """

    def __init__(self, pack: str | Pack | Scorer, *, job_arn: str, client: Any = None,
                 region_name: str | None = None, endpoint_url: str | None = None,
                 host: PluginHost | None = None, max_attempts: int = 6,
                 backoff_s: float = 0.25, sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.scorer = scorer_for(pack, host)
        self.job_arn = job_arn
        self.client = client or make_client(region_name=region_name, endpoint_url=endpoint_url)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._sleep = sleep

    def score(self, trajectory: Mapping[str, Any]) -> tuple[SampleResult, tuple[float, ...]]:
        """The trajectory's result and its per-turn rewards (one per assistant turn; a
        malformed trajectory gets the pack's failure reward on each of its turns).

        Raises:
            JudgeUnavailableError: a judge of the pack could not run at all.
            RewardReportError: the trajectory has no assistant turn to reward.
        """
        batch = self.scorer.score([trajectory])
        batch.raise_for_judge_outage()
        (result,) = batch.results
        rewards = result.turn_rewards
        if rewards is None:  # a single-turn sample under a response-only pack
            rewards = (result.reward,) * count_assistant_turns(trajectory)
        if not rewards:
            raise RewardReportError(f"trajectory {result.id!r} has no assistant turn to "
                                    "reward")
        return result, tuple(float(r) for r in rewards)

    def report(self, trajectory_id: str, trajectory: Mapping[str, Any]) -> RewardReport:
        """Score ``trajectory`` and send its per-turn rewards with ``UpdateReward``."""
        result, rewards = self.score(trajectory)
        token, attempts = self.update_reward(trajectory_id, rewards)
        return RewardReport(trajectory_id, result, rewards, token, attempts)

    def update_reward(self, trajectory_id: str, rewards: Sequence[float]) -> tuple[str, int]:
        """Send ``rewards`` for ``trajectory_id``; retry throttling and service faults with
        the same ``ClientToken``. Returns ``(client token, attempts)``.

        Raises:
            ValueError: a reward is not a finite number.
            RewardReportError: a non-retryable error, or ``max_attempts`` used up.
        """
        from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

        values = [float(r) for r in rewards]
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"rewards for {trajectory_id!r} must be finite, got {values}")
        token = client_token(self.job_arn, trajectory_id, values)
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.client.update_reward(JobArn=self.job_arn, TrajectoryId=trajectory_id,
                                          Rewards=values, ClientToken=token)
                return token, attempt
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code not in RETRYABLE:
                    raise RewardReportError(f"UpdateReward for trajectory {trajectory_id!r} "
                                            f"failed: {code}: {exc}") from None
                why = code
            except (ConnectionError, ReadTimeoutError) as exc:
                why = type(exc).__name__
            if attempt < self.max_attempts:
                self._sleep(delay)
                delay = min(delay * 2, 20.0)
        raise RewardReportError(f"UpdateReward for trajectory {trajectory_id!r} still failing "
                                f"after {self.max_attempts} attempts (last: {why})")

    def close(self) -> None:
        self.scorer.close()
