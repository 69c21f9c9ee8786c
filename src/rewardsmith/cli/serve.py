"""``rewardsmith serve PACK``: the HTTP reward server (:mod:`rewardsmith.serving`)."""

from __future__ import annotations

import math

import click

from rewardsmith.cli.main import FiniteFloat, fail, host_of
from rewardsmith.core import settings
from rewardsmith.core.errors import RewardsmithError

TOKEN_ENV = "REWARDSMITH_SERVE_TOKEN"


@click.command("serve")
@click.argument("pack_spec", metavar="PACK")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (0.0.0.0 for every interface: set "
                   f"{TOKEN_ENV} or keep the port on a private network).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--max-inflight", default=64, show_default=True, type=click.IntRange(1),
              help="Scoring requests admitted at once; more get 503 with Retry-After.")
@click.option("--retry-after", "retry_after_s", default=1, show_default=True,
              type=click.IntRange(0), help="Seconds in the Retry-After header of a 503.")
@click.option("--max-body-mb", default=16.0, show_default=True,
              type=FiniteFloat(min=0, min_open=True),
              help="Request size cap in MiB (413 beyond it).")
@click.option("--deadline", "deadline_s", default=60.0, show_default=True,
              type=FiniteFloat(min=0, min_open=True),
              help="Per-request scoring deadline in seconds; judge calls still pending are "
                   "abandoned and each component's failure policy applied.")
@click.option("--group-window-ms", default=None, type=FiniteFloat(min=0),
              help="Hold a prompt's rollouts this long to score the group together "
                   "[default: 100 when the pack has a group component, else 0 (off)].")
@click.option("--group-size", default=None, type=click.IntRange(1),
              help="Score a prompt's group as soon as this many rollouts arrived (e.g. the "
                   "trainer's samples per prompt).")
@click.option("--failure-reward", default=None, type=float,
              help="Reward of a sample that cannot be scored at all [default: "
                   "REWARDSMITH_FAILURE_REWARD, else the pack's].")
@click.option("--reference-key", default="reference_answer", show_default=True,
              help="NeMo Gym /verify: the task field holding the reference answer.")
@click.option("--graceful-timeout", "graceful_timeout_s", default=30.0, show_default=True,
              type=FiniteFloat(min=0), help="Seconds admitted requests get to finish "
                                                 "on SIGTERM/SIGINT.")
@click.option("--allow-judge-failures", is_flag=True,
              help="Start even when a judge's configuration (AWS region, credentials, "
                   "endpoint, API key) cannot be set up; rewards then come from the other "
                   "components and /healthz is 'degraded' from the start. Without it such a "
                   "server refuses to start (exit 2).")
@click.pass_context
def serve_command(ctx: click.Context, pack_spec: str, host: str, port: int, max_inflight: int,
                  retry_after_s: int, max_body_mb: float, deadline_s: float,
                  group_window_ms: float | None, group_size: int | None,
                  failure_reward: float | None, reference_key: str,
                  graceful_timeout_s: float, allow_judge_failures: bool) -> None:
    """Serve PACK over HTTP: OpenRLHF POST /get_reward, slime/miles POST /slime, NeMo Gym
    POST /verify, the reward-Lambda event at POST /v1/score; GET /healthz, GET /metrics.

    Needs the serve extra: pip install 'rewardsmith[serve]'. See docs/serve.md.
    """
    try:
        from rewardsmith.serving.app import ServeConfig
        from rewardsmith.serving.server import run
    except ImportError as exc:
        fail(f"rewardsmith serve needs the serve extra (pip install 'rewardsmith[serve]'): "
             f"{exc}")
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import load_pack

    if failure_reward is None:
        raw = settings.get("REWARDSMITH_FAILURE_REWARD")
        if raw is not None and raw.strip():
            try:
                failure_reward = float(raw)
            except ValueError:
                fail(f"REWARDSMITH_FAILURE_REWARD={raw!r} is not a number")
    if failure_reward is not None and not math.isfinite(failure_reward):
        fail(f"the failure reward must be a finite number, got {failure_reward}")
    try:
        scorer = Scorer(load_pack(pack_spec, host_of(ctx)))
    except RewardsmithError as exc:
        fail(str(exc))
    from rewardsmith.serving.preflight import judge_config_problems

    problems = judge_config_problems(scorer)
    if problems:
        causes = "; ".join(f"{cid}: {cause}" for cid, cause in problems.items())
        if not allow_judge_failures:
            fail(f"judge configuration: {causes}. Fix it, or start with "
                 "--allow-judge-failures to serve rewards without these judges")
        click.echo(f"warning: serving without working judges (--allow-judge-failures): "
                   f"{causes}", err=True)
    config = ServeConfig(
        max_inflight=max_inflight, retry_after_s=retry_after_s,
        max_body_bytes=max(1, int(max_body_mb * 2**20)), deadline_s=deadline_s,
        group_window_s=None if group_window_ms is None else group_window_ms / 1000,
        group_size=group_size, failure_reward=failure_reward,
        token=settings.get(TOKEN_ENV) or None, reference_key=reference_key)
    ref = scorer.pack.ref
    click.echo(f"serving {ref.name} {ref.version} ({ref.hash[:12]}) on http://{host}:{port} "
               f"(auth: {'bearer token' if config.token else 'none'})", err=True)
    run(scorer, config, host=host, port=port, graceful_timeout_s=graceful_timeout_s,
        judge_problems=problems)
