"""``rewardsmith score --ray``: the command-line side of :mod:`rewardsmith.scale.ray`
(messages and exit codes as ``rewardsmith score`` gives them)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from rewardsmith.cli.main import EXIT_JUDGE_UNAVAILABLE, EXIT_SAMPLES_FAILED, fail
from rewardsmith.core.errors import RewardsmithError


def score_on_ray(rollouts: Path, pack_spec: str, output: Path | None, *, address: str,
                 actors: int | None, batch_size: int, timeout_s: float | None, summary: bool,
                 report: bool, allow_judge_failures: bool) -> None:
    """Score ``rollouts`` on Ray and exit as ``score`` does: 4 when a judge could not run
    (unless allowed), ``EXIT_SAMPLES_FAILED`` when samples failed; the HTML report is not
    built on Ray (a usage error)."""
    from rewardsmith.scale.ray import score_rollouts_ray

    if report:
        fail("--report is not available with --ray: score on Ray, then build the report "
             "from a sample of the rows with `rewardsmith score --report` locally")
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        result = score_rollouts_ray(rollouts, pack_spec, out, address=address or None,
                                    batch_size=batch_size, actors=actors,
                                    timeout_s=timeout_s)
    except (ImportError, RewardsmithError, ValueError) as exc:
        fail(str(exc))
    finally:
        if output:
            out.close()
    if summary:
        mean = "-" if result.reward_mean is None else f"{result.reward_mean:.4f}"
        click.echo(f"ray: {result.samples} samples on {result.actors} actors in "
                   f"{result.elapsed_s:.1f} s; reward mean {mean}; gated {result.gated}, "
                   f"failed {result.failed}", err=True)
    blocking = False
    for cid, outage in result.outages.items():
        allowed = outage.allowed or allow_judge_failures
        blocking |= not allowed
        click.echo(f"{'warning' if allowed else 'error'}: judge component {cid!r} could not "
                   f"run ({outage.kind}): {outage.cause}", err=True)
    if blocking:
        fail("rewards of the affected batches come from the other components alone. Fix the "
             "judge settings, or pass --allow-judge-failures (or set allow_failures = true "
             "in the pack's [judge] table) to accept that.", EXIT_JUDGE_UNAVAILABLE)
    if result.failed:
        click.echo(f"{result.failed} of {result.samples} samples could not be scored "
                   "(rows marked \"status\": \"failed\")", err=True)
        sys.exit(EXIT_SAMPLES_FAILED)
