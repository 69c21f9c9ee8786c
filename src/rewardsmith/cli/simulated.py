"""``--judge simulator`` for ``rewardsmith score``: the bundled simulator in place of the
pack's judges for one run (:mod:`rewardsmith.simulators.session`)."""

from __future__ import annotations

import contextlib

import click

from rewardsmith.core.pack import Pack


def simulator_notice(stack: contextlib.ExitStack, pack: Pack) -> None:
    """Enter the simulator for ``pack`` on ``stack`` (closed by the caller after the run)
    and say on stderr where it listens and that the verdicts are simulated. Raises
    :class:`~rewardsmith.core.errors.RewardsmithError` when the pack's judges cannot be
    simulated (several backends, a third-party backend)."""
    from rewardsmith.simulators.session import describe, simulated_judges

    simulator = stack.enter_context(simulated_judges(pack))
    if simulator is None:
        click.echo(f"note: pack {pack.name!r} has no judge; --judge simulator changes "
                   "nothing", err=True)
    else:
        click.echo(f"judges: {describe(simulator)}; verdicts are simulated, not a model's",
                   err=True)
