"""``rewardsmith plugins``: the installed plugins and what each provides."""

from __future__ import annotations

import click

from rewardsmith.cli.main import echo_json, host_of


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins and what each provides."""
    infos = [info.to_json() for info in host_of(ctx).infos.values()]
    if as_json:
        echo_json(infos)
        return
    for info in infos:
        version = f" {info['version']}" if info["version"] else ""
        click.echo(f"{info['name']}  ({info['distribution']}{version})")
        for kind in ("components", "judge_backends", "rubric_packs", "commands"):
            if info[kind]:
                click.echo(f"    {kind.replace('_', ' ')}: {', '.join(info[kind])}")
