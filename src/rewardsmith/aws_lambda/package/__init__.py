"""``rewardsmith lambda …``: build a reward-Lambda deployment zip and its SAM template.

Registered through rewardsmith's own entry points like any third-party plugin. The
hookimpl imports click and the builder only when the CLI asks for commands, so loading
this plugin costs a reward Lambda nothing.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    from rewardsmith.aws_lambda.package.commands import lambda_group

    cli.add_command(lambda_group)
