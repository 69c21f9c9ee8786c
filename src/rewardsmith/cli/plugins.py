"""``rewardsmith plugins``: the installed plugins and what each provides."""

from __future__ import annotations

import click

from rewardsmith.cli.main import echo_json, host_of

# What ``rewardsmith plugins`` lists for each plugin, in this order: the host's registries.
KINDS = ("components", "judge_backends", "rubric_packs", "metric_functions", "commands")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins and what each provides."""
    host = host_of(ctx)
    rows = {name: {**info._asdict(), **{kind: [] for kind in KINDS}}
            for name, info in host.infos.items()}
    for kind in KINDS:  # what each plugin provides, from the host's registries
        for key, registered in getattr(host, kind).items():
            rows[registered.plugin][kind].append(key)
    infos = list(rows.values())
    if as_json:
        echo_json(infos)
        return
    for info in infos:
        version = f" {info['version']}" if info["version"] else ""
        click.echo(f"{info['name']}  ({info['distribution']}{version})")
        for kind in KINDS:
            if info[kind]:
                click.echo(f"    {kind.replace('_', ' ')}: {', '.join(info[kind])}")
