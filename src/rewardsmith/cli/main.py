"""The ``rewardsmith`` command group, its exit codes, and the console entry point.

Every first-party command is built here, from the modules of this package; third-party
plugins add theirs through the ``register_commands(cli)`` hook (:func:`add_plugin_commands`).
Each call of :func:`build_cli` builds fresh groups, so one host's plugins never leak commands
into another host's CLI in the same process.
"""

from __future__ import annotations

import math
import sys
from typing import Any, NoReturn

import click

from rewardsmith import __version__
from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.plugins import PluginHost, Registered, blame, make_plugin_host
from rewardsmith.core.workers import install_interrupt_marker

# Exit codes, for every command: 0 success; 1 the run finished and found failures it was
# asked to look for (``packs test``: a case failed); 2 usage, configuration, pack, plugin,
# suite, build or input error; 3 finished, but some samples could not be scored (their rows
# are in the output, marked failed); 4 a judge could not run at all (misconfigured,
# no credentials or region, unreachable, circuit open for the whole batch), so the rewards
# would have come from the other components alone (``score``: stopped after that batch);
# 128 + the signal (130 SIGINT, 143 SIGTERM): ``score`` was stopped, its finished rows
# written and the rest not scored (``cli/score_stream.py``).
EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_CONFIG = 2
EXIT_SAMPLES_FAILED = 3
EXIT_JUDGE_UNAVAILABLE = 4


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def host_of(ctx: click.Context) -> PluginHost:
    """The plugin host the CLI was built with (``ctx.obj["host"]``)."""
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and isinstance(obj.get("host"), PluginHost):
        return obj["host"]
    return make_plugin_host()


class FiniteFloat(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` and ``inf``: a NaN passes every range
    comparison (``--timeout nan`` was accepted and abandoned every sample). Same arguments
    as ``click.FloatRange``; the bounds are optional."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def echo_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    from rewardsmith.core.wire import encode_json

    click.echo(encode_json(value, indent=True))


def build_cli(host: PluginHost) -> click.Group:
    """A fresh ``rewardsmith`` group: every first-party command, then the plugins' commands.

    Raises what a plugin's ``register_commands`` raises, as :class:`PluginError`.
    """
    # Imported here, not at module level: each area module imports the helpers above.
    from rewardsmith.cli import (
        calibrate,
        judge_model,
        lambda_,
        metrics,
        monitor,
        packs,
        plugins,
        score,
        serve,
        simulate,
    )

    @click.group(name="rewardsmith")
    @click.version_option(__version__, prog_name="rewardsmith")
    @click.option("--log-level", default="warning", show_default=True,
                  type=click.Choice(["debug", "info", "warning", "error"]))
    @click.option("--log-json", is_flag=True, help="Structured JSON logs on stderr.")
    @click.pass_context
    def group(ctx: click.Context, log_level: str, log_json: bool) -> None:
        """Compose and run reward functions for RL fine-tuning."""
        from rewardsmith.core.logs import configure_logging

        ctx.ensure_object(dict).setdefault("host", host)
        configure_logging(level=log_level, json=log_json)

    for command in (
        plugins.plugins_command,
        packs.packs_group(),
        score.score_command,
        lambda_.lambda_group(),
        calibrate.calibrate_command,
        simulate.simulate_command,
        simulate.loadtest_command,
        metrics.metrics_group(),
        serve.serve_command,
        monitor.monitor_command,
        judge_model.judge_model_group(),
    ):
        group.add_command(command)
    add_plugin_commands(host, group)
    return group


def add_plugin_commands(host: PluginHost, cli: click.Group) -> None:
    """Let each plugin add subcommands to ``cli`` (its ``register_commands`` hook), recording
    in ``host.commands`` which plugin added each ``"group sub"`` command path.

    Raises :class:`PluginError` naming the plugin (and distribution) whose hook raised.
    """
    for impl in host.pm.hook.register_commands.get_hookimpls():
        info, before = host.infos[impl.plugin_name], _command_paths(cli)
        with blame(info, "in register_commands"):
            impl.function(cli=cli)
        for path in sorted(_command_paths(cli) - before):
            host.commands[path] = Registered(path, info.name, info.distribution)


def _command_paths(group: click.Command, prefix: str = "") -> set[str]:
    """Every command path under ``group``: ``{"packs", "packs list", ...}``."""
    subs = group.commands if isinstance(group, click.Group) else {}
    return {path for name, sub in subs.items()
            for path in (prefix + name, *_command_paths(sub, f"{prefix}{name} "))}


def main(argv: list[str] | None = None) -> None:
    """Console entry point: load plugins, build the CLI, run.

    A real Ctrl-C stops the CLI (click: ``Aborted!``, exit 1; ``score`` while scoring
    stops keeping its finished rows, exit 130); plugin code raising
    ``KeyboardInterrupt`` is that plugin's error (the SIGINT marker tells them apart).
    """
    install_interrupt_marker()
    try:
        host = make_plugin_host()
        group = build_cli(host)
    except (PluginError, PackError) as exc:
        fail(str(exc))
    group.main(args=argv, prog_name="rewardsmith", obj={"host": host})
