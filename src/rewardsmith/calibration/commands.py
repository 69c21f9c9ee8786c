"""``rewardsmith calibrate``: check a pack's rewards against observed product outcomes
and write a new pack version whose weights are refit to predict them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from rewardsmith.core.errors import RewardsmithError, SampleError
from rewardsmith.core.hookspecs import hookimpl

EXIT_ERROR = 2


def _read_scored_rollouts(pack: Any, rollouts: Path) -> tuple[list[dict[str, Any]],
                                                               dict[Any, str]]:
    """Score rollouts with the pack; also keep each response for the report."""
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.rollouts import read_rollouts
    from rewardsmith.core.sample import parse_sample

    rows: list[dict[str, Any]] = []
    responses: dict[Any, str] = {}
    scorer = Scorer(pack)
    try:
        for batch in read_rollouts(rollouts, 256):
            for raw in batch:
                if isinstance(raw, dict):
                    try:
                        sample = parse_sample(raw, len(responses))
                        responses[sample.id] = sample.response
                    except (SampleError, TypeError):
                        pass  # the scorer reports it as a failed row
            rows.extend(r.to_json() for r in scorer.score(batch).results)
    finally:
        scorer.close()
    return rows, responses


def _ci_text(corr: Any) -> str:
    if corr.value is None:
        return f"undefined ({corr.reason})"
    if corr.ci_low is None:
        return f"{corr.value:+.3f} (no CI)" if corr.reason else f"{corr.value:+.3f}"
    return f"{corr.value:+.3f} [{corr.ci_low:+.3f}, {corr.ci_high:+.3f}]"


def format_table(result: Any) -> str:
    """The human summary: correlations with CIs, then previous vs fitted weights."""
    lines = [f"pack {result.pack['name']} {result.pack['version']} ({result.pack['hash']}): "
             f"{result.n_matched} samples joined with outcomes "
             f"({', '.join(f'{n} {s}' for s, n in sorted(result.statuses.items()))})"]
    lines.extend(f"warning: {w}" for w in result.warnings)
    confidence = next(iter(result.reward_correlation.values())).confidence
    names = ["reward", *result.component_correlations]
    width = max(10, *(len(n) + 2 for n in names))
    lines += ["", "rank correlation with the outcome:"]
    lines.append(f"{'score':<{width}}  {'n':>6}  "
                 f"{f'spearman [{confidence:.0%} CI]':<28}  kendall [{confidence:.0%} CI]")
    rows = [("reward", result.reward_correlation),
            *((f"  {cid}", by) for cid, by in result.component_correlations.items())]
    for label, by_method in rows:
        s, k = by_method["spearman"], by_method["kendall"]
        if s.value is None:
            lines.append(f"{label:<{width}}  {s.n:>6}  {_ci_text(s)}")
        else:
            lines.append(f"{label:<{width}}  {s.n:>6}  {_ci_text(s):<28}  {_ci_text(k)}")
    no_ci = [f"{label.strip()} ({by['spearman'].reason.removeprefix('no interval: ')})"
             for label, by in rows
             if by["spearman"].value is not None and by["spearman"].ci_low is None
             and by["spearman"].reason]
    if no_ci:
        lines.append("no CI: " + "; ".join(no_ci))
    fit = result.fit
    if fit is not None:
        refit = "-" if fit.spearman_refit is None else f"{fit.spearman_refit:+.3f}"
        before = "-" if fit.spearman_previous is None else f"{fit.spearman_previous:+.3f}"
        lines += ["", f"weights (non-negative least squares on {fit.n} ungated samples): "
                      f"R² {fit.r_squared:.3f}; spearman of reward with outcome {before} with "
                      f"current weights, {refit} with fitted weights (in-sample)",
                  f"{'component':<{width}}  {'current':>8}  {'fitted':>8}  "
                  f"{f'{fit.confidence:.0%} CI':>17}  {'imputed':>7}"]
        for c in fit.components:
            ci = "" if c.ci_low is None else f"[{c.ci_low:.3f}, {c.ci_high:.3f}]"
            lines.append(f"  {c.id:<{width - 2}}  {c.previous:>8.3f}  {c.fitted:>8.3f}  "
                         f"{ci:>17}  {c.imputed:>7}" + (f"  {c.note}" if c.note else ""))
        lines.extend(f"note: {n}" for n in fit.notes)
    return "\n".join(lines)


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
              type=click.FloatRange(0, 1, min_open=True, max_open=True))
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
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def _run(ctx: click.Context, pack_spec: str, outcomes_path: Path, scored_path: Path | None,
         rollouts_path: Path | None, outcome_field: str, output: Path | None,
         new_version: str | None, report_path: Path | None, n_resamples: int,
         confidence: float, seed: int, min_matched: int, as_json: bool) -> None:
    from rewardsmith.calibration.analysis import calibrate
    from rewardsmith.calibration.data import file_sha256, join, read_outcomes, read_scored
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
    host = ctx.obj["host"]
    pack = load_pack(pack_spec, host)
    outcomes = read_outcomes(outcomes_path, outcome_field)
    responses: dict[Any, str] = {}
    if scored_path is not None:
        rows = read_scored(scored_path)
        sources = {"scored": scored_path}
    else:
        assert rollouts_path is not None
        rows, responses = _read_scored_rollouts(pack, rollouts_path)
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
        click.echo(orjson.dumps({**result.to_json(), "written": written,
                                 "error": load_error}, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(format_table(result))
        if "pack" in written:
            p = written["pack"]
            click.echo(f"\nwrote {p['path']}: {p['name']} {p['version']} ({p['hash']})")
        if "report" in written:
            click.echo(f"wrote {written['report']}")
    if load_error:
        raise CalibrationError(load_error)


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(calibrate_command)
