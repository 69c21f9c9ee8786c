"""``rewardsmith monitor``: watch the scored output of successive training steps for
reward hacking (logic in :mod:`rewardsmith.monitor`; docs/monitor.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rewardsmith.cli.main import EXIT_CHECKS_FAILED, echo_json, fail


@click.command("monitor")
@click.argument("step_files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              help="A TOML rules file ([[rule]] tables); replaces the default rules unless "
                   "it sets include_defaults = true.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object: {"steps": [...], "alarms": [{"step", "signal", '
                   '...}], "missing": [{"step", "signal": "missing", ...}], "not_evaluated": '
                   '[...], "rules": [...], "skipped": [...]}.')
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML dashboard with plots over steps.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when alarms fire (default: exit 1).")
def monitor_command(step_files: tuple[Path, ...], rules_path: Path | None, as_json: bool,
                    html_path: Path | None, exit_zero: bool) -> None:
    """Report per-step reward statistics of STEP_FILE... (one file per training step, in
    step order: `rewardsmith score` JSONL rows, or the reward Lambda's log lines) and raise
    alarms for reward-hacking signatures: length padding, judge-check divergence, a
    saturating component, group spread collapse, rising swap inconsistency, judge parse
    failures and refusals. A step where a watched value is undefined (a component absent)
    is reported as MISSING and carries the alarm state across; a rule no step can evaluate
    is a warning.

    Exit codes: 0 no alarm; 1 alarms fired (unless --exit-zero); 2 an unreadable step
    file or rules file (an unknown metric or key, a bad threshold).
    """
    from rewardsmith.monitor import DEFAULT_RULES, monitor
    from rewardsmith.monitor.rules import RulesError, load_rules
    from rewardsmith.monitor.steps import MonitorInputError

    try:
        rules = load_rules(rules_path) if rules_path else DEFAULT_RULES
        result = monitor(step_files, rules)
    except (RulesError, MonitorInputError) as exc:
        fail(str(exc))
    if html_path:
        from rewardsmith.monitor.dashboard import write_dashboard

        write_dashboard(html_path, result.steps, result.alarms, result.rules,
                        missing=result.missing, not_evaluated=result.not_evaluated)
    if as_json:
        echo_json(result.to_json())
    else:
        _print_table(result)
    # One line per reason: the default rules a judge-less pack cannot run share theirs.
    by_reason: dict[str, list[str]] = {}
    for entry in result.not_evaluated:
        key = f" [{entry['key']}]" if entry.get("key") else ""
        by_reason.setdefault(entry["reason"], []).append(
            f"{entry['rule']!r}{key} ({entry['metric']})")
    for reason, names in by_reason.items():
        what = f"rule {names[0]} was" if len(names) == 1 else f"rules {', '.join(names)} were"
        click.echo(f"warning: {what} not evaluated: {reason}", err=True)
    for step, lines in sorted(result.skipped.items()):
        path = result.steps[step - 1].path
        for line in lines[:_LINES_SHOWN]:
            click.echo(f"warning: step {step}: {path} line {line.line} skipped: {line.reason}",
                       err=True)
        if len(lines) > _LINES_SHOWN:
            click.echo(f"warning: step {step}: {path}: {len(lines) - _LINES_SHOWN} more "
                       f"line(s) skipped ({len(lines)} in all; --json lists them)", err=True)
    if html_path:
        click.echo(f"dashboard: {html_path}", err=True)
    if result.alarms and not exit_zero:
        sys.exit(EXIT_CHECKS_FAILED)


_LINES_SHOWN = 5  # skipped lines named per step on stderr


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print_table(result: object) -> None:
    from rewardsmith.monitor import MonitorResult

    assert isinstance(result, MonitorResult)
    click.echo(f"{'step':>4} {'samples':>7} {'reward':>7} {'len~r':>6} {'judge~chk':>9} "
               f"{'zero-var':>8} {'swap':>5} {'parse':>6} {'refuse':>6} {'cost $':>9}")
    for s in result.steps:
        click.echo(f"{s.step:>4} {s.samples:>7} {_num(s.reward.mean):>7} "
                   f"{_num(s.length_reward_corr, 2):>6} {_num(s.judge_check_corr, 2):>9} "
                   f"{_num(s.zero_variance_group_share, 2):>8} "
                   f"{_num(s.swap_inconsistency, 2):>5} {_num(s.parse_failure_rate):>6} "
                   f"{_num(s.refusal_rate):>6} {s.judge_cost_usd:>9.4f}")
    for m in result.missing:
        click.echo(f"MISSING step {m['step']}: {m['message']}")
    if not result.alarms:
        click.echo("no alarms")
    for a in result.alarms:
        key = f" [{a['key']}]" if a.get("key") else ""
        click.echo(f"ALARM step {a['step']}: {a['signal']}{key}: {a['message']}")
