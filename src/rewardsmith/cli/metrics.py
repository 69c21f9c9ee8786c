"""``rewardsmith metrics list|check``: which metric functions packs can name, and
whether a given ``ref`` resolves here (importable, allowed, callable with a sample).
"""

from __future__ import annotations

import inspect
import sys

import click

from rewardsmith.cli.main import EXIT_CONFIG, echo_json, host_of
from rewardsmith.plugins.metrics.functions import MetricFunctionError, resolve_metric_function


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Functions plugins registered through the register_metric_functions hook."""
    rows = [{"name": name, "value": _qualified(reg.value), "distribution": reg.distribution}
            for name, reg in sorted(host_of(ctx).metric_functions.items())]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no metric functions registered (hook register_metric_functions)")
    for row in rows:
        click.echo(f"{row['name']:<24} {row['value']:<48} ({row['distribution']})")


@click.command("check")
@click.argument("refs", nargs=-1, required=True)
@click.pass_context
def check_command(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Resolve each REF ('module:function' or a registered name) as a pack would."""
    registered = {name: reg.value for name, reg in host_of(ctx).metric_functions.items()}
    failed = 0
    for ref in refs:
        try:
            function = resolve_metric_function(ref, registered)
        except MetricFunctionError as exc:
            failed += 1
            click.echo(f"INVALID {ref}\n  {exc}", err=True)
            continue
        kind = "async" if inspect.iscoroutinefunction(function) else "sync"
        click.echo(f"ok {ref}: {_qualified(function)} ({kind})")
    if failed:
        sys.exit(EXIT_CONFIG)


def _qualified(function: object) -> str:
    """``module:qualname`` of a function, as a pack would name it."""
    return (f"{getattr(function, '__module__', '?')}:"
            f"{getattr(function, '__qualname__', repr(function))}")


def metrics_group() -> click.Group:
    """A fresh ``metrics`` group."""
    return click.Group("metrics", commands=[list_command, check_command],
                       help="Metric functions for product-metric components.")
