"""``rewardsmith score``: score a rollouts file with a pack."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

import click

from rewardsmith.cli.main import (
    EXIT_JUDGE_UNAVAILABLE,
    EXIT_SAMPLES_FAILED,
    FiniteFloat,
    fail,
    host_of,
)
from rewardsmith.cli.simulated import simulator_notice
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.telemetry import JudgeOutage


@click.command("score")
@click.argument("rollouts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pack", "pack_spec", required=True, help="A registered pack name or a path.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write result rows here (JSONL). Default: stdout.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--order", type=click.Choice(["completion", "input"]), default=None,
              help="Row order. completion (the default): each row is written the moment "
                   "its sample is scored, carrying its input position in \"index\"; input: "
                   "rows in input order, each written once every earlier row is (--ray "
                   "always writes input order).")
@click.option("--timeout", "timeout_s", type=FiniteFloat(min=0, min_open=True),
              help="Per-batch deadline in seconds; pending judge calls are abandoned.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@click.option("--summary/--no-summary", default=True, show_default=True,
              help="Print the summary table on stderr.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report (distributions, failures, the "
                   "lowest- and highest-scored samples with rationales).")
@click.option("--allow-judge-failures", is_flag=True,
              help="When a judge cannot run at all (bad settings, no credentials, "
                   "unreachable), keep going with rewards from the other components instead "
                   "of stopping with exit code 4 (the pack's [judge] allow_failures = true "
                   "does the same for its judges).")
@click.option("--judge", "judge_mode", type=click.Choice(["pack", "simulator"]),
              default="pack", show_default=True,
              help="pack: the judges the pack configures; simulator: start the bundled "
                   "judge simulator (Converse for bedrock judges, OpenAI-compatible for "
                   "openai ones) for this run only, with a region and dummy credentials: "
                   "offline, free, deterministic verdicts (not a model's).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None,
              metavar="[ADDRESS]",
              help="Score on Ray Data (pip install 'rewardsmith[ray]'): one scorer per actor, "
                   "groups kept whole, the same rows in input order. ADDRESS: auto, host:port "
                   "or ray://host:port; without one (--ray after ROLLOUTS), Ray's default: "
                   "RAY_ADDRESS or a new local instance.")
@click.option("--ray-actors", type=click.IntRange(1),
              help="With --ray: actors in the pool (default: the cluster's CPUs).")
@click.pass_context
def score_command(ctx: click.Context, rollouts: Path, pack_spec: str, output: Path | None,
                  batch_size: int, order: str | None, timeout_s: float | None,
                  progress: bool | None,
                  summary: bool, report_path: Path | None, allow_judge_failures: bool,
                  judge_mode: str, ray_address: str | None,
                  ray_actors: int | None) -> None:
    """Score RFT rollouts (JSONL, one sample per line) with a pack.

    Each output row is the reward-Lambda result shape plus details, written (and flushed)
    the moment its sample is scored; "index" is the sample's 0-based position in the input
    (blank lines not counted), so `--order input` or a sort restores input order. A
    malformed line gets a failed row (with its line number in the error) and the rest are
    scored normally.

    Ctrl-C (SIGINT) or SIGTERM stops the run: nothing more is started, calls in flight are
    cancelled, every finished row is written, the summary says how many samples were not
    scored (they have no row), and the exit code is 130 (SIGINT) or 143 (SIGTERM). A second
    signal stops at once.

    A judge that cannot run at all in a batch (configuration, credentials, region,
    unreachable endpoint, circuit open throughout) stops the run after that batch with its
    cause and exit code 4, unless failures are allowed (--allow-judge-failures or the pack's
    [judge] allow_failures), when the cause is printed once as a warning.
    """
    from rewardsmith.cli.score_stream import RowWriter, StopSignals
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import load_pack
    from rewardsmith.core.rollouts import count_lines, read_rollouts, response_excerpt
    from rewardsmith.core.wire import jsonl_row, pack_ref_json
    from rewardsmith.report.summary import RunSummary
    from rewardsmith.report.views import sample_context

    if ray_address is not None:
        if order == "completion":
            fail("--order completion does not combine with --ray: the Ray driver collects "
                 "the rows and writes them in input order")
        if judge_mode == "simulator":
            fail("--judge simulator does not combine with --ray: start `rewardsmith simulate` "
                 "and point the pack's [judge] at it instead")
        from rewardsmith.cli.score_ray import score_on_ray

        score_on_ray(rollouts, pack_spec, output, address=ray_address, actors=ray_actors,
                     batch_size=batch_size, timeout_s=timeout_s, summary=summary,
                     report=report_path is not None, allow_judge_failures=allow_judge_failures)
        return
    judges = contextlib.ExitStack()
    try:
        pack = load_pack(pack_spec, host_of(ctx))
        if judge_mode == "simulator":
            simulator_notice(judges, pack)
        scorer = Scorer(pack)
    except RewardsmithError as exc:
        judges.close()
        fail(str(exc))

    show_progress = sys.stderr.isatty() if progress is None else progress
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    # Memory does not grow with the batch size, and per sample only by the summary's 8
    # bytes, unless --report keeps every row for the report (issue 13).
    run = RunSummary()
    report_rows: list[dict[str, object]] = []
    responses: dict[object, str] = {}
    contexts: dict[object, dict[str, str]] = {}  # prompt, reference, metadata, for the report
    outages: dict[str, JudgeOutage] = {}  # the first outage of each judge component
    notices: dict[str, str] = {}  # permanent judge errors and mode step-downs, said once
    writer = RowWriter(out, order or "completion")
    signals = StopSignals()
    read = in_flight = 0  # samples handed to the scorer; those a stop left without a row
    try:
        total = count_lines(rollouts) if show_progress else None
        with signals, click.progressbar(length=total or 0, label="scoring", file=sys.stderr,
                                        hidden=not show_progress) as bar:
            for batch in read_rollouts(rollouts, batch_size):
                if signals.received:
                    break
                offset, read = read, read + len(batch)
                stream = scorer.stream(batch, timeout_s=timeout_s)
                signals.on_stop(stream.stop)
                # each row is written (and flushed) the moment its sample is final (issue 14)
                for result in stream:
                    row = jsonl_row(result, index=offset + result.index)
                    writer.write(offset + result.index, row)
                    run.add(result)
                    bar.update(1)
                    if report_path:
                        report_rows.append(row)
                        raw = batch[result.index]
                        excerpt = response_excerpt(raw)
                        if excerpt is not None:
                            responses[result.id] = excerpt
                        if (context := sample_context(raw)) is not None:
                            contexts[result.id] = context
                signals.on_stop(None)
                telemetry = stream.telemetry
                if telemetry is not None:
                    for cid, outage in telemetry.judge_unavailable.items():
                        outages.setdefault(cid, outage)
                    for key, message in telemetry.judge_notices.items():
                        notices.setdefault(key, message)
                if stream.stopped:
                    in_flight = stream.not_scored
                    writer.drain()  # input order: the finished rows after a gap
                    break
                if any(not (o.allowed or allow_judge_failures) for o in outages.values()):
                    break  # every further batch would be scored without the judge too
    finally:
        writer.drain()
        if output:
            out.close()
        scorer.close()
        judges.close()

    if summary:
        click.echo(run.table(scorer.pack), err=True)
    for message in notices.values():
        if not any(message in outage.cause for outage in outages.values()):  # said below
            click.echo(f"judge: {message}", err=True)
    if report_path:
        from rewardsmith.report import write_html_report
        from rewardsmith.report.suite import judge_notices_section

        write_html_report(report_path, pack_ref=pack_ref_json(scorer.pack.ref),
                          results=report_rows,
                          title=f"rewardsmith score: {rollouts.name}", responses=responses,
                          contexts=contexts,
                          extra_sections=[judge_notices_section(notices)] if notices else ())
        click.echo(f"report: {report_path}", err=True)
    blocking = False
    for cid, outage in outages.items():
        allowed = outage.allowed or allow_judge_failures
        blocking |= not allowed
        prefix = "warning" if allowed else "error"
        click.echo(f"{prefix}: judge component {cid!r} could not run ({outage.kind}): "
                   f"{outage.cause}", err=True)
    if signals.received:
        not_read = count_lines(rollouts) - read
        click.echo(f"interrupted ({signals.name}): {len(run.rewards)} samples scored and "
                   f"written; {in_flight + not_read} not scored, no row written "
                   f"({in_flight} started and stopped unfinished: cancelled in flight or waiting "
                   f"for their group; {not_read} not started)", err=True)
        sys.exit(signals.exit_code)
    if blocking:
        fail(f"stopped after {len(run.rewards)} samples: their rewards would come from the "
             "other components alone. Fix the judge settings, or pass --allow-judge-failures "
             "(or set allow_failures = true in the pack's [judge] table) to accept that.",
             EXIT_JUDGE_UNAVAILABLE)
    if outages:
        click.echo(f"warning: {len(outages)} judge component(s) did not run; rewards come "
                   "from the other components (failures allowed)", err=True)
    if not summary and (duplicates := run.duplicate_warning()):
        click.echo(duplicates, err=True)  # the summary table carries it otherwise
    failed = run.statuses["failed"]
    if failed:
        click.echo(f"{failed} of {len(run.rewards)} samples could not be scored "
                   "(rows marked \"status\": \"failed\")", err=True)
        sys.exit(EXIT_SAMPLES_FAILED)
