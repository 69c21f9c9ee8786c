"""Run a pack's judges against a bundled simulator for the length of one block.

``rewardsmith score --judge simulator`` and ``rewardsmith packs test --backend simulator``
use :func:`simulated_judges`: it starts a :class:`ConverseSimulator` (``bedrock`` judges) or
an :class:`OpenAISimulator` (``openai`` judges) on a free loopback port, points the pack's
judge backends at it with a region and dummy credentials (for this block only; the process
environment is restored after), and stops it at the end. Nothing leaves the machine; the
verdicts are the simulator's deterministic policy (:func:`default_verdict`), or ``policy``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.pack import Pack
from rewardsmith.simulators.converse_sim import ConverseSimulator
from rewardsmith.simulators.openai_sim import OpenAISimulator
from rewardsmith.simulators.wiring import SIMULATOR_REGION, judges_pointed_at, pack_judge_settings

SIMULATED_BACKENDS = ("bedrock", "openai")


class SimulatorSetupError(RewardsmithError):
    """The pack's judges cannot all be pointed at one bundled simulator."""


def simulated_backend(pack: Pack, error: type[RewardsmithError] = SimulatorSetupError
                      ) -> str | None:
    """The one judge backend of ``pack`` a simulator stands in for, or None (no judges).

    Raises ``error`` when the pack mixes backends or uses one without a simulator.
    """
    kinds = {s["backend"] for s in pack_judge_settings(pack)}
    if not kinds:
        return None
    if len(kinds) > 1 or not kinds <= set(SIMULATED_BACKENDS):
        raise error(f"pack {pack.name!r} uses judge backends {sorted(kinds)}; the bundled "
                    f"simulator covers one of {', '.join(SIMULATED_BACKENDS)} per pack")
    return kinds.pop()


def describe(simulator: ConverseSimulator | OpenAISimulator) -> str:
    """One line saying where the simulator listens and what the judges were given."""
    if isinstance(simulator, ConverseSimulator):
        return (f"bedrock Converse simulator at {simulator.endpoint_url} (region "
                f"{SIMULATOR_REGION}, dummy AWS credentials, for this run only)")
    return (f"OpenAI-compatible simulator at {simulator.base_url} (dummy API key, for this "
            "run only)")


@contextlib.contextmanager
def simulated_judges(pack: Pack, *, policy: Any = None,
                     error: type[RewardsmithError] = SimulatorSetupError,
                     ) -> Iterator[ConverseSimulator | OpenAISimulator | None]:
    """Start the simulator for ``pack``'s judge backend, point the judges at it, yield it
    (None when the pack has no judge), stop it. ``policy`` answers verdicts instead of
    :func:`default_verdict`. Raises ``error`` as :func:`simulated_backend`."""
    kind = simulated_backend(pack, error)
    if kind is None:
        yield None
        return
    simulator = ConverseSimulator(policy=policy) if kind == "bedrock" \
        else OpenAISimulator(policy=policy)
    api_key_env = pack_judge_settings(pack)[0].get("api_key_env") or "OPENAI_API_KEY"
    with simulator:  # started first: its port, hence its endpoint, exists only now
        endpoint = simulator.endpoint_url if isinstance(simulator, ConverseSimulator) \
            else simulator.base_url
        with judges_pointed_at(pack, kind, endpoint, api_key_env=api_key_env):
            yield simulator
