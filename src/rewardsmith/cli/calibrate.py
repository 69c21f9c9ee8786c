"""``rewardsmith calibrate``: check a pack's rewards against observed product outcomes
and write a new pack version whose weights are refit to predict them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rewardsmith.cli.main import FiniteFloat, echo_json, fail, host_of
from rewardsmith.core.errors import RewardsmithError


@click.command("calibrate")
@click.argument("pack_spec", metavar="PACK")
@click.option("--outcomes", "outcomes_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Observed outcomes, JSONL: {"id": ..., "outcome": number}.')
@click.option("--scored", "scored_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Rows written by `rewardsmith score` for these samples.")
@click.option("--rollouts", "rollouts_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Rollouts to score with PACK first (instead of --scored).")
@click.option("--outcome-field", default="outcome", show_default=True,
              help="The outcome's key in each outcomes row.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the calibrated pack version (TOML) here.")
@click.option("--version", "new_version", help="Version of the written pack "
              "(default: bump the patch and add '-calibrated').")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report here.")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True,
              type=click.IntRange(0), help="Bootstrap resamples for confidence intervals.")
@click.option("--confidence", default=0.95, show_default=True,
              type=FiniteFloat(0, 1, min_open=True, max_open=True))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--min-matched", default=10, show_default=True, type=click.IntRange(3))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@click.pass_context
def calibrate_command(ctx: click.Context, pack_spec: str, outcomes_path: Path,
                      scored_path: Path | None, rollouts_path: Path | None, outcome_field: str,
                      output: Path | None, new_version: str | None, report_path: Path | None,
                      n_resamples: int, confidence: float, seed: int, min_matched: int,
                      as_json: bool) -> None:
    """Correlate PACK's rewards with observed outcomes and refit its weights.

    Joins scored samples with outcomes on the exact id, reports the rank correlation
    (Spearman, Kendall; bootstrap CIs) of the reward and of each component with the
    outcome, fits non-negative weights that best predict it, and with -o writes a new
    pack version that extends PACK and overrides only the weights.
    """
    try:
        _run(ctx, pack_spec, outcomes_path, scored_path, rollouts_path, outcome_field, output,
             new_version, report_path, n_resamples, confidence, seed, min_matched, as_json)
    except RewardsmithError as exc:
        fail(str(exc))


def _run(ctx: click.Context, pack_spec: str, outcomes_path: Path, scored_path: Path | None,
         rollouts_path: Path | None, outcome_field: str, output: Path | None,
         new_version: str | None, report_path: Path | None, n_resamples: int,
         confidence: float, seed: int, min_matched: int, as_json: bool) -> None:
    from rewardsmith.calibration.analysis import calibrate
    from rewardsmith.calibration.data import (
        file_sha256,
        join,
        read_outcomes,
        read_scored,
        score_rollouts,
    )
    from rewardsmith.calibration.errors import CalibrationError
    from rewardsmith.calibration.rewrite import (
        bump_version,
        calibration_evidence,
        extends_reference,
        write_calibrated_pack,
    )
    from rewardsmith.core.pack import load_pack

    if (scored_path is None) == (rollouts_path is None):
        raise CalibrationError("give exactly one of --scored (rows from `rewardsmith score`) "
                               "or --rollouts (samples to score with PACK)")
    host = host_of(ctx)
    pack = load_pack(pack_spec, host)
    outcomes = read_outcomes(outcomes_path, outcome_field)
    responses: dict[Any, str] = {}
    if scored_path is not None:
        rows = read_scored(scored_path)
        sources = {"scored": scored_path}
    else:
        assert rollouts_path is not None
        rows, responses = score_rollouts(pack, rollouts_path)
        sources = {"rollouts": rollouts_path}
    sources["outcomes"] = outcomes_path
    joined = join(rows, outcomes, min_matched)
    result = calibrate(pack, joined, n_resamples=n_resamples, seed=seed,
                       confidence=confidence)

    written: dict[str, Any] = {}
    load_error: str | None = None
    if report_path is not None:
        from rewardsmith.report import write_html_report

        write_html_report(report_path, pack_ref=result.pack, results=joined.rows,
                          title=f"Calibration of {pack.name} {pack.version}",
                          calibration=result.to_json(include_points=True),
                          responses=responses)
        written["report"] = str(report_path)

    if output is not None:
        if result.fit is None:
            raise CalibrationError(f"no weights were fitted, so no pack was written to "
                                   f"{output}: {'; '.join(result.warnings)}")
        evidence = calibration_evidence(
            result,
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            outcome_field=outcome_field,
            sources={name: {"path": str(path), "sha256": file_sha256(path)}
                     for name, path in sources.items()},
            seed=seed,
        )
        write_calibrated_pack(
            output, name=pack.name,
            version=bump_version(pack.version) if new_version is None else new_version,
            extends=extends_reference(pack_spec, host, output),
            weights=result.fit.weights, evidence=evidence)
        try:  # the new version must load, or we say so now rather than at training time
            check = load_pack(output, host)
        except RewardsmithError as exc:
            load_error = f"wrote {output}, but it does not load: {exc}"
        else:
            written["pack"] = {"path": str(output), "name": check.name,
                               "version": check.version, "hash": check.hash}
    if as_json:
        echo_json({**result.to_json(), "written": written, "error": load_error})
    else:
        from rewardsmith.report.calibration import calibration_table

        click.echo(calibration_table(result))
        if "pack" in written:
            p = written["pack"]
            click.echo(f"\nwrote {p['path']}: {p['name']} {p['version']} ({p['hash']})")
        if "report" in written:
            click.echo(f"wrote {written['report']}")
    if load_error:
        raise CalibrationError(load_error)
