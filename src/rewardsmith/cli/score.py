"""``rewardsmith score``: score a rollouts file with a pack."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from rewardsmith.cli.main import EXIT_SAMPLES_FAILED, fail, host_of
from rewardsmith.core.errors import RewardsmithError


@click.command("score")
@click.argument("rollouts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pack", "pack_spec", required=True, help="A registered pack name or a path.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write result rows here (JSONL). Default: stdout.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True),
              help="Per-batch deadline in seconds; pending judge calls are abandoned.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@click.option("--summary/--no-summary", default=True, show_default=True,
              help="Print the summary table on stderr.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report (distributions, failures, the "
                   "lowest- and highest-scored samples with rationales).")
@click.pass_context
def score_command(ctx: click.Context, rollouts: Path, pack_spec: str, output: Path | None,
                  batch_size: int, timeout_s: float | None, progress: bool | None,
                  summary: bool, report_path: Path | None) -> None:
    """Score RFT rollouts (JSONL, one sample per line) with a pack.

    Each output row is the reward-Lambda result shape plus details. A malformed line gets
    a failed row (with its line number in the error) and the rest are scored normally.
    """
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import load_pack
    from rewardsmith.core.rollouts import count_lines, encode_row, read_rollouts, response_excerpt
    from rewardsmith.report.summary import summary_table

    try:
        scorer = Scorer(load_pack(pack_spec, host_of(ctx)))
    except RewardsmithError as exc:
        fail(str(exc))

    show_progress = sys.stderr.isatty() if progress is None else progress
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    results = []
    responses: dict[object, str] = {}
    try:
        total = count_lines(rollouts) if show_progress else None
        with click.progressbar(length=total or 0, label="scoring", file=sys.stderr,
                               hidden=not show_progress) as bar:
            for batch in read_rollouts(rollouts, batch_size):
                scored = scorer.score(batch, timeout_s=timeout_s)
                for result in scored.results:
                    out.write(encode_row(result.to_json()) + "\n")
                results.extend(scored.results)
                if report_path:
                    for raw, result in zip(batch, scored.results, strict=True):
                        excerpt = response_excerpt(raw)
                        if excerpt is not None:
                            responses[result.id] = excerpt
                bar.update(len(batch))
    finally:
        if output:
            out.close()
        scorer.close()

    if summary:
        click.echo(summary_table(scorer.pack, results), err=True)
    if report_path:
        from rewardsmith.report import write_html_report

        write_html_report(report_path, pack_ref=scorer.pack.ref.to_json(),
                          results=[r.to_json() for r in results],
                          title=f"rewardsmith score: {rollouts.name}", responses=responses)
        click.echo(f"report: {report_path}", err=True)
    failed = sum(r.status == "failed" for r in results)
    if failed:
        click.echo(f"{failed} of {len(results)} samples could not be scored "
                   "(rows marked \"status\": \"failed\")", err=True)
        sys.exit(EXIT_SAMPLES_FAILED)
