"""Authoring commands: ``rewardsmith packs new`` scaffolds a pip-installable pack package.

Registered through the same ``register_commands`` hook a third-party plugin would use.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import click

from rewardsmith.core.hookspecs import hookimpl


@click.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path),
              default=Path(), show_default=".",
              help="Create the package directory NAME inside this directory.")
@click.option("--with-check", is_flag=True,
              help="Also scaffold a custom component (checks.py) and its tests.")
@click.option("--description", default=None, help="One line for the pack and the package.")
def new_pack(name: str, parent: Path, with_check: bool, description: str | None) -> None:
    """Scaffold a pip-installable rubric-pack package NAME (e.g. acme-support).

    NAME is the pack name and the distribution name; the module is NAME with underscores.
    The package has a starter pack of built-in checks, golden-case tests using
    rewardsmith's pytest fixtures, and a README. An existing directory is never touched.
    """
    from rewardsmith.scaffold.package import ScaffoldError, package_names, scaffold_package

    try:
        target = scaffold_package(name, parent, description=description, with_check=with_check)
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    module = package_names(name).module
    click.echo(f"created {target}")
    click.echo(f"  pack     src/{module}/packs/{name}.toml")
    if with_check:
        click.echo(f"  check    src/{module}/checks.py")
    click.echo("  tests    tests/test_pack.py, tests/cases.jsonl")
    click.echo("next:")
    click.echo(f"  cd {target} && pip install -e '.[test]' && pytest")
    click.echo(f"  rewardsmith packs validate {name}")


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``new`` to the ``packs`` group (``rewardsmith packs new NAME``)."""
    packs = cli.commands.get("packs")
    if not isinstance(packs, click.Group):  # no built-in packs group: nothing to extend
        return
    # Extend a copy: the built-in group object is shared by every CLI built in this
    # process, and one host's plugins must not leak commands into another's CLI.
    extended = copy.copy(packs)
    extended.commands = {**packs.commands, new_pack.name: new_pack}
    cli.commands["packs"] = extended
