"""The hooks a plugin may implement: each a verb given a callback; the host owns names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("rewardsmith")
hookimpl = pluggy.HookimplMarker("rewardsmith")


@hookspec
def register_components(register: Callable[[type[Any]], None]) -> None:
    """Register reward component classes: ``register(ComponentClass)``."""


@hookspec
def register_judge_backends(register: Callable[[type[Any]], None]) -> None:
    """Register judge backend classes: ``register(JudgeBackendClass)``."""


@hookspec
def register_rubric_packs(register: Callable[[str, Any], None]) -> None:
    """Register rubric packs: ``register(name, path_to_toml)`` (a Path or Traversable)."""


@hookspec
def register_metric_functions(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register functions packs may name as a product metric: ``register(name, function)``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``rewardsmith`` click group ``cli``."""
