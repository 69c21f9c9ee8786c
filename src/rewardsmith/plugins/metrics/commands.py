"""``rewardsmith metrics list|check``: which metric functions packs can name, and
whether a given ``ref`` resolves here (importable, allowed, callable with a sample).
"""

from __future__ import annotations

import inspect
import sys

import click
import orjson

from rewardsmith.core.plugins import PluginHost
from rewardsmith.plugins.metrics.functions import MetricFunctionError, resolve_metric_function

EXIT_INVALID = 2


@click.group("metrics")
def metrics_group() -> None:
    """Metric functions for product-metric components."""


def _host() -> PluginHost:
    host: PluginHost = click.get_current_context().obj["host"]
    return host


@metrics_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """Functions plugins registered through the register_metric_functions hook."""
    rows = [{"name": name, "value": _qualified(reg.value), "distribution": reg.distribution}
            for name, reg in sorted(_host().metric_functions.items())]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no metric functions registered (hook register_metric_functions)")
    for row in rows:
        click.echo(f"{row['name']:<24} {row['value']:<48} ({row['distribution']})")


@metrics_group.command("check")
@click.argument("refs", nargs=-1, required=True)
def check_command(refs: tuple[str, ...]) -> None:
    """Resolve each REF ('module:function' or a registered name) as a pack would."""
    failed = 0
    for ref in refs:
        try:
            registered = {name: reg.value for name, reg in _host().metric_functions.items()}
            function = resolve_metric_function(ref, registered)
        except MetricFunctionError as exc:
            failed += 1
            click.echo(f"INVALID {ref}\n  {exc}", err=True)
            continue
        kind = "async" if inspect.iscoroutinefunction(function) else "sync"
        click.echo(f"ok {ref}: {_qualified(function)} ({kind})")
    if failed:
        sys.exit(EXIT_INVALID)



def _qualified(function: object) -> str:
    """``module:qualname`` of a function, as a pack would name it."""
    return (f"{getattr(function, '__module__', '?')}:"
            f"{getattr(function, '__qualname__', repr(function))}")
