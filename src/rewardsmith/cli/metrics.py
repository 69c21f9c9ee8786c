"""``rewardsmith metrics list|check``: which metric functions packs can name, and
whether a given ``ref`` resolves here (importable, allowed, callable with a sample).
"""

from __future__ import annotations

import inspect
import sys

import click

from rewardsmith.cli.main import EXIT_CONFIG, echo_json, fail
from rewardsmith.plugins.metrics.functions import (
    METRICS_ENTRY_POINT_GROUP,
    MetricFunctionError,
    installed_metric_functions,
    resolve_metric_function,
)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """Functions registered in the 'rewardsmith.metrics' entry-point group."""
    try:
        installed = installed_metric_functions()
    except MetricFunctionError as exc:
        fail(str(exc))
    rows = [vars(entry) for _, entry in sorted(installed.items())]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"no metric functions registered in {METRICS_ENTRY_POINT_GROUP!r}")
    for row in rows:
        click.echo(f"{row['name']:<24} {row['value']:<48} ({row['distribution']})")


@click.command("check")
@click.argument("refs", nargs=-1, required=True)
def check_command(refs: tuple[str, ...]) -> None:
    """Resolve each REF ('module:function' or a registered name) as a pack would."""
    failed = 0
    for ref in refs:
        try:
            function = resolve_metric_function(ref)
        except MetricFunctionError as exc:
            failed += 1
            click.echo(f"INVALID {ref}\n  {exc}", err=True)
            continue
        kind = "async" if inspect.iscoroutinefunction(function) else "sync"
        click.echo(f"ok {ref}: {getattr(function, '__module__', '?')}."
                   f"{getattr(function, '__qualname__', repr(function))} ({kind})")
    if failed:
        sys.exit(EXIT_CONFIG)


def metrics_group() -> click.Group:
    """A fresh ``metrics`` group."""
    return click.Group("metrics", commands=[list_command, check_command],
                       help="Metric functions for product-metric components.")
