"""``rewardsmith lambda package|invoke``: build the reward-Lambda deployment zip and SAM
template (:mod:`rewardsmith.aws_lambda.package`); run the handler here as Lambda would."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rewardsmith.aws_lambda.package.build import BuildOptions, build_zip, lint_template
from rewardsmith.aws_lambda.package.template import sam_template, to_yaml, validate_function_name
from rewardsmith.cli.main import (
    EXIT_JUDGE_UNAVAILABLE,
    EXIT_SAMPLES_FAILED,
    echo_json,
    fail,
    host_of,
)
from rewardsmith.core import settings
from rewardsmith.core.errors import RewardsmithError

if TYPE_CHECKING:
    from rewardsmith.aws_lambda.observability import InvocationRecord


def _default_function_name(pack: str) -> str:
    stem = Path(pack).stem if pack.endswith(".toml") else pack
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-")
    return f"rewardsmith-SageMaker-{cleaned or 'reward'}"[:64]


@click.command("package")
@click.option("--pack", "pack", required=True, help="Registered pack name or pack file path.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("reward.zip"), show_default=True, help="Zip to write.")
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an AWS SAM template here (e.g. template.yaml).")
@click.option("--function-name", default=None,
              help="Lambda name; must contain 'SageMaker' for SageMaker HyperPod / Nova "
                   "recipes. Default: rewardsmith-SageMaker-<pack>.")
@click.option("--memory", type=click.IntRange(128, 10240), default=512, show_default=True,
              help="Memory in MB.")
@click.option("--timeout", type=click.IntRange(1, 900), default=300, show_default=True,
              help="Timeout in seconds (Lambda's maximum is 900).")
@click.option("--arch", "architecture", type=click.Choice(["x86_64", "arm64"]),
              default="x86_64", show_default=True)
@click.option("--python-version", default="3.12", show_default=True,
              help="Python of the Lambda runtime the wheels are chosen for.")
@click.option("--pin-boto3", default=None, metavar="VERSION",
              help="Ship this boto3 instead of the runtime's (for Converse features newer "
                   "than the runtime's botocore, such as outputConfig).")
@click.option("-r", "--requirement", "requirements", multiple=True,
              help="Extra requirement to install (repeatable).")
@click.option("-e", "--env", "environment", multiple=True, metavar="KEY=VALUE",
              help="Extra environment variable for the template (repeatable).")
@click.option("--local", is_flag=True,
              help="Copy the packages installed in this interpreter instead of downloading "
                   "Lambda wheels (offline; only right when this machine matches the runtime).")
@click.pass_context
def package_command(ctx: click.Context, pack: str, output: Path, template: Path | None,
                    function_name: str | None, memory: int, timeout: int, architecture: str,
                    python_version: str, pin_boto3: str | None, requirements: tuple[str, ...],
                    environment: tuple[str, ...], local: bool) -> None:
    """Build a deployment zip with rewardsmith, the pack and its dependencies."""
    name = function_name or _default_function_name(pack)
    problems = validate_function_name(name)
    extra_env: dict[str, Any] = {}
    for item in environment:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(f"--env {item!r} must be KEY=VALUE")
        extra_env[key] = value
    if problems:
        fail("; ".join(problems))
    if "SageMaker" not in name:
        click.echo(f"warning: function name {name!r} does not contain 'SageMaker'; SageMaker "
                   "HyperPod and Nova recipes only invoke functions whose name does", err=True)

    options = BuildOptions(pack=pack, output=output, local=local, architecture=architecture,
                           python_version=python_version, pin_boto3=pin_boto3,
                           requirements=requirements)
    try:
        report = build_zip(options, host_of(ctx))
    except (RewardsmithError, OSError) as exc:
        fail(str(exc))
    click.echo(f"wrote {report.zip_path} ({report.zip_bytes / 2**20:.1f} MB zipped, "
               f"{report.unzipped_bytes / 2**20:.1f} MB unzipped) for {report.pack_label}")
    click.echo(f"  REWARDSMITH_PACK={report.pack_env}")
    if report.plugins:
        click.echo(f"  REWARDSMITH_PLUGINS={','.join(report.plugins)}")
    click.echo(f"  packages: {', '.join(report.distributions)}")
    click.echo(f"  pack files: {', '.join(report.pack_files) or 'none (a registered pack)'}")
    for key, value in report.grants.items():  # operator grants: only what the pack used
        click.echo(f"  {key}={value}")
    for key, value in report.environment.items():
        click.echo(f"  {key}={value}")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)

    if template is None:
        return
    template.parent.mkdir(parents=True, exist_ok=True)
    code_uri = os.path.relpath(report.zip_path.resolve(), template.resolve().parent)
    # Only the plugins the pack uses load in the Lambda (a faster cold start); --env wins.
    preselect = {"REWARDSMITH_PLUGINS": ",".join(report.plugins)} if report.plugins else {}
    try:
        document = sam_template(function_name=name, code_uri=Path(code_uri).as_posix(),
                                pack_env=report.pack_env, pack_label=report.pack_label,
                                memory_mb=memory, timeout_s=timeout, architecture=architecture,
                                environment={**preselect, **report.environment, **report.grants,
                                             **extra_env},
                                runtime=report.runtime, pack_ref=report.pack_ref)
    except RewardsmithError as exc:  # metrics settings in --env the handler would reject
        fail(str(exc))
    template.write_text(to_yaml(document), encoding="utf-8")
    click.echo(f"wrote {template}")
    lint = lint_template(template)
    if lint is None:
        click.echo("cfn-lint is not installed; template not linted", err=True)
    elif not lint[0]:
        fail(f"cfn-lint found errors in {template}:\n{lint[1]}")
    elif lint[1]:
        click.echo(f"cfn-lint passed with findings:\n{lint[1]}", err=True)
    else:
        click.echo("cfn-lint: no findings")


@click.command("invoke")
@click.argument("event", type=click.File("rb"))
@click.option("--pack", default=None,
              help="Registered pack name or pack file path. Default: REWARDSMITH_PACK.")
@click.option("--remaining-ms", type=click.IntRange(0), default=300_000, show_default=True,
              help="What get_remaining_time_in_millis() reports at the start.")
@click.option("--function-name", default="rewardsmith-SageMaker-local", show_default=True)
@click.option("--allow-judge-failures", is_flag=True,
              help="Exit 0 even when a judge could not run (the rewards then come from the "
                   "other components alone), as `score --allow-judge-failures` does.")
@click.pass_context
def invoke_command(ctx: click.Context, event: Any, pack: str | None, remaining_ms: int,
                   function_name: str, allow_judge_failures: bool) -> None:
    """Run EVENT (a JSON event, a JSONL rollouts file, or - for stdin) through the reward
    handler as Lambda would; the answer goes to stdout, the log line and metrics to stderr.

    Exits as ``score`` does (codes in :mod:`rewardsmith.cli.main`): 2 when the pack did not
    load or the event held no sample the handler recognised, 4 when a judge could not run
    (unless allowed), 3 when some samples could not be scored, else 0."""
    from rewardsmith.aws_lambda import PACK_ENV, make_handler
    from rewardsmith.aws_lambda.local import LocalContext, read_event

    spec = pack or settings.get(PACK_ENV)
    if not spec:
        fail(f"give --pack or set {PACK_ENV}")
    handler = make_handler(spec, host=host_of(ctx))
    payload = read_event(event.read())
    with contextlib.redirect_stdout(sys.stderr):
        answer = handler(payload, LocalContext(remaining_ms, function_name))
    echo_json(answer)
    if handler.load_error is not None:
        fail(f"the pack did not load: {handler.load_error}")
    record = handler.last_record
    if record is None:  # the handler always reports; a missing record is a bug, not a pass
        fail("the handler reported nothing about this invocation", EXIT_SAMPLES_FAILED)
    _invoke_exit(record, allow_judge_failures)


def _invoke_exit(record: InvocationRecord, allow_judge_failures: bool) -> None:
    """Exit as ``score`` would for one invocation's record: an event without samples is an
    input error (2; the Lambda answers ``[]``), a judge outage not allowed by the pack or
    ``allow_judge_failures`` is 4, failed samples are 3; returns when all went well."""
    if record.event_error or record.samples == 0:
        fail(f"the event held no samples to score: {record.event_error or 'an empty list'}")
    blocking = False
    for cid, outage in record.judge_outages.items():
        allowed = bool(outage.get("allowed")) or allow_judge_failures
        blocking |= not allowed
        click.echo(f"{'warning' if allowed else 'error'}: judge component {cid!r} could not "
                   f"run ({outage.get('kind')}): {outage.get('cause')}", err=True)
    if blocking:
        fail("the rewards above come from the other components alone. Fix the judge "
             "settings, or pass --allow-judge-failures (or set allow_failures = true in the "
             "pack's [judge] table) to accept that.", EXIT_JUDGE_UNAVAILABLE)
    if record.engine_error:
        click.echo(f"error: {record.engine_error}", err=True)
    failed = record.summary.get("failed_samples") or (record.samples if record.engine_error
                                                      else 0)
    if failed:
        click.echo(f"{failed} of {record.samples} samples could not be scored (rows with "
                   "the sample_failed metric)", err=True)
        sys.exit(EXIT_SAMPLES_FAILED)



def lambda_group() -> click.Group:
    """A fresh ``lambda`` group."""
    return click.Group("lambda", commands=[package_command, invoke_command],
                       help="Package the reward Lambda (Nova RFT on SageMaker AI, Bedrock RFT): "
                            "zip + SAM template; invoke it locally.")
