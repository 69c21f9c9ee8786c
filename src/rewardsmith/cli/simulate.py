"""``rewardsmith simulate`` and ``rewardsmith loadtest``.

``simulate bedrock|openai`` runs a judge-service simulator until Ctrl-C (or ``--duration``)
so a trainer, a Lambda under test or a notebook can point at it. ``loadtest PACK --rollouts
FILE`` scores a pack against one and reports throughput (:mod:`rewardsmith.simulators.loadtest`).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from rewardsmith.cli.main import FiniteFloat, echo_json, fail, host_of
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.loadtest import SIMULATORS, fault_policy


def _simulate(kind: str, host: str, port: int, duration: float | None,
              policy: FaultPolicy) -> None:
    simulator = SIMULATORS[kind](host=host, port=port, faults=policy, max_recorded=1000)
    with simulator:
        click.echo(f"{kind} simulator listening on {simulator.endpoint_url}", err=True)
        for line in client_settings(kind, simulator.endpoint_url):
            click.echo(f"  {line}", err=True)
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2 if deadline is None else min(0.2, max(0.0, deadline -
                                                                     time.monotonic())))
        except KeyboardInterrupt:
            pass
        click.echo(f"served {simulator.request_count} requests: {simulator.faults_served()}",
                   err=True)


def client_settings(kind: str, endpoint: str) -> list[str]:
    """What a client needs to reach the simulator at ``endpoint``: environment variables for
    the shell that runs it (region and dummy credentials included, since botocore needs a
    region and signs every request), or the pack's ``[judge]`` keys instead."""
    from rewardsmith.simulators.wiring import DUMMY_AWS, SIMULATOR_REGION

    if kind == "bedrock":
        return [
            "in the shell that runs the client (boto3, a pack with bedrock judges):",
            f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={endpoint}",
            f"export AWS_DEFAULT_REGION={SIMULATOR_REGION}",
            f"export AWS_ACCESS_KEY_ID={DUMMY_AWS['AWS_ACCESS_KEY_ID']}",
            f"export AWS_SECRET_ACCESS_KEY={DUMMY_AWS['AWS_SECRET_ACCESS_KEY']}",
            f"or in the pack: [judge] endpoint_url = \"{endpoint}\", "
            f"region = \"{SIMULATOR_REGION}\"",
            "(to score a pack against a simulator it starts and stops itself: "
            "rewardsmith score FILE --pack PACK --judge simulator)",
        ]
    return [
        "in the pack: [judge] backend = \"openai\", "
        f"base_url = \"{endpoint}/v1\", model = \"sim-judge\"",
        "and in the shell that runs the client: export OPENAI_API_KEY=sk-simulator",
        "(to score a pack against a simulator it starts and stops itself: "
        "rewardsmith score FILE --pack PACK --judge simulator)",
    ]


def _rate() -> FiniteFloat:
    return FiniteFloat(0.0, 1.0)


@click.command("simulate")
@click.argument("kind", type=click.Choice(sorted(SIMULATORS)))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--latency", default=0.0, show_default=True, type=FiniteFloat(0),
              help="Seconds each answer takes.")
@click.option("--jitter", default=0.0, show_default=True, type=FiniteFloat(0),
              help="Extra uniform random latency, up to this many seconds.")
@click.option("--throttle-rate", default=0.0, show_default=True, type=_rate())
@click.option("--server-error-rate", default=0.0, show_default=True, type=_rate())
@click.option("--model-timeout-rate", default=0.0, show_default=True, type=_rate())
@click.option("--model-error-rate", default=0.0, show_default=True, type=_rate())
@click.option("--malformed-rate", default=0.0, show_default=True, type=_rate())
@click.option("--reasoning", is_flag=True, help="Reasoning before every answer.")
@click.option("--unsupported-mode", multiple=True,
              type=click.Choice(["output_config", "tool", "json_schema"]),
              help="Structured-output modes the simulated model rejects.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quota-rps", default=0.0, show_default=True, type=FiniteFloat(0),
              help="Throttle requests beyond this many per second (0: no quota).")
@click.option("--duration", type=FiniteFloat(0, min_open=True),
              help="Stop after this many seconds (default: run until Ctrl-C).")
def simulate_command(kind: str, host: str, port: int, latency: float, jitter: float,
                     throttle_rate: float, server_error_rate: float, model_timeout_rate: float,
                     model_error_rate: float, malformed_rate: float, reasoning: bool,
                     unsupported_mode: tuple[str, ...], seed: int, quota_rps: float,
                     duration: float | None) -> None:
    """Run a Bedrock Converse or OpenAI chat-completions simulator."""
    try:
        policy = fault_policy(latency=latency, jitter=jitter, throttle_rate=throttle_rate,
                              server_error_rate=server_error_rate,
                              model_timeout_rate=model_timeout_rate,
                              model_error_rate=model_error_rate, malformed_rate=malformed_rate,
                              reasoning=reasoning, unsupported=unsupported_mode, seed=seed,
                              quota_rps=quota_rps)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    _simulate(kind, host, port, duration, policy)


@click.command("loadtest")
@click.argument("pack")
@click.option("--rollouts", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--concurrency", default=100, show_default=True, type=click.IntRange(1))
@click.option("--latency", default=0.5, show_default=True,
              type=FiniteFloat(0, min_open=True), help="Simulated model latency, s.")
@click.option("--jitter", default=0.0, show_default=True, type=FiniteFloat(0))
@click.option("--throttle-rate", default=0.0, show_default=True, type=_rate())
@click.option("--samples", type=click.IntRange(1),
              help="Score this many samples, cycling the rollouts file (default: the file).")
@click.option("--timeout", "timeout_s", type=FiniteFloat(0, min_open=True),
              help="Batch deadline in seconds, as a Lambda would set it.")
@click.option("--separate-process", is_flag=True,
              help="Run the simulator in a child process (closer to a remote service).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def loadtest_command(ctx: click.Context, pack: str, rollouts: Path, concurrency: int,
                     latency: float, jitter: float, throttle_rate: float,
                     samples: int | None, timeout_s: float | None, separate_process: bool,
                     as_json: bool) -> None:
    """Score a pack against an in-process judge simulator and report throughput."""
    from rewardsmith.simulators.loadtest import run_loadtest

    try:
        report = run_loadtest(pack, rollouts, concurrency=concurrency, latency_s=latency,
                              throttle_rate=throttle_rate, samples=samples, jitter_s=jitter,
                              host=host_of(ctx), timeout_s=timeout_s,
                              separate_process=separate_process)
    except RewardsmithError as exc:
        fail(str(exc))
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(report.render())

