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
                   '...}], "rules": [...]}.')
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
    failures and refusals.

    Exit codes: 0 no alarm; 1 alarms fired (unless --exit-zero); 2 an unreadable step
    file or rules file.
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

        write_dashboard(html_path, result.steps, result.alarms, result.rules)
    if as_json:
        echo_json(result.to_json())
    else:
        _print_table(result)
    for step, count in sorted(result.skipped_lines.items()):
        if count:
            click.echo(f"warning: step {step}: {count} JSON line(s) were neither score rows "
                       "nor reward-Lambda lines and were skipped", err=True)
    if html_path:
        click.echo(f"dashboard: {html_path}", err=True)
    if result.alarms and not exit_zero:
        sys.exit(EXIT_CHECKS_FAILED)


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
    if not result.alarms:
        click.echo("no alarms")
    for a in result.alarms:
        key = f" [{a['key']}]" if a.get("key") else ""
        click.echo(f"ALARM step {a['step']}: {a['signal']}{key}: {a['message']}")
